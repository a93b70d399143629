/**
 * containerd's Task service (runtime v2), served by one long-lived shim process that calls
 * berth's library in-process: no berth CLI is started for any operation.
 *
 * The shim keeps each task's processes in memory: the init (exec id "") and the execs by id.
 * Every process is this process's child (the library launches the init; an exec's process is
 * forked by berth-init with CLONE_PARENT), so the shim collects each exit status itself, with
 * the time it saw it, and reports it once: to every Wait, to State, and as one TaskExit event.
 *
 * stdio: containerd (ctr, the CRI) makes a fifo per stream and opens its own ends before it
 * calls Create or Exec. The shim opens the other ends (in the thread pool: an open of a fifo
 * blocks until both ends are there) and hands them to the container as its fds 0-2, then
 * closes its copies, so the container's exit is EOF for containerd. stdin goes through a fifo of
 * the shim's own (relayStdin), which CloseIO or containerd's EOF closes.
 */
import {
  closeSync,
  constants,
  createReadStream,
  createWriteStream,
  existsSync,
  open as openCb,
  openSync,
  promises as fsp,
  rmSync,
  type ReadStream,
} from "node:fs";
import { promisify } from "node:util";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import * as berth from "../index";
import type { Publisher } from "./events";
import { any, decode, encode, TaskStatus, timestamp } from "./proto";
import { openTerminalOutput, serveTerminal, type TerminalIo } from "./terminal";
import { Code, TtrpcError, type Handler } from "./ttrpc";

const SERVICE = "containerd.task.v2.Task";
/** A raw fd (not a FileHandle, which would close it again when collected). */
const openFd = promisify(openCb);

interface Proc {
  execId: string;
  pid: number;
  status: "created" | "running" | "stopped";
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  exitedAt?: Date;
  /** Resolves when the process has exited and its status is recorded. */
  exited: Promise<void>;
  markExited: () => void;
  /** An exec's process.json (from ExecProcessRequest.spec). */
  spec?: unknown;
  /** The copy of containerd's stdin (CloseIO and the exit end it). */
  stdinRelay?: StdinRelay;
  /** With a terminal: the copies between its master and containerd's fifos (terminal.ts). */
  tty?: TerminalIo;
}

interface Task {
  id: string;
  bundle: string;
  init: Proc;
  execs: Map<string, Proc>;
  paused: boolean;
  /** The rootfs this shim mounted at bundle/rootfs (unmounted by Delete). */
  mountedRootfs?: string;
  /** OOM kills seen so far in the task's memory cgroup, and the timer that looks (TaskOOM). */
  ooms: number;
  oomTimer?: NodeJS.Timeout;
}

/** How often a running task's memory cgroup is checked for OOM kills. */
const OOM_POLL_MS = 1000;

export interface ServiceOptions {
  namespace: string;
  /** berth's state root for this namespace's containers. */
  root: string;
  publisher: Publisher;
  log: (message: string) => void;
  /** Called after Shutdown has been answered, when the shim should exit. */
  exit: () => void;
}

function newProc(execId: string, io: { stdin: string; stdout: string; stderr: string; terminal: boolean }): Proc {
  let markExited = () => undefined as void;
  const exited = new Promise<void>((r) => (markExited = r));
  return { execId, pid: 0, status: "created", ...io, exitStatus: 0, exited, markExited };
}

/** 128+n for a signal, as containerd and runc report it. */
function statusOf(r: { exitCode: number | null; signal: number | null }): number {
  return r.exitCode ?? 128 + (r.signal ?? 0);
}

/**
 * Open the container's ends of containerd's fifos (raw fds, in the thread pool). A missing
 * path is /dev/null. Every fd opened so far is closed again when one open fails.
 *
 * stdout may also be a log URI (`ctr run --log-uri`, the CRI's logging binaries), and then
 * stderr is the same URI:
 *   file:///path        the file, appended to (its directory made)
 *   binary:///path?k=v  that program, started with k v as arguments and CONTAINER_ID and
 *                       CONTAINER_NAMESPACE in its environment; it reads stdout on its fd 3 and
 *                       stderr on fd 4, and closes fd 5 when it is ready (awaited here).
 */
