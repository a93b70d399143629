/**
 * berth as a library: the lifecycle as async functions for Node programs. The CLI is a thin
 * layer over the same functions. One process can create many containers without paying Node's
 * start-up per operation.
 *
 *   import * as berth from "berth";
 *   await berth.create("c1", { bundle: "/path/to/bundle" });
 *   await berth.start("c1");
 *   const { exitCode } = await berth.wait("c1");
 *   await berth.delete("c1");
 *
 * Every function takes `root` (the state directory, default /run/berth, as the CLI's --root).
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as container from "./container";
import { BerthError } from "./errors";
import * as native from "./native";
import type { Runtime, StateOutput } from "./container";
import type { Resources as LinuxResources } from "./spec";
import type { ContainerStats } from "./cgroups";


export { BerthError, type BerthErrorCode, type Problem } from "./errors";
export { validateConfig, validateProcess, defaultSpec, type Spec, type Process, type State } from "./spec";
export { checkBundle, featuresDocument, loadBundle, type CheckReport, type StateOutput } from "./container";
export type { Resources as LinuxResources } from "./spec";
export type { ContainerStats } from "./cgroups";

export interface Common {
  /** State directory (default /run/berth). */
  root?: string;
  /** Called with warnings (relative mount destinations, skipped seccomp names, ...). */
  onWarning?: (message: string) => void;
}

export interface CreateOptions extends Common {
  /** The bundle directory (default: the current directory). */
  bundle?: string;
  pidFile?: string;
  noPivot?: boolean;
  /** Keep the caller's session keyring instead of a new one named _ses.<id> (runc's flag). */
  noNewKeyring?: boolean;
  /** fds for the container's stdin, stdout, stderr (default: this process's). */
  stdio?: [number, number, number];
  /** With process.terminal: the AF_UNIX socket the pty master is sent to (runc's --console-socket). */
  consoleSocket?: string;
}

const runtimes = new Map<string, Runtime>();
function runtime(opts: Common = {}): Runtime {
  const root = opts.root ?? "/run/berth";
  let rt = runtimes.get(root);
  if (!rt) {
    rt = container.defaultRuntime(root, (m) => opts.onWarning?.(m));
    runtimes.set(root, rt);
  }
  return rt;
}

/** pidfds of the inits this process created (its children): `wait` reaps them. */
const children = new Map<string, number>();
const key = (root: string | undefined, id: string) => `${root ?? "/run/berth"}\u0000${id}`;

export async function create(id: string, opts: CreateOptions = {}): Promise<StateOutput> {
  const rt = runtime(opts);
  const { pidfd } = await container.create(rt, { id, bundle: opts.bundle, pidFile: opts.pidFile, noPivot: opts.noPivot, noNewKeyring: opts.noNewKeyring, stdio: opts.stdio, consoleSocket: opts.consoleSocket });
  children.set(key(opts.root, id), pidfd);
  return container.state(rt, id);
}

export async function start(id: string, opts: Common = {}): Promise<void> {
  await container.start(runtime(opts), id);
}

export async function state(id: string, opts: Common = {}): Promise<StateOutput> {
  return container.state(runtime(opts), id);
}

export async function list(opts: Common = {}): Promise<StateOutput[]> {
  return container.list(runtime(opts));
}

/** Send a signal (name like "TERM"/"SIGTERM" or number; default SIGTERM) to the init, or to all. */
export async function kill(id: string, signal: string | number = "SIGTERM", opts: Common & { all?: boolean } = {}): Promise<void> {
  await container.kill(runtime(opts), id, container.parseSignal("kill", id, signal), opts.all);
}

/**
 * Wait for the container's init to exit. For a container this process created, the exit
 * status is returned; for any other, only that it exited (its parent collects the status).
 *
 * With `signal`, an abort rejects the promise with an AbortError at once and stops waiting
 * (the container keeps running; a later `wait` works as before).
 */
export async function wait(id: string, opts: Common & { signal?: AbortSignal } = {}): Promise<{ exitCode: number | null; signal: number | null }> {
  const rt = runtime(opts);
  const abort = opts.signal;
  abort?.throwIfAborted();
  const k = key(opts.root, id);
  const pidfd = children.get(k);
  if (pidfd !== undefined) {
    children.delete(k);
    try {
      if (abort) await untilExited(rt, pidfd, abort);
    } catch (err) {
      children.set(k, pidfd); // still ours: a later wait (or delete) reaps it
      throw err;
    }
    try {
      return await rt.native.waitExit(pidfd);
    } finally {
      rt.native.closeFd(pidfd);
    }
  }
  const record = rt.store.read("wait", id);
  let fd: number;
  try {
    fd = rt.native.pidfdOpen(record.pid);
  } catch {
    return { exitCode: null, signal: null };
  }
  try {
    if (container.liveStatus(rt.store, record) !== "stopped") {
      if (abort) await untilExited(rt, fd, abort);
      else await rt.native.pidfdPollExit(fd);
    }
  } finally {
    rt.native.closeFd(fd);
  }
  return { exitCode: null, signal: null };
}

