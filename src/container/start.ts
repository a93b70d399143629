/**
 * start: let berth-init exec the user's program, by writing one byte to the exec fifo it is
 * blocked reading (runtime.md "start"). O_NONBLOCK: with no reader left (berth-init died) the
 * open fails with ENXIO at once instead of blocking forever.
 *
 * With startContainer hooks, berth-init runs them after that byte and before the exec, and
 * `start` waits for their verdict on the start-result fifo: EOF when they passed, one
 * SyncRecord when one failed (then berth-init exits: the container is stopped and its
 * program never runs, as with runc). Then the poststart hooks run here, on the host; a failure
 * stops the container and is start's error (runtime.md 1.3.0 "Lifecycle" step 9), or, for a
 * config written for an earlier version, a warning (see poststartFailureStops).
 */
import { closeSync, constants, existsSync, openSync, unlinkSync, writeSync } from "node:fs";
import type { Socket as NetSocket } from "node:net";
import { BerthError } from "../errors";
import { SYNC } from "../plan";
import type { ContainerRecord } from "../state";
import { hookState, planHooks, runHooks } from "../hooks";
import { killAndWait } from "./delete";
import { hookError, runWarningHooks, startResultPath } from "./hooks";
import type { Runtime } from "./runtime";
import { liveStatus } from "./status";
import { faultPoint } from "../fault";

export async function start(rt: Runtime, id: string): Promise<void> {
  await rt.store.withLockAsync("start", id, async () => {
    // Everything up to the exec fifo write is synchronous: a caller that does not await still
    // has the container started when this returns.
    const summary = rt.store.readSummary("start", id);
    const record = rt.store.withConfig("start", summary);
    const status = liveStatus(rt.store, record);
    if (status === "stopped")
      throw new BerthError({ code: "container-state", op: "start", id, reason: "cannot start a container that has stopped" });
    if (status === "creating")
      throw new BerthError({
        code: "container-state",
        op: "start",
        id,
        reason: `cannot start a container whose create has not finished (if that create was killed, \`berth delete --force ${id}\` removes what it made)`,
      });
    if (status !== "created")
      throw new BerthError({ code: "container-state", op: "start", id, reason: `cannot start an already ${status} container` });
    faultPoint("start", id, "read state");
    const resultPath = startResultPath(rt.store.dir(id));
    // Opened before the exec fifo is written, so the verdict cannot be missed. O_NONBLOCK
    // opens at once (berth-init holds the only writer); the socket wrapper then waits in the
    // event loop, not in a blocking read.
    const resultFd = existsSync(resultPath) ? openSync(resultPath, constants.O_RDONLY | constants.O_NONBLOCK) : undefined;
    try {
      const fifo = rt.store.fifoPath(id);
      let fd: number;
      try {
        fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "EIO";
        if (code === "ENXIO")
          throw new BerthError({
            code: "container-not-running",
            op: "start",
            id,
            reason: "container not running: its init process is gone",
          });
        throw new BerthError({ op: "start", id, field: fifo, reason: "open", errno: code });
      }
      try {
        writeSync(fd, Buffer.from([0]));
      } finally {
        closeSync(fd);
      }
      // Once the fifo is gone the container reads as running; berth-init already holds its fd.
      unlinkSync(fifo);
      faultPoint("start", id, "write the exec fifo");
    } catch (err) {
      if (resultFd !== undefined) closeSync(resultFd);
      throw err;
    }
    if (resultFd !== undefined) {
      const verdict = await readVerdict(resultFd);
      unlinkSync(resultPath);
      if (verdict) throw startHookError(record, verdict);
      faultPoint("start", id, "run the startContainer hooks");
    }
    // The live status (status.ts) already reads "running" once the fifo is gone; the file says
    // so too, for anyone who reads state.json itself (a person debugging, a tool). Atomic, not
    // fsynced (store.ts writeStatus).
    rt.store.writeStatus(summary, "running");
    faultPoint("start", id, "record running");
    if (record.config.hooks?.poststart?.length) {
      const input = { spec: record.config, id, bundle: record.bundle, pid: record.pid };
      if (!poststartFailureStops(record.config.ociVersion)) {
        runWarningHooks(rt, "start", "poststart", input);
        return;
      }
      const failure = runHooks(planHooks("poststart", record.config.hooks, hookState("poststart", input)), "stop");
      if (failure) {
        // runtime.md 1.3.0 "Lifecycle" step 9: an error, and the container is stopped; `delete`
        // then destroys it (step 12), as after a failing startContainer hook.
        await killAndWait(rt, record);
        throw hookError("start", id, failure);
      }
      faultPoint("start", id, "run the poststart hooks");
    }
  });
}

/**
 * A failing poststart hook: runtime-spec 1.3.0 made it an error that stops the container;
 * until 1.2.x it was a warning and the lifecycle went on. berth applies the rule of the
 * version the config declares it was written for (runtime-tools' suite, for one, writes 1.1.0
 * configs and checks the old rule).
 */
export function poststartFailureStops(ociVersion: string | undefined): boolean {
  const m = /^(\d+)\.(\d+)/.exec(ociVersion ?? "");
  if (!m) return true;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 1 || (major === 1 && minor >= 3);
}

interface Verdict {
  type: number;
  opIndex: number;
  errno: number;
  detail: string;
}

/** Everything berth-init writes on the start-result fifo until EOF: nothing, or one record. */
function readVerdict(fd: number): Promise<Verdict | undefined> {
  return new Promise((resolve, reject) => {
    // node:net is required here, not at load: `create` never reads a verdict (start-up cost).
    const { Socket } = require("node:net") as { Socket: typeof NetSocket };
    const sock = new Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    sock.on("data", (b: Buffer) => chunks.push(b));
    sock.on("error", (err) => {
      sock.destroy();
      reject(err);
    });
    sock.on("end", () => {
      sock.destroy();
      const all = Buffer.concat(chunks);
      if (all.length < SYNC.size)
        return resolve(
          all.length === 0 ? undefined : { type: SYNC.error, opIndex: -1, errno: 0, detail: "berth-init sent a short record" },
        );
      const end = all.indexOf(0, 12);
      resolve({
        type: all.readUInt32LE(0),
        opIndex: all.readInt32LE(4),
        errno: all.readInt32LE(8),
        detail: all.toString("utf8", 12, end < 0 || end > SYNC.size ? SYNC.size : end),
      });
    });
  });
}

function startHookError(record: ContainerRecord, v: Verdict): BerthError {
  const at = (record.startHookOps ?? []).indexOf(v.opIndex);
  const hook = at >= 0 ? record.config.hooks?.startContainer?.[at] : undefined;
  if (hook) return new BerthError({ op: "start", id: record.id, field: `hooks.startContainer[${at}]`, value: hook.path, reason: v.detail });
  return new BerthError({ op: "start", id: record.id, reason: v.detail || "berth-init failed", errno: v.errno || undefined });
}