interface Stdio {
  fds: [number, number, number];
  /** Close this process's copies (once the container has its own). */
  close(): void;
  /** The copy of containerd's stdin into the process's, when there is a stdin. */
  relay?: StdinRelay;
}

interface StdinRelay {
  /** End the process's stdin (EOF), now or when containerd's end is never opened. */
  closeInput(): void;
}

/**
 * The process's stdin: a fifo of the shim's own (made beside the bundle's files and unlinked at
 * once), read-only and blocking on the process's side; the shim copies containerd's stdin fifo
 * into it. So the process sees EOF when containerd closes its end (or CloseIO), as with the runc
 * shim's pipe, and the open of containerd's fifo, which waits until containerd opens its end
 * (never, for `ctr run` without -i), runs in the background instead of holding up Create.
 */
function relayStdin(fifo: string, relayPath: string, log: (m: string) => void): { readFd: number; relay: StdinRelay } {
  rmSync(relayPath, { force: true });
  berth.mkfifo(relayPath, 0o600);
  let rdwr: number | undefined;
  let readFd: number | undefined;
  let writeFd: number;
  try {
    // None of these opens waits: the read-write one is a reader and a writer, so the read-only
    // open finds a writer and the write-only one a reader. Then only the two ends are left.
    rdwr = openSync(relayPath, constants.O_RDWR);
    readFd = openSync(relayPath, constants.O_RDONLY);
    writeFd = openSync(relayPath, constants.O_WRONLY);
  } catch (err) {
    if (readFd !== undefined) closeSync(readFd);
    throw err;
  } finally {
    if (rdwr !== undefined) closeSync(rdwr);
    rmSync(relayPath, { force: true });
  }
  let state: "opening" | "copying" | "done" = "opening";
  let src: ReadStream | undefined;
  const dst = createWriteStream("", { fd: writeFd, autoClose: true });
  dst.on("error", () => src?.destroy());
  openFd(fifo, constants.O_RDONLY).then(
    (fd) => {
      if (state === "done") {
        closeSync(fd);
        return;
      }
      state = "copying";
      src = createReadStream("", { fd, autoClose: true });
      src.on("error", (e) => {
        log(`stdin ${fifo}: ${e.message}`);
        dst.end();
      });
      src.pipe(dst);
    },
    (err: Error) => {
      log(`stdin ${fifo}: ${err.message}`);
      state = "done";
      dst.end();
    },
  );
  return {
    readFd,
    relay: {
      closeInput: () => {
        if (state === "opening") {
          state = "done";
          // The open of containerd's fifo still waits for a writer: be one for a moment, so
          // that it returns (and its thread-pool thread is free again).
          try {
            closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
          } catch {
            /* no reader waiting: the open has just finished or failed */
          }
        } else if (state === "copying") {
          state = "done";
          src?.unpipe(dst);
          src?.destroy();
        }
        dst.end();
      },
    },
  };
}

async function openStdio(
  p: { stdin: string; stdout: string; stderr: string },
  task: { id: string; namespace: string; relayPath: string; log: (m: string) => void },
): Promise<Stdio> {
  const fds: number[] = [];
  let relay: StdinRelay | undefined;
  const plain = (f: [number, number, number]): Stdio => ({ fds: f, close: () => closeFds(f), relay });
  try {
    const open = async (path: string, flags: number, mode?: number) => {
      const fd = await openFd(path || "/dev/null", flags, mode);
      fds.push(fd);
      return fd;
    };
    let stdin: number;
    if (p.stdin) {
      const r = relayStdin(p.stdin, task.relayPath, task.log);
      relay = r.relay;
      stdin = r.readFd;
      fds.push(stdin);
    } else {
      stdin = await open("", constants.O_RDONLY);
    }
    const uri = /^[a-z]+:\/\//.test(p.stdout) ? new URL(p.stdout) : undefined;
    if (uri?.protocol === "file:") {
      await fsp.mkdir(dirname(uri.pathname), { recursive: true });
      const out = await open(uri.pathname, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640);
      return plain([stdin, out, out]);
    }
    if (uri?.protocol === "binary:") {
      const logger = await startLogger(uri, task);
      return {
        fds: [stdin, logger.fds[0], logger.fds[1]],
        close: () => {
          closeFds([stdin]);
          logger.close();
        },
        relay,
      };
    }
    if (uri) throw new TtrpcError(Code.invalidArgument, `log URI ${p.stdout}: only file:// and binary:// are supported`);
    const stdout = await open(p.stdout, constants.O_WRONLY);
    const stderr = p.stderr && p.stderr === p.stdout ? stdout : await open(p.stderr, constants.O_WRONLY);
    return plain([stdin, stdout, stderr]);
  } catch (err) {
    closeFds(fds);
    relay?.closeInput();
    throw err;
  }
}

