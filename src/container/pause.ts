/**
 * pause / resume: freeze and thaw the container's cgroup. No signal is sent: the processes
 * stop where they are and go on from there (runc's semantics). A created container may be
 * paused too, as with runc; `state` then says paused.
 */
import { setFrozen } from "../cgroups";
import { BerthError } from "../errors";
import { cgroupSetOf } from "./cgroup-of";
import type { Runtime } from "./runtime";
import { liveStatus } from "./status";

export async function pause(rt: Runtime, id: string): Promise<void> {
  await rt.store.withLockAsync("pause", id, async () => {
    const record = rt.store.readSummary("pause", id);
    const status = liveStatus(rt.store, record);
    if (status !== "running" && status !== "created")
      throw new BerthError({ code: "container-not-running", op: "pause", id, reason: "container not running" });
    await freeze("pause", id, () => setFrozen(cgroupSetOf(record), true));
    rt.store.writeStatus(record, "paused");
  });
}

export async function resume(rt: Runtime, id: string): Promise<void> {
  await rt.store.withLockAsync("resume", id, async () => {
    const record = rt.store.readSummary("resume", id);
    if (liveStatus(rt.store, record) !== "paused")
      throw new BerthError({ code: "container-state", op: "resume", id, reason: "container not paused" });
    await freeze("resume", id, () => setFrozen(cgroupSetOf(record), false));
    rt.store.writeStatus(record, "running");
  });
}

async function freeze(op: string, id: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BerthError({ op, id, field: e.path, reason: e.code ? (e.syscall ?? "write") : e.message, errno: e.code });
  }
}
