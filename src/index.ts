/**
 * berth as a library: every verb of the CLI as an async function for Node programs (the
 * lifecycle, pause/resume, update, ps, stats, events as an async iterator, and the image store).
 * The CLI is a thin layer over the same container/ functions. One process can create many
 * containers without paying Node's start-up per operation.
 *
 *   import * as berth from "berth";
 *   await berth.create("c1", { bundle: "/path/to/bundle" });
 *   await berth.start("c1");
 *   const { exitCode } = await berth.wait("c1");
 *   await berth.delete("c1");
 *
 * Every container function takes `root` (the state directory, default /run/berth, as the CLI's
 * --root); the image functions take `imageRoot` (default /var/lib/berth, as --image-root).
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as container from "./container";
import { BerthError, toBerthError } from "./errors";
import type { CheckReport, ContainerEvent, FeaturesInfo, HistoryRow, ImageSummary, LoadProgress, Runtime, StateOutput } from "./container";
import type { ContainerStats } from "./cgroups";
import type { Resources } from "./spec";

export { BerthError, type BerthErrorCode, type BerthErrorInit, type Problem, type Severity } from "./errors";
export {
  validateConfig,
  validateProcess,
  defaultSpec,
  type Spec,
  type Process,
  type State,
  type Resources,
  type Capabilities,
  type Rlimit,
  type Scheduler,
  type User,
  type DeviceRule,
  type Hooks,
  type Linux,
  type Mount,
  type Root,
  type Status,
  type Validated,
  type DefaultSpecOptions,
  type Hook,
  type NamespaceType,
  type Device,
  type IdMapping,
  type Namespace,
  type Seccomp,
  type SeccompSyscall,
  type SeccompArg,
} from "./spec";
export type { HostFacts, Limit, NetLink } from "./plan";
export {
  loadBundle,
  type LoadedBundle,
  type FeaturesInfo,
  type CheckReport,
  type StateOutput,
  type ContainerEvent,
  type ImageSummary,
  type HistoryRow,
  type LoadProgress,
} from "./container";
export type { ContainerStats, BlkioEntry, MemoryEntry, U64 } from "./cgroups";

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
  /**
   * With process.terminal, instead of a console socket: called once the container is created,
   * with the pty master, which is the caller's from then on (a program that serves the
   * terminal itself in this process, as containerd's shim does). Not called when create fails.
   */
  onTerminal?: (master: Terminal) => void;
}