/**
 * Start a logging binary (binary:// log URI) and return the write ends of its stdout and stderr
 * streams, which become the container's fds 1 and 2. The streams are the socket pairs Node
 * makes for a child's extra stdio: this process's ends stay owned by their sockets, and
 * `close` destroys those (after the container has its copies), so the logger sees EOF when the
 * container's copies close.
 */
async function startLogger(uri: URL, task: { id: string; namespace: string }): Promise<{ fds: [number, number]; close: () => void }> {
  const args: string[] = [];
  for (const [k, v] of uri.searchParams) args.push(...(v ? [k, v] : [k]));
  const child = spawn(uri.pathname, args, {
    stdio: ["ignore", "ignore", "ignore", "pipe", "pipe", "pipe"],
    env: { ...process.env, CONTAINER_ID: task.id, CONTAINER_NAMESPACE: task.namespace },
    detached: true,
  });
  child.unref();
  const ready = (child.stdio as unknown[])[5] as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TtrpcError(Code.unavailable, `log binary ${uri.pathname} was not ready in 10 s`)), 10_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    ready.on("data", () => undefined);
    ready.once("end", done);
    ready.once("close", done);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new TtrpcError(Code.unavailable, `log binary ${uri.pathname}: ${e.message}`));
    });
  });
  const fdOf = (i: number) => ((child.stdio as unknown[])[i] as { _handle: { fd: number } })._handle.fd;
  return {
    fds: [fdOf(3), fdOf(4)],
    close: () => {
      for (const i of [3, 4, 5]) ((child.stdio as unknown[])[i] as { destroy(): void }).destroy();
    },
  };
}

function closeFds(fds: readonly number[]): void {
  for (const fd of new Set(fds)) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}

/** A berth error as the status containerd turns back into its own error kinds. */
function asStatus(err: unknown, prefix = ""): TtrpcError {
  if (err instanceof TtrpcError) return err;
  const message = prefix + (err instanceof Error ? err.message.replace(/^berth: /, "") : String(err));
  const code = (err as { code?: string }).code;
  switch (code) {
    case "container-not-found":
      return new TtrpcError(Code.notFound, message);
    case "container-exists":
      return new TtrpcError(Code.alreadyExists, message);
    case "container-not-running":
    case "container-paused":
    case "container-state":
      return new TtrpcError(Code.failedPrecondition, message);
    case "invalid-config":
    case "invalid-argument":
      return new TtrpcError(Code.invalidArgument, message);
    default:
      return new TtrpcError(Code.unknown, message);
  }
}

const notFound = (what: string) => new TtrpcError(Code.notFound, what);

export class TaskService {
  private readonly tasks = new Map<string, Task>();
  private readonly lib: berth.Common;
  private created = 0;

  constructor(private readonly opts: ServiceOptions) {
    this.lib = { root: opts.root, onWarning: (m) => opts.log(`warning: ${m}`) };
  }

  /** Whether any task was ever created here. */
  hadTasks(): boolean {
    return this.created > 0;
  }

