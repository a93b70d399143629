/**
 * create's "launch" and "serve init" steps: berth-init started (native.launch, clone3), then
 * taken through the sync protocol (container/sync.ts draws it) until it is ready.
 */
import { writeFileSync } from "node:fs";
import { memoryPressure, memoryUsageText, type CgroupDriver, type CgroupSet, type MemoryPressure } from "../cgroups";
import { BerthError } from "../errors";
import { encodePlan, SYNC, type LaunchPlan } from "../plan";
import type { ContainerRecord } from "../state";
import { hookState, planHooks, runHooks } from "../hooks";
import { cgroupErrorsAsync } from "./cgroup-driver";
import { takeTerminal, type ReceivedTerminal } from "./console";
import { summaryOf, type CreateContext } from "./create-context";
import { hookError, runPoststop } from "./hooks";
import { mountsUnder, readMountinfo, realRoot, unmountContainerMounts } from "./host-mounts";
import { mapText, type ChildInputs } from "./inputs";
import { moveNetDevices } from "./net-devices";
import type { PlacedCgroups } from "./place-cgroups";
import { exitWithin, howItEnded, procStat } from "./proc";
import type { PreparedSeccomp } from "./seccomp";
import { deliverSeccompListener } from "./seccomp";
import { serveInit } from "./sync";
import { faultInitOps, faultPoint } from "../fault";

export interface LaunchedInit {
  pid: number;
  pidfd: number;
  syncFd: number;
  /** Close the sync socket (once berth-init is ready, or when create is undone). */
  closeSync: () => void;
  /** With a memory limit: its cgroups' OOM counters from before the launch (notReadyError). */
  memory?: { set: CgroupSet; before: MemoryPressure };
}

/**
 * No mount namespace of its own: the container's mounts land in the host's table, under the
 * rootfs; the undo (and later `delete`) unmounts those that were not there before.
 */
export function recordHostMounts(ctx: CreateContext): ContainerRecord["hostMounts"] {
  const { rt, spec, rootfs, undo } = ctx;
  if ((spec.linux?.namespaces ?? []).some((n) => n.type === "mount")) return undefined;
  const root = realRoot(rootfs);
  const before = mountsUnder(root, readMountinfo()).map((m) => m.id);
  undo.push(`unmount the container's mounts under ${root}`, () => {
    if (!rt.native.umount) return;
    const failed = unmountContainerMounts(rt.native.umount, root, before);
    if (failed.length) throw new Error(failed.map((f) => `${f.mountPoint}: ${f.code}`).join(", "));
  });
  return { root, before };
}

export function launchInit(ctx: CreateContext, plan: LaunchPlan, inputs: ChildInputs, placed: PlacedCgroups): LaunchedInit {
  const { rt, id, spec, bundle, undo, creating, parentFds } = ctx;
  const { native, store } = rt;
  // The ops after "ready" fail where only `start` can see it (for the fault steps).
  const ready = plan.ops.findIndex((o) => o.op === "ready");
  const faultOp = faultInitOps(plan.ops, (i) => (ready >= 0 && i > ready ? "start" : "create"));
  const cgroupFd = placed.intoUnified ? placed.cgroupFd : undefined;
  const before = placed.memorySet ? memoryPressure(placed.memorySet) : undefined;
  const memory = placed.memorySet && before ? { set: placed.memorySet, before } : undefined;
  const launched = native.launch({
    initPath: native.berthInitPath(),
    plan: encodePlan(plan.ops),
    fds: inputs.fds,
    cloneFlags: plan.cloneFlags,
    cgroupFd,
    pidnsFd: inputs.pidnsFd,
    usernsFd: inputs.slots.userns,
    faultOp,
  });
  undo.push(`kill berth-init (pid ${launched.pid})`, () => {
    try {
      try {
        native.pidfdSendSignal(launched.pidfd, 9);
      } catch (err) {
        // ESRCH: it exited on its own (a failing op); any other error and waiting would hang.
        if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
      }
      // It is our child: reap it, so no zombie stays and its cgroups can be removed.
      native.waitpid(launched.pid, false);
    } finally {
      native.closeFd(launched.pidfd);
    }
  });
  let syncOpen = true;
  const closeSync = () => {
    if (!syncOpen) return;
    syncOpen = false;
    native.closeFd(launched.syncFd);
  };
  undo.finally(closeSync);
  parentFds.closeAll();
  // The pid, at once: from here a killed create leaves a process that delete must find.
  creating.pid = launched.pid;
  creating.pidStartTime = procStat(launched.pid)?.startTime ?? "";
  store.writeSummary(summaryOf(creating));
  faultPoint("create", id, "launch berth-init");
  // runtime.md "Lifecycle": a failure from here on destroys the container, and then the
  // poststop hooks run (warnings only).
  if ((spec.hooks?.poststop?.length ?? 0) > 0)
    undo.after.push(() => runPoststop(rt, "create", { spec, id, bundle: bundle.dir, pid: launched.pid }));
  return { ...launched, closeSync, memory };
}

/**
 * berth-init ended without "ready". The sync socket's end comes as its files close, a moment
 * before it is the zombie whose /proc/<pid>/stat tells how it ended: wait for that (its
 * pidfd, at most a second) so that the message can say.
 */
export async function notReady(native: CreateContext["rt"]["native"], launched: { pid: number; pidfd: number }): Promise<string> {
  await exitWithin(native, launched.pidfd, 1000);
  const how = howItEnded(launched.pid);
  return `berth-init exited before it was ready${how ? ` (${how})` : ""}`;
}

/**
 * berth-init died before "ready". When a memory limit is set and the cgroup's OOM kills (or
 * limit hits) grew since the launch, the limit is what killed it: say so at the field, with the
 * usage, as runc does ("unable to set memory limit to 65536 (current usage: ..., peak usage:
 * ...)"). Otherwise, how it ended.
 */