/** A pty master berth handed over: its fd (the receiver closes it) and the terminal's name inside the container. */
export interface Terminal {
  fd: number;
  /** e.g. "/dev/pts/0" */
  name: string;
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
  const { pidfd, terminal } = await container.create(rt, {
    id,
    bundle: opts.bundle,
    pidFile: opts.pidFile,
    noPivot: opts.noPivot,
    noNewKeyring: opts.noNewKeyring,
    stdio: opts.stdio,
    consoleSocket: opts.consoleSocket,
    keepTerminal: opts.onTerminal !== undefined,
  });
  children.set(key(opts.root, id), pidfd);
  if (terminal) opts.onTerminal!({ fd: terminal.fd, name: terminal.name });
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
export async function wait(
  id: string,
  opts: Common & { signal?: AbortSignal } = {},
): Promise<{ exitCode: number | null; signal: number | null }> {
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

/**
 * create + start + wait + delete; resolves with the exit status (128+n for signal n).
 *
 * With `signal`, an abort removes the container: before its process runs, the container is
 * deleted; after, the process is killed (SIGKILL) and the container deleted. The promise then
 * rejects with the signal's reason (an AbortError).
 */
export async function run(id: string, opts: CreateOptions & { keep?: boolean; signal?: AbortSignal } = {}): Promise<number> {
  return container.run(runtime(opts), {
    signal: opts.signal,
    id,
    bundle: opts.bundle,
    pidFile: opts.pidFile,
    noPivot: opts.noPivot,
    noNewKeyring: opts.noNewKeyring,
    stdio: opts.stdio,
    keep: opts.keep,
    consoleSocket: opts.consoleSocket,
  });
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
  /**
   * Cancel: an abort before the process runs rejects at once; a foreground process is killed
   * (SIGKILL) and the promise rejects with the signal's reason (an AbortError). A detached
   * process, once started, is not affected.
   */
  signal?: AbortSignal;
  /** With process.terminal and detach, instead of a console socket: as CreateOptions.onTerminal, once the process runs. */
  onTerminal?: (master: Terminal) => void;
}

/** Run one more process in a running container: `{pid, exitCode}` (exitCode 128+n for signal n; none with detach). */
export async function exec(id: string, opts: ExecOptions): Promise<{ pid: number; exitCode?: number }> {
  const { pid, exitCode, terminal } = await container.exec(runtime(opts), {
    id,
    process: opts.process,
    detach: opts.detach,
    pidFile: opts.pidFile,
    stdio: opts.stdio,
    cgroup: opts.cgroup,
    ignorePaused: opts.ignorePaused,
    consoleSocket: opts.consoleSocket,
    signal: opts.signal,
    keepTerminal: opts.detach === true && opts.onTerminal !== undefined,
  });
  if (terminal) opts.onTerminal!({ fd: terminal.fd, name: terminal.name });
  return exitCode === undefined ? { pid } : { pid, exitCode };
}

/**
 * Run one verb so that whatever it throws reaches the caller as a BerthError naming the verb and
 * the container or image (a Node system error becomes code "system" with its errno and path;
 * anything else "internal"). An AbortError stays what it is.
 */
async function guarded<T>(op: string, id: string | undefined, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // signal.reason is a DOMException, which is no `instanceof Error` in Node 20.
    if ((err as { name?: unknown } | null)?.name === "AbortError") throw err;
    throw toBerthError(err, op, id);
  }
}

/** Freeze the container's cgroup (no signal is sent); `state` then says "paused". */
export async function pause(id: string, opts: Common = {}): Promise<void> {
  await guarded("pause", id, () => container.pause(runtime(opts), id));
}

/** Thaw a paused container. */
export async function resume(id: string, opts: Common = {}): Promise<void> {
  await guarded("resume", id, () => container.resume(runtime(opts), id));
}

/**
 * Change a live container's resources (runc's `update`): `resources` is a LinuxResources object
 * (config.json's `linux.resources`), merged into what the container has. It is checked against
 * the schema first (problems name fields under `linux.resources`), and nothing is written when
 * anything is wrong.
 */
export async function update(id: string, resources: Resources, opts: Common = {}): Promise<void> {
  await guarded("update", id, () => container.update(runtime(opts), id, container.checkResourcesRequest(id, resources, "resources")));
}

/** The host pids of the container's processes (its cgroup and every cgroup below it), ascending. */
export async function ps(id: string, opts: Common = {}): Promise<number[]> {
  return guarded("ps", id, () => container.containerProcesses(runtime(opts), id));
}

/** The container's resource usage now: the `data` of `berth events --stats` (64-bit counters are bigints). */
export async function stats(id: string, opts: Common = {}): Promise<ContainerStats> {
  return guarded("events", id, () => container.stats(runtime(opts), id).data!);
}

export interface EventsOptions extends Common {
  /** Milliseconds between two stats events (default 5000, as the CLI's --interval 5s). */
  interval?: number;
  /** Stops the stream: the iterator then rejects with an AbortError. */
  signal?: AbortSignal;
}

/**
 * The container's events, as `berth events` prints them: a stats event at once and then every
 * `interval` ms, and an `oom` event when the OOM killer has struck in its cgroup. The iterator
 * ends when the container's init exits; `break` (or `return`) in a `for await` stops it too.
 *
 *   for await (const e of berth.events("c1", { interval: 1000 })) console.log(e.data?.memory.usage);
 */
export async function* events(id: string, opts: EventsOptions = {}): AsyncGenerator<ContainerEvent, void, undefined> {
  const rt = runtime(opts);
  opts.signal?.throwIfAborted();
  const interval = opts.interval ?? 5000;
  if (!(interval > 0))
    throw new BerthError({
      code: "invalid-argument",
      op: "events",
      id,
      field: "interval",
      value: interval,
      reason: "must be a positive number of milliseconds",
    });
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const queue: ContainerEvent[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;
  const running = container
    .events(
      rt,
      id,
      interval,
      (e) => {
        queue.push(e);
        wake?.();
      },
      stop.signal,
    )
    .catch((err: unknown) => {
      failure = toBerthError(err, "events", id);
    })
    .finally(() => {
      finished = true;
      wake?.();
    });
  try {
    for (;;) {
      while (queue.length) yield queue.shift()!;
      if (failure !== undefined) throw failure;
      if (opts.signal?.aborted) opts.signal.throwIfAborted();
      if (finished) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    stop.abort();
    opts.signal?.removeEventListener("abort", onAbort);
    await running;
  }
}

export interface ImageOptions {
  /** The image store (default /var/lib/berth, as the CLI's --image-root). */
  imageRoot?: string;
}

/**
 * Load the images of a `docker save` archive or an OCI image layout (a directory or a tar) into
 * the store; resolves with their names. `onProgress` is called as the archive is read and as
 * each layer is checked and unpacked. `signal` stops the load: it rejects with an AbortError,
 * and the store is left as it was.
 */
export async function loadImage(
  input: string,
  opts: ImageOptions & { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal } = {},
): Promise<string[]> {
  return guarded("image load", input, () =>
    container.imageLoad(runtime(), opts.imageRoot, input, { onProgress: opts.onProgress, signal: opts.signal }),
  );
}

/** The images in the store: name (or "<none>"), short id, `created` from the image config (RFC 3339, "" when none), size in bytes. */
export async function listImages(opts: ImageOptions = {}): Promise<ImageSummary[]> {
  return guarded("image ls", undefined, () => container.imageList(runtime(), opts.imageRoot));
}

/** Remove a name (or, given an id, every name of that image) and what no image needs any more; resolves with the names removed. */
export async function removeImage(ref: string, opts: ImageOptions = {}): Promise<string[]> {
  return guarded("image rm", ref, () => container.imageRemove(runtime(), opts.imageRoot, ref));
}

/** The image's config, layers and names, as `berth image inspect` prints them. */
export async function inspectImage(ref: string, opts: ImageOptions = {}): Promise<Record<string, unknown>> {
  return guarded("image inspect", ref, () => container.imageInspect(runtime(), opts.imageRoot, ref));
}

/** One row per history entry of the image, the newest first. */
export async function imageHistory(ref: string, opts: ImageOptions = {}): Promise<HistoryRow[]> {
  return guarded("image history", ref, () => container.imageHistory(runtime(), opts.imageRoot, ref));
}

/** Write the image as an OCI layout tar (with a docker manifest.json) to `output`. */
export async function saveImage(ref: string, output: string, opts: ImageOptions = {}): Promise<void> {
  await guarded("image save", ref, () => container.imageSave(runtime(), opts.imageRoot, ref, output));
}

/**
 * `berth bundle`: write `dir`/config.json made from the image's config and an empty rootfs/.
 * `create` of that bundle mounts the image's layers and a writable layer there. Resolves with
 * the config.json's path.
 */
export async function bundle(image: string, dir: string, opts: ImageOptions = {}): Promise<string> {
  return guarded("bundle", image, () => container.imageBundle(runtime(), opts.imageRoot, image, dir));
}

/** What the container changed in its image: A(dded), C(hanged), D(eleted) paths. */
export async function diff(id: string, opts: ImageOptions = {}): Promise<{ kind: "A" | "C" | "D"; path: string }[]> {
  return guarded("diff", id, () => container.layerDiff(runtime(), opts.imageRoot, id));
}

/**
 * `berth commit`: the container's writable layer as a new layer on top of its image, named
 * `image` (":latest" when no tag). An unchanged container gets the empty layer, as with Docker.
 */
export async function commit(
  id: string,
  image: string,
  opts: ImageOptions & { message?: string } = {},
): Promise<{ name: string; id: string; layer: string }> {
  return guarded("commit", id, () => container.layerCommit(runtime(), opts.imageRoot, id, image, opts.message));
}

/** `berth export`: the container's merged filesystem as one tar at `output`. */
async function exportRootfs(id: string, output: string, opts: ImageOptions = {}): Promise<void> {
  await guarded("export", id, () => container.layerExport(runtime(), opts.imageRoot, id, output));
}
export { exportRootfs as export };

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
  const n = runtime().native;
  const fd = n.pidfdOpen(pid);
  try {
    return await n.waitExit(fd);
  } finally {
    n.closeFd(fd);
  }
}

/** A native call that only some builds of berth have (runtime.ts, `SometimesNeeded`). */
function sometimes<K extends "mountOverlay" | "umount" | "ttySetSize">(name: K, op: string): NonNullable<Runtime["native"][K]> {
  const f = runtime().native[name];
  if (!f) throw new BerthError({ op, reason: `${name} is not available in this build of berth` });
  return f as NonNullable<Runtime["native"][K]>;
}

/** mount -t overlay overlay -o DATA TARGET (a container's rootfs as an engine prepares it). */
export function mountOverlay(target: string, data: string): void {
  sometimes("mountOverlay", "mount")(target, data);
}

/** mkfifo(3) (Node has none); the mode is subject to the umask. */
export function mkfifo(path: string, mode = 0o600): void {
  runtime().native.mkfifo(path, mode);
}

/**
 * Set the window size of a terminal (TIOCSWINSZ), e.g. of a pty master from `onTerminal`; the
 * kernel then sends SIGWINCH to the terminal's foreground process group.
 */
export function resizeTerminal(fd: number, rows: number, cols: number): void {
  sometimes("ttySetSize", "resize terminal")(fd, rows, cols);
}

/** umount2(TARGET, MNT_DETACH when `detach`). */
export function unmount(target: string, detach = false): void {
  sometimes("umount", "unmount")(target, detach);
}

/** `berth check`: the bundle's problems (config, host, filesystem), as the CLI reports them. */
export function checkBundle(bundle?: string, opts: Common = {}): CheckReport {
  return container.checkBundle(runtime(opts), bundle);
}

/** `berth features`: the runtime-spec features document of this build on this host. */
export function featuresDocument(info: FeaturesInfo, opts: Common = {}): Record<string, unknown> {
  return container.featuresDocument(runtime(opts), info);
}