  /** The ttrpc handlers, by "service/method". */
  handlers(): Map<string, Handler> {
    const m = new Map<string, Handler>();
    const add = <Req>(method: string, reqType: string, resType: string, fn: (req: Req) => Promise<Record<string, unknown>>) =>
      m.set(`${SERVICE}/${method}`, async (payload) => encode(resType, await fn(decode<Req>(`containerd.task.v2.${reqType}`, payload))));
    const empty = "google.protobuf.Empty";
    add("Create", "CreateTaskRequest", "containerd.task.v2.CreateTaskResponse", (r: CreateReq) => this.create(r));
    add("Start", "StartRequest", "containerd.task.v2.StartResponse", (r: IdReq) => this.start(r));
    add("Delete", "DeleteRequest", "containerd.task.v2.DeleteResponse", (r: IdReq) => this.delete(r));
    add("State", "StateRequest", "containerd.task.v2.StateResponse", (r: IdReq) => this.state(r));
    add("Pids", "PidsRequest", "containerd.task.v2.PidsResponse", (r: IdReq) => this.pids(r));
    add("Pause", "PauseRequest", empty, (r: IdReq) => this.pause(r, true));
    add("Resume", "ResumeRequest", empty, (r: IdReq) => this.pause(r, false));
    add("Checkpoint", "CheckpointTaskRequest", empty, async () => {
      throw new TtrpcError(Code.unimplemented, "checkpoint is not implemented by containerd-shim-berth-v1");
    });
    add("Kill", "KillRequest", empty, (r: KillReq) => this.kill(r));
    add("Exec", "ExecProcessRequest", empty, (r: ExecReq) => this.exec(r));
    add("ResizePty", "ResizePtyRequest", empty, (r: IdReq & { width: number; height: number }) => this.resizePty(r));
    add("CloseIO", "CloseIORequest", empty, async (r: IdReq & { stdin: boolean }) => {
      const p = this.proc(r);
      if (r.stdin) {
        p.stdinRelay?.closeInput();
        p.tty?.closeInput();
      }
      return {};
    });
    add("Update", "UpdateTaskRequest", empty, (r: UpdateReq) => this.update(r));
    add("Wait", "WaitRequest", "containerd.task.v2.WaitResponse", (r: IdReq) => this.wait(r));
    add("Stats", "StatsRequest", "containerd.task.v2.StatsResponse", (r: IdReq) => this.stats(r));
    add("Connect", "ConnectRequest", "containerd.task.v2.ConnectResponse", async (r: IdReq) => ({
      shim_pid: process.pid,
      task_pid: this.tasks.get(r.id)?.init.pid ?? 0,
      version: "berth",
    }));
    add("Shutdown", "ShutdownRequest", empty, (r: ShutdownReq) => this.shutdown(r));
    return m;
  }

  private task(id: string): Task {
    const t = this.tasks.get(id);
    if (!t) throw notFound(`task ${id} not found`);
    return t;
  }

  private proc(r: IdReq): Proc {
    const t = this.task(r.id);
    if (!r.exec_id) return t.init;
    const p = t.execs.get(r.exec_id);
    if (!p) throw notFound(`process ${r.exec_id} does not exist`);
    return p;
  }

  /**
   * Publish TaskOOM when the OOM killer has struck in the task's memory cgroup since the last
   * look. The kernel's counter is polled (memory.oom_control on v1, memory.events on v2): an
   * eventfd would need native help, and a late look only delays the event, which is also
   * checked for right before the task's exit is reported.
   */
  private checkOom(t: Task): void {
    let n: number;
    try {
      n = berth.oomKills(t.id, this.lib);
    } catch {
      return; // deleted meanwhile
    }
    if (n > t.ooms) void this.opts.publisher.publish("TaskOOM", { container_id: t.id });
    t.ooms = n;
  }

  /** Record an exit once, and tell containerd. */
  private exited(t: Task, p: Proc, status: number): void {
    if (p.status === "stopped") return;
    p.stdinRelay?.closeInput();
    p.tty?.processExited();
    if (!p.execId) {
      clearInterval(t.oomTimer);
      this.checkOom(t);
    }
    p.status = "stopped";
    p.exitStatus = status;
    p.exitedAt = new Date();
    p.markExited();
    void this.opts.publisher.publish("TaskExit", {
      container_id: t.id,
      id: p.execId || t.id,
      pid: p.pid,
      exit_status: status,
      exited_at: timestamp(p.exitedAt),
    });
  }