export async function notReadyError(ctx: CreateContext, launched: LaunchedInit): Promise<BerthError> {
  const { rt, id, spec } = ctx;
  const reason = await notReady(rt.native, launched);
  const limit = spec.linux?.resources?.memory?.limit;
  if (launched.memory && limit !== undefined && limit > 0) {
    const after = memoryPressure(launched.memory.set);
    const { before } = launched.memory;
    if (after && (after.oomKills > before.oomKills || after.limitHits > before.limitHits)) {
      const usage = memoryUsageText(after);
      return new BerthError({
        op: "create",
        id,
        field: "linux.resources.memory.limit",
        value: limit,
        reason: `unable to start the container within this memory limit: berth-init was killed by the OOM killer before it was ready${usage ? ` (${usage})` : ""}`,
      });
    }
  }
  return new BerthError({ op: "create", id, reason });
}

/** Write /proc/<pid>/{uid,gid}_map; a refusal is located at the config field it came from. */
function writeIdMap(id: string, pid: number, kind: "uid" | "gid", maps: { containerID: number; hostID: number; size: number }[]): void {
  try {
    writeFileSync(`/proc/${pid}/${kind}_map`, mapText(maps));
  } catch (err) {
    throw new BerthError({
      op: "create",
      id,
      field: `linux.${kind}Mappings`,
      reason: `write /proc/${pid}/${kind}_map`,
      errno: (err as NodeJS.ErrnoException).code ?? "EIO",
      cause: err,
    });
  }
}

export interface ServedInit {
  /** The cgroup directories berth owns (the systemd driver takes some over). */
  cgroupDirs: string[];
  terminal?: ReceivedTerminal;
}

/** What the parent must do before berth-init's ops run: place it, hand it to the driver, map its ids. */
async function releaseInit(
  ctx: CreateContext,
  cgroups: CgroupDriver,
  plan: LaunchPlan,
  placed: PlacedCgroups,
  cgroupPath: string,
  launched: LaunchedInit,
): Promise<string[]> {
  const { rt, id, undo, creating } = ctx;
  const { native, store } = rt;
  let cgroupDirs = placed.placement.created;
  // The plan's first ops move berth-init into the rest itself, unless it cannot (plan.cgroupJoin).
  if (plan.cgroupJoin === "parent") {
    cgroups.joinCgroups(placed.placement, launched.pid, !placed.intoUnified);
    faultPoint("create", id, "join cgroups");
  }
  // The driver takes the init over (systemd: the unit adopts it and its directories).
  const stopInit = async () => {
    try {
      native.pidfdSendSignal(launched.pidfd, 9);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
    await native.pidfdPollExit(launched.pidfd);
  };
  const record = (dirs: string[]) => store.writeSummary(summaryOf({ ...creating, cgroupDirs: dirs }));
  const warn = (m: string) => rt.warn(`create ${id}: ${m}`);
  const adopted = await cgroupErrorsAsync("create", id, () =>
    placed.lease.adopt({ pid: launched.pid, path: cgroupPath, placement: placed.placement, undo, stopInit, warn, record }),
  );
  if (adopted) cgroupDirs = adopted;
  if (plan.userns) {
    writeIdMap(id, launched.pid, "uid", plan.userns.uidMappings);
    writeIdMap(id, launched.pid, "gid", plan.userns.gidMappings);
    faultPoint("create", id, "write the id maps");
    native.syncSend(launched.syncFd, SYNC.ack);
  }
  // The plan's first op waits for this (plan.waitsForParent): the unit is up, the cgroups joined.
  if (plan.waitsForParent) native.syncSend(launched.syncFd, SYNC.ack);
  return cgroupDirs;
}

export async function serveCreate(
  ctx: CreateContext,
  cgroups: CgroupDriver,
  plan: LaunchPlan,
  placed: PlacedCgroups,
  cgroupPath: string,
  launched: LaunchedInit,
  consoleSocket: string | undefined,
  seccomp: PreparedSeccomp,
): Promise<ServedInit> {
  const { rt, opts, id, spec, bundle, undo } = ctx;
  const { native } = rt;
  let terminal: ReceivedTerminal | undefined;
  undo.push("close the pty master", () => {
    if (terminal) native.closeFd(terminal.fd);
    terminal = undefined;
  });
  try {
    const cgroupDirs = await releaseInit(ctx, cgroups, plan, placed, cgroupPath, launched);
    const end = serveInit(rt, "create", id, plan.ops, launched.syncFd, {
      netDevices: () => moveNetDevices(native, id, spec, launched.pid, undo),
      hooks: () => {
        // runtime.md steps 3-4: prestart (deprecated, still run), then createRuntime, on the
        // host; the first failure fails create (the undo destroys the container).
        const state = hookState("createRuntime", { spec, id, bundle: bundle.dir, pid: launched.pid });
        for (const kind of ["prestart", "createRuntime"] as const) {
          const failure = runHooks(planHooks(kind, spec.hooks, state), "stop");
          if (failure) throw hookError("create", id, failure);
        }
        return launched.pid;
      },
      seccompListener: (fd) => deliverSeccompListener(rt, id, spec, bundle.dir, launched.pid, seccomp.listener, fd),
      terminal: (msg) => {
        if (terminal) native.closeFd(terminal.fd);
        terminal = takeTerminal(rt, "create", id, msg, { consoleSocket, keep: opts.foreground === true || opts.keepTerminal === true });
      },
    });
    if (end === "eof") throw await notReadyError(ctx, launched);
    faultPoint("create", id, "berth-init ready");
    return { cgroupDirs, terminal };
  } finally {
    launched.closeSync();
  }
}