/**
 * Resolve once the process behind `pidfd` has exited, or reject with `signal`'s AbortError.
 * The native waits (waitExit, pidfdPollExit) hold a threadpool thread and cannot be cancelled,
 * so an abortable wait polls the pidfd without blocking (pidfdWait with timeout 0) instead.
 */
async function untilExited(rt: Runtime, pidfd: number, signal: AbortSignal): Promise<void> {
  const poll = rt.native.pidfdWait?.bind(rt.native);
  if (!poll) throw new BerthError({ code: "internal", op: "wait", reason: "this runtime cannot poll a pidfd", internal: true });
  let delay = 5;
  while (!poll(pidfd, 0)) {
    await sleep(delay, undefined, { signal });
    delay = Math.min(delay * 2, 100);
  }
}

async function remove(id: string, opts: Common & { force?: boolean } = {}): Promise<void> {
  const rt = runtime(opts);
  const k = key(opts.root, id);
  const pidfd = children.get(k);
  await container.destroy(rt, id, opts.force);
  if (pidfd !== undefined) {
    // Reap our child so it does not linger as a zombie in this long-lived process.
    children.delete(k);
    await rt.native.waitExit(pidfd).catch(() => undefined);
    rt.native.closeFd(pidfd);
  }
}
export { remove as delete };

/** create + start + wait + delete; resolves with the exit status (128+n for signal n). */
export async function run(id: string, opts: CreateOptions & { keep?: boolean } = {}): Promise<number> {
  return container.run(runtime(opts), { id, bundle: opts.bundle, pidFile: opts.pidFile, noPivot: opts.noPivot, noNewKeyring: opts.noNewKeyring, stdio: opts.stdio, keep: opts.keep, consoleSocket: opts.consoleSocket });
}



export interface ExecOptions extends Common {
  /** The process, as a process.json object (validated; field paths under "process"). */
  process: unknown;
  /** Resolve once the process runs, with its pid; otherwise once it exits, with its status. */
  detach?: boolean;
  pidFile?: string;
  /** fds for the process's stdin, stdout, stderr (default: this process's). */
  stdio?: [number, number, number];
  /** Existing sub-cgroups of the container's ("[<controller>:]<path>"). */
  cgroup?: string[];
  ignorePaused?: boolean;
  /** With process.terminal and detach: the AF_UNIX socket the pty master is sent to. */
  consoleSocket?: string;
}

/** Run one more process in a running container: `{pid, exitCode}` (exitCode 128+n for signal n; none with detach). */
export async function exec(id: string, opts: ExecOptions): Promise<{ pid: number; exitCode?: number }> {
  return container.exec(runtime(opts), { id, process: opts.process, detach: opts.detach, pidFile: opts.pidFile, stdio: opts.stdio, cgroup: opts.cgroup, ignorePaused: opts.ignorePaused, consoleSocket: opts.consoleSocket });
}

/** Freeze the container's cgroup (runc's pause). */
export async function pause(id: string, opts: Common = {}): Promise<void> {
  await container.pause(runtime(opts), id);
}

/** Thaw the container's cgroup. */
export async function resume(id: string, opts: Common = {}): Promise<void> {
  await container.resume(runtime(opts), id);
}

/** The host pids of every process in the container's cgroup. */
export async function pids(id: string, opts: Common = {}): Promise<number[]> {
  return container.containerProcesses(runtime(opts), id);
}

/** Change the resources of a running container (runc's update --resources). */
export async function update(id: string, resources: LinuxResources, opts: Common = {}): Promise<void> {
  await container.update(runtime(opts), id, resources);
}

/** The container's resource usage, read from its cgroups (runc's events --stats). */
export async function stats(id: string, opts: Common = {}): Promise<ContainerStats> {
  const e = container.stats(runtime(opts), id);
  if (!e.data) throw new BerthError({ code: "internal", op: "stats", id, reason: "no statistics", internal: true });
  return e.data;
}

/** How many times the kernel's OOM killer has struck in the container's memory cgroup (0 without the counter). */
export function oomKills(id: string, opts: Common = {}): number {
  return Number(container.oomCount(runtime(opts), id));
}

/**
 * Wait for a child of this process that is not a container's init, e.g. the process of
 * `exec({detach: true})` (berth-init forks it with CLONE_PARENT, so it is this process's child),
 * and reap it.
 */
export async function waitProcess(pid: number): Promise<{ exitCode: number | null; signal: number | null }> {
  const fd = native.pidfdOpen(pid);
  try {
    return await native.waitExit(fd);
  } finally {
    native.closeFd(fd);
  }
}

/** mount -t overlay overlay -o DATA TARGET (a container's rootfs as an engine prepares it). */
export function mountOverlay(target: string, data: string): void {
  native.mountOverlay(target, data);
}

/** mkfifo(3) (Node has none); the mode is subject to the umask. */
export function mkfifo(path: string, mode = 0o600): void {
  native.mkfifo(path, mode);
}

/** umount2(TARGET, MNT_DETACH when `detach`). */
export function unmount(target: string, detach = false): void {
  native.umount(target, detach);
}