  private async create(r: CreateReq): Promise<Record<string, unknown>> {
    if (this.tasks.has(r.id)) throw new TtrpcError(Code.alreadyExists, `task ${r.id} already exists`);
    if (r.checkpoint) throw new TtrpcError(Code.unimplemented, "restoring a checkpoint is not implemented by containerd-shim-berth-v1");
    const t: Task = { id: r.id, bundle: r.bundle, init: newProc("", r), execs: new Map(), paused: false, ooms: 0 };
    const rootfs = join(r.bundle, "rootfs");
    if (r.rootfs.length) {
      if (r.rootfs.length > 1 || r.rootfs[0]!.type !== "overlay") {
        throw new TtrpcError(
          Code.invalidArgument,
          `rootfs mounts ${r.rootfs.map((x) => x.type).join(", ")}: containerd-shim-berth-v1 mounts one overlay rootfs only`,
        );
      }
      if (!existsSync(rootfs)) await fsp.mkdir(rootfs, { mode: 0o711 });
      try {
        berth.mountOverlay(rootfs, r.rootfs[0]!.options.join(","));
      } catch (err) {
        throw asStatus(err, "mount rootfs: ");
      }
      t.mountedRootfs = rootfs;
    }
    if (r.terminal) {
      try {
        t.init.tty = await this.createTerminal(r.id, r, (onTerminal, stdio) =>
          berth.create(r.id, { ...this.lib, bundle: r.bundle, stdio, onTerminal }).then((st) => {
            t.init.pid = st.pid ?? 0;
          }),
        );
      } catch (err) {
        if (t.mountedRootfs) this.unmountRootfs(t);
        throw asStatus(err, "OCI runtime create failed: ");
      }
    } else {
      await this.createPlain(t, r);
    }
    this.tasks.set(r.id, t);
    this.created++;
    // The init is this process's child from now on: collect its status whenever it ends.
    berth.wait(r.id, this.lib).then(
      (res) => this.exited(t, t.init, statusOf(res)),
      (err) => {
        this.opts.log(`wait ${r.id}: ${(err as Error).message}`);
        this.exited(t, t.init, 255);
      },
    );
    void this.opts.publisher.publish("TaskCreate", {
      container_id: r.id,
      bundle: r.bundle,
      rootfs: r.rootfs,
      io: { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal },
      pid: t.init.pid,
    });
    return { pid: t.init.pid };
  }

  /** Create's stdio without a terminal: containerd's fifos (or a log URI) as the init's fds 0-2. */
  private async createPlain(t: Task, r: CreateReq): Promise<void> {
    let stdio: Stdio | undefined;
    try {
      const t0 = performance.now();
      stdio = await openStdio(r, {
        id: r.id,
        namespace: this.opts.namespace,
        relayPath: join(r.bundle, ".berth-stdin"),
        log: this.opts.log,
      });
      t.init.stdinRelay = stdio.relay;
      const t1 = performance.now();
      const st = await berth.create(r.id, { ...this.lib, bundle: r.bundle, stdio: stdio.fds });
      t.init.pid = st.pid ?? 0;
      this.opts.log(`debug: create ${r.id}: stdio ${(t1 - t0).toFixed(1)} ms, berth.create ${(performance.now() - t1).toFixed(1)} ms`);
    } catch (err) {
      if (t.mountedRootfs) this.unmountRootfs(t);
      t.init.stdinRelay?.closeInput();
      throw asStatus(err, "OCI runtime create failed: ");
    } finally {
      stdio?.close();
    }
  }

