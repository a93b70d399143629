/**
 * kill: signal the container's init through a pidfd. The pidfd is opened first and the
 * process's start time checked after, so the signal cannot reach a process that reused the pid.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { isFrozen, setFrozen } from "../cgroups";
import { BerthError } from "../errors";
import { cgroupSetOf, leafCgroupDir } from "./cgroup-of";
import type { ContainerSummary } from "../state";
import { isAlive, nsIdentity } from "./proc";
import type { Runtime } from "./runtime";
import { cgroupDriverOf } from "./cgroup-driver";
import { liveStatus } from "./status";

/** Open a pidfd for the recorded init, or undefined when it has exited. */
export function openInit(rt: Runtime, record: ContainerSummary): number | undefined {
  let pidfd: number;
  try {
    pidfd = rt.native.pidfdOpen(record.pid);
  } catch {
    return undefined;
  }
  if (!isAlive(record.pid, record.pidStartTime)) {
    rt.native.closeFd(pidfd);
    return undefined;
  }
  return pidfd;
}

/** The pid namespace of a process, or undefined once it has gone. */
const pidnsOf = (pid: number) => nsIdentity(`/proc/${pid}/ns/pid`);

/**
 * The container's processes in its cgroup (for --all), init first, and whether the cgroup holds
 * others. A cgroupsPath may be shared with another container (runc allows it): with a pid
 * namespace of its own, the container's processes are those in its init's; without one, all.
 */
function containerPids(rt: Runtime, record: ContainerSummary, ns: string | undefined): { pids: number[]; others: boolean } {
  const dir = leafCgroupDir(record);
  const all = (dir ? cgroupDriverOf(rt, record).pids(dir) : []).filter((p) => p !== record.pid);
  if (ns === undefined || ns === pidnsOf(process.pid)) return { pids: [record.pid, ...all], others: false };
  const ours = all.filter((p) => pidnsOf(p) === ns);
  return { pids: [record.pid, ...ours], others: ours.length < all.length };
}

export async function kill(rt: Runtime, id: string, signal: number, all = false): Promise<void> {
  await rt.store.withLockAsync("kill", id, async () => {
    const record = rt.store.readSummary("kill", id);
    if (liveStatus(rt.store, record) === "stopped")
      throw new BerthError({ op: "kill", id, code: "container-not-running", reason: "container not running" });
    await signalContainer(rt, record, signal, all);
  });
}

export async function signalContainer(rt: Runtime, record: ContainerSummary, signal: number, all: boolean): Promise<void> {
  const pidfd = openInit(rt, record);
  if (pidfd === undefined)
    throw new BerthError({ op: "kill", id: record.id, code: "container-not-running", reason: "container not running" });
  // Read while the init lives: once it is dead its namespace can no longer be looked up.
  const ns = all ? pidnsOf(record.pid) : undefined;
  try {
    rt.native.pidfdSendSignal(pidfd, signal);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ESRCH") throw new BerthError({ op: "kill", id: record.id, reason: "no such process", errno: code });
    throw err;
  } finally {
    rt.native.closeFd(pidfd);
  }
  if (!all) return;
  await signalCgroup(rt, record, signal, ns);
}

/**
 * Signal every process in the container's cgroup but its init, found by cgroup, never by
 * the recorded pid (which may have been recycled). SIGKILL: cgroup.kill (5.14) kills them at
 * once, including ones forked while we would be walking cgroup.procs. With `initPidns` (the
 * init's pid namespace, read while it lived) only the processes in it are the container's.
 */
export async function signalCgroup(rt: Runtime, record: ContainerSummary, signal: number, initPidns?: string): Promise<void> {
  // Signal 0 only asks whether the container exists, which its init has answered: freezing
  // the cgroup to deliver nothing to each process would only disturb it.
  if (signal === 0) return;
  // cgroup.kill reaches every process in the cgroup: only when they are all the container's.
  if (signal === 9 && record.cgroupUnified && !containerPids(rt, record, initPidns).others) {
    try {
      writeFileSync(join(record.cgroupUnified, "cgroup.kill"), "1");
      return;
    } catch {
      /* older kernel: signal them one by one */
    }
  }
  // One by one, with the cgroup frozen so that nothing forks between reading the list and the
  // signals arriving (as runc does); thawed after, unless it was paused before.
  const set = cgroupSetOf(record);
  const wasFrozen = isFrozen(set);
  let froze = false;
  if (!wasFrozen) {
    try {
      await setFrozen(set, true);
      froze = true;
    } catch {
      /* no freezer here: signal them as they are */
    }
  }
  try {
    for (const pid of containerPids(rt, record, initPidns).pids.slice(1)) {
      let fd: number;
      try {
        fd = rt.native.pidfdOpen(pid);
      } catch {
        continue; // exited meanwhile
      }
      try {
        rt.native.pidfdSendSignal(fd, signal);
      } catch {
        /* exited meanwhile */
      } finally {
        rt.native.closeFd(fd);
      }
    }
  } finally {
    if (froze) await setFrozen(set, false);
  }
}