  /**
   * A process with a terminal (Create or an exec's Start): containerd's stdout fifo is opened
   * first, then `launch` makes the process (berth hands over the pty master through onTerminal;
   * fds 0-2 are /dev/null until berth-init puts the slave there), then the copies start.
   */
  private async createTerminal(
    id: string,
    io: { stdin: string; stdout: string },
    launch: (onTerminal: (m: berth.Terminal) => void, stdio: [number, number, number]) => Promise<void>,
  ): Promise<TerminalIo> {
    const outFd = await openTerminalOutput(io.stdout);
    let master: berth.Terminal | undefined;
    let devNull: number | undefined;
    try {
      devNull = openSync("/dev/null", constants.O_RDWR);
      await launch((m) => (master = m), [devNull, devNull, devNull]);
    } catch (err) {
      if (outFd !== undefined) closeFds([outFd]);
      throw err;
    } finally {
      if (devNull !== undefined) closeFds([devNull]);
    }
    if (!master) {
      if (outFd !== undefined) closeFds([outFd]);
      throw new TtrpcError(Code.internal, `${id}: berth handed over no terminal`);
    }
    return serveTerminal(master, { stdin: io.stdin, stdoutFd: outFd }, (m) => this.opts.log(`${id}: ${m}`));
  }

  private unmountRootfs(t: Task): void {
    if (!t.mountedRootfs) return;
    try {
      berth.unmount(t.mountedRootfs, true);
      t.mountedRootfs = undefined;
    } catch (err) {
      this.opts.log(`unmount ${t.mountedRootfs}: ${(err as Error).message}`);
    }
  }

  private async start(r: IdReq): Promise<Record<string, unknown>> {
    const t = this.task(r.id);
    const p = this.proc(r);
    if (p.status !== "created") throw new TtrpcError(Code.failedPrecondition, `process ${r.exec_id || r.id} is ${p.status}, not created`);
    if (!r.exec_id) {
      try {
        await berth.start(r.id, this.lib);
      } catch (err) {
        throw asStatus(err, "OCI runtime start failed: ");
      }
      if (p.status === "created") {
        p.status = "running";
        t.ooms = (() => {
          try {
            return berth.oomKills(t.id, this.lib);
          } catch {
            return 0;
          }
        })();
        t.oomTimer = setInterval(() => this.checkOom(t), OOM_POLL_MS);
        t.oomTimer.unref();
      }
      void this.opts.publisher.publish("TaskStart", { container_id: r.id, pid: p.pid });
      return { pid: p.pid };
    }
    if (p.terminal) {
      try {
        p.tty = await this.createTerminal(`${r.id}/${r.exec_id}`, p, (onTerminal, stdio) =>
          berth.exec(r.id, { ...this.lib, process: p.spec, detach: true, stdio, onTerminal }).then(({ pid }) => {
            p.pid = pid;
          }),
        );
      } catch (err) {
        throw asStatus(err, "OCI runtime exec failed: ");
      }
    } else {
      await this.startPlainExec(t, p, r);
    }
    p.status = "running";
    berth.waitProcess(p.pid).then(
      (res) => this.exited(t, p, statusOf(res)),
      (err) => {
        this.opts.log(`wait exec ${r.exec_id}: ${(err as Error).message}`);
        this.exited(t, p, 255);
      },
    );
    void this.opts.publisher.publish("TaskExecStarted", { container_id: r.id, exec_id: r.exec_id, pid: p.pid });
    return { pid: p.pid };
  }

  /** An exec's stdio without a terminal, as Create's. */
  private async startPlainExec(t: Task, p: Proc, r: IdReq): Promise<void> {
    let stdio: Stdio | undefined;
    try {
      stdio = await openStdio(p, {
        id: r.id,
        namespace: this.opts.namespace,
        relayPath: join(t.bundle, `.berth-stdin-${r.exec_id}`),
        log: this.opts.log,
      });
      p.stdinRelay = stdio.relay;
      const { pid } = await berth.exec(r.id, { ...this.lib, process: p.spec, detach: true, stdio: stdio.fds });
      p.pid = pid;
    } catch (err) {
      p.stdinRelay?.closeInput();
      throw asStatus(err, "OCI runtime exec failed: ");
    } finally {
      stdio?.close();
    }
  }

  /** Wait (at most 2 s, as the runc shim) for a terminal's output to reach containerd, then close it. */
  private async closeTerminal(p: Proc): Promise<void> {
    if (!p.tty) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p.tty.done, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    p.tty.close();
  }

  private async delete(r: IdReq): Promise<Record<string, unknown>> {
    const t = this.task(r.id);
    const p = this.proc(r);
    if (r.exec_id) {
      if (p.status === "running") throw new TtrpcError(Code.failedPrecondition, `cannot delete exec ${r.exec_id}: it is running`);
      t.execs.delete(r.exec_id);
      await this.closeTerminal(p);
    } else {
      if (p.status === "running") throw new TtrpcError(Code.failedPrecondition, `cannot delete task ${r.id}: it is running`);
      try {
        // A created task's berth-init is killed by delete; its exit is collected by the wait.
        await berth.delete(r.id, { ...this.lib, force: true });
      } catch (err) {
        if ((err as { code?: string }).code !== "container-not-found") throw asStatus(err);
      }
      await p.exited;
      await this.closeTerminal(p);
      for (const e of t.execs.values()) e.tty?.close();
      this.unmountRootfs(t);
      this.tasks.delete(r.id);
    }
    const res = { pid: p.pid, exit_status: p.exitStatus, exited_at: timestamp(p.exitedAt) };
    // As the runc shim: TaskDelete is the task's, not an exec's.
    if (!r.exec_id) void this.opts.publisher.publish("TaskDelete", { container_id: r.id, id: r.id, ...res });
    return res;
  }

  private async state(r: IdReq): Promise<Record<string, unknown>> {
    const t = this.task(r.id);
    const p = this.proc(r);
    let status: number = p.status === "created" ? TaskStatus.CREATED : p.status === "running" ? TaskStatus.RUNNING : TaskStatus.STOPPED;
    if (!r.exec_id && p.status === "running" && t.paused) status = TaskStatus.PAUSED;
    return {
      id: p.execId || t.id,
      bundle: t.bundle,
      pid: p.pid,
      status,
      stdin: p.stdin,
      stdout: p.stdout,
      stderr: p.stderr,
      terminal: p.terminal,
      exit_status: p.exitStatus,
      exited_at: timestamp(p.exitedAt),
    };
  }

  private async pids(r: IdReq): Promise<Record<string, unknown>> {
    this.task(r.id);
    let pids: number[];
    try {
      pids = await berth.ps(r.id, this.lib);
    } catch (err) {
      throw asStatus(err);
    }
    return { processes: pids.map((pid) => ({ pid })) };
  }

  private async pause(r: IdReq, pause: boolean): Promise<Record<string, unknown>> {
    const t = this.task(r.id);
    try {
      if (pause) await berth.pause(r.id, this.lib);
      else await berth.resume(r.id, this.lib);
    } catch (err) {
      throw asStatus(err);
    }
    t.paused = pause;
    void this.opts.publisher.publish(pause ? "TaskPaused" : "TaskResumed", { container_id: r.id });
    return {};
  }

  private async kill(r: KillReq): Promise<Record<string, unknown>> {
    const p = this.proc(r);
    if (p.status === "stopped") throw notFound("process already finished");
    if (p.pid === 0) throw new TtrpcError(Code.failedPrecondition, `process ${r.exec_id} has not been started`);
    try {
      if (r.exec_id) process.kill(p.pid, r.signal);
      else await berth.kill(r.id, r.signal, { ...this.lib, all: r.all });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ESRCH" || code === "container-not-running") throw notFound("process already finished");
      throw asStatus(err);
    }
    return {};
  }

  private async exec(r: ExecReq): Promise<Record<string, unknown>> {
    const t = this.task(r.id);
    if (t.execs.has(r.exec_id)) throw new TtrpcError(Code.alreadyExists, `exec ${r.exec_id} already exists`);
    if (t.init.status === "stopped") throw new TtrpcError(Code.failedPrecondition, `task ${r.id} has stopped`);
    let spec: unknown;
    try {
      spec = JSON.parse(Buffer.from(r.spec?.value ?? []).toString("utf8"));
    } catch (err) {
      throw new TtrpcError(Code.invalidArgument, `exec ${r.exec_id}: the process spec is not JSON: ${(err as Error).message}`);
    }
    const p = newProc(r.exec_id, r);
    p.spec = spec;
    t.execs.set(r.exec_id, p);
    void this.opts.publisher.publish("TaskExecAdded", { container_id: r.id, exec_id: r.exec_id });
    return {};
  }

  private async resizePty(r: IdReq & { width: number; height: number }): Promise<Record<string, unknown>> {
    const p = this.proc(r);
    try {
      p.tty?.resize(r.height, r.width);
    } catch (err) {
      throw asStatus(err, "resize pty: ");
    }
    return {};
  }

  private async update(r: UpdateReq): Promise<Record<string, unknown>> {
    this.task(r.id);
    let resources: berth.Resources;
    try {
      resources = JSON.parse(Buffer.from(r.resources?.value ?? []).toString("utf8")) as berth.Resources;
    } catch (err) {
      throw new TtrpcError(Code.invalidArgument, `update ${r.id}: the resources are not JSON: ${(err as Error).message}`);
    }
    try {
      await berth.update(r.id, resources, this.lib);
    } catch (err) {
      throw asStatus(err);
    }
    return {};
  }

  private async wait(r: IdReq): Promise<Record<string, unknown>> {
    const p = this.proc(r);
    await p.exited;
    return { exit_status: p.exitStatus, exited_at: timestamp(p.exitedAt) };
  }

  private async stats(r: IdReq): Promise<Record<string, unknown>> {
    this.task(r.id);
    let s: berth.ContainerStats;
    try {
      s = await berth.stats(r.id, this.lib);
    } catch (err) {
      throw asStatus(err);
    }
    const n = (v: bigint | undefined) => (v === undefined ? 0 : v.toString());
    const mem = (e: { limit: bigint; usage?: bigint; max?: bigint; failcnt?: bigint }) => ({
      limit: n(e.limit),
      usage: n(e.usage),
      max: n(e.max),
      failcnt: n(e.failcnt),
    });
    const metrics = {
      pids: { current: n(s.pids.current), limit: n(s.pids.limit) },
      cpu: {
        usage: {
          total: n(s.cpu.usage.total),
          kernel: n(s.cpu.usage.kernel),
          user: n(s.cpu.usage.user),
          per_cpu: (s.cpu.usage.percpu ?? []).map(n),
        },
        throttling: {
          periods: n(s.cpu.throttling.periods),
          throttled_periods: n(s.cpu.throttling.throttledPeriods),
          throttled_time: n(s.cpu.throttling.throttledTime),
        },
      },
      memory: {
        cache: n(s.memory.cache),
        rss: n(s.memory.raw?.rss),
        usage: mem(s.memory.usage),
        swap: mem(s.memory.swap),
        kernel: mem(s.memory.kernel),
        kernel_tcp: mem(s.memory.kernelTCP),
      },
    };
    return { stats: any("io.containerd.cgroups.v1.Metrics", metrics) };
  }

  private async shutdown(r: ShutdownReq): Promise<Record<string, unknown>> {
    if (!r.now && this.tasks.size > 0) return {};
    // Answer first, then leave: the events still queued are sent before the exit.
    setImmediate(() => {
      void this.opts.publisher.drain().then(() => this.opts.exit());
    });
    return {};
  }
}

interface IdReq {
  id: string;
  exec_id: string;
}
interface CreateReq {
  id: string;
  bundle: string;
  rootfs: { type: string; source: string; target: string; options: string[] }[];
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
  checkpoint: string;
}
interface KillReq extends IdReq {
  signal: number;
  all: boolean;
}
interface ExecReq extends IdReq {
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
  spec: { type_url: string; value: Buffer } | null;
}
interface UpdateReq {
  id: string;
  resources: { type_url: string; value: Buffer } | null;
}
interface ShutdownReq {
  id: string;
  now: boolean;
}
