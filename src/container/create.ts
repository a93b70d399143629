/**
 * create: from a bundle to a container waiting in berth-init for `start`
 * (docs/architecture.md, "Process model"). Every step that leaves something behind registers its undo; a failure
 * runs them in reverse and the user sees the original error (cleanup failures are appended).
 * When create returns, no Node process stays: the container is one berth-init process,
 * blocked reading its exec fifo.
 */
import { closeSync, constants, existsSync, openSync, readFileSync, statfsSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { BerthError, errnoNumber, problemsError, renderProblem, toBerthError } from "../errors";
import { buildPlan, childFdLayout, encodePlan, hostOpenedBinds, hostProblems, idmappedMountRequests, NOTIFY_SOCKET_IN_CONTAINER, PlanError, PROC_MOUNT_ALLOWED, SYNC, type LaunchPlan } from "../plan";
import { hookState, planHooks, runHooks } from "../hooks";
import { cgroupOwner, cgroupPathFor, plannedCgroupDirs, cgroupRemoveFailureText, cgroupSetFor, CgroupWriteError, delegateCgroup, deviceFilterFor, frozenState, fsCgroupDriver, planWrites, ResourceError, type CgroupPlacement } from "../cgroups";
import { memoryPressure, memoryUsageText, type CgroupSet, type MemoryPressure } from "../cgroups";
import { startUnit, stopUnit, systemdUnitOf, unitResourceProperties, type SystemdSession } from "../cgroups";
import { dirsSystemdLeaves, openSystemd, systemdError } from "./systemd";
import { planSeccomp, type SeccompRequest } from "../plan";
import type { ContainerRecord, ContainerSummary } from "../state";
import { PID_FILE_WRITE, writeFileAtomic } from "../state";
import type { Spec } from "../spec";
import { loadBundle } from "./bundle";
import { reportWarnings } from "./warnings";
import { gatherHostFactsAndLayout } from "./host-facts";
import { mountsUnder, readMountinfo, realRoot, unmountContainerMounts } from "./host-mounts";
import { mountImageRootfs } from "./image";
import { exitWithin, howItEnded, procStat } from "./proc";
import type { Runtime } from "./runtime";
import { hookError, runPoststop, startResultPath } from "./hooks";
import { checkTerminalOptions, takeTerminal, type ReceivedTerminal } from "./console";
import { hasNetDevices, moveNetDevices, runtimeNetLinks, type UndoLog } from "./net-devices";
import { faultInitOps, faultPoint } from "../fault";

export interface CreateOptions {
  id: string;
  bundle?: string;
  pidFile?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** Where the pty master goes when process.terminal is true (runc's --console-socket). */
  consoleSocket?: string;
  /**
   * The caller stays with the container (`run` without --detach): with process.terminal it
   * gets the pty master (Created.terminal) to relay, and a console socket is refused.
   */
  foreground?: boolean;
  /** --systemd-cgroup: cgroupsPath is slice:prefix:name, laid out as systemd would. */
  systemdCgroup?: boolean;
  /** The container's stdin, stdout, stderr (default: this process's 0, 1, 2). */
  stdio?: [number, number, number];
  /**
   * The caller's NOTIFY_SOCKET (sd_notify): the socket is bound into the container at
   * /run/notify/notify.sock and the process's NOTIFY_SOCKET points there.
   */
  notifySocket?: string;
  /**
   * Socket activation (LISTEN_FDS=N for this process): fds 3..3+N-1 go to the container
   * before the --preserve-fds ones, and its env gets LISTEN_FDS=N, LISTEN_PID=1 (as runc).
   */
  listenFds?: number;
}

export interface Created {
  record: ContainerRecord;
  pidfd: number;
  /** The pty master, with `foreground` and process.terminal; the caller closes it. */
  terminal?: ReceivedTerminal;
}

class Undo implements UndoLog {
  private steps: { what: string; fn: () => void | Promise<void> }[] = [];
  private finals: (() => void)[] = [];
  /** Run after every step, whatever happened (the poststop hooks of a failed create). */
  after: (() => void)[] = [];
  push(what: string, fn: () => void | Promise<void>): void {
    this.steps.push({ what, fn });
  }
  /**
   * Run when create is done, either way: after the undo steps of a failed one (which may need
   * it, e.g. the handles that keep the container's network namespace alive), or on success.
   */
  finally(fn: () => void): void {
    this.finals.push(fn);
  }
  get size(): number {
    return this.steps.length;
  }
  /** Run every undo step, newest first; return what failed (never throws). */
  async run(): Promise<string[]> {
    const failed: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step.fn();
      } catch (err) {
        failed.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.steps = [];
    this.release();
    for (const fn of this.after.splice(0)) fn();
    return failed;
  }
  /** The `finally` work, newest first (releasing handles: a failure there changes nothing). */
  release(): void {
    for (const fn of this.finals.splice(0).reverse()) {
      try {
        fn();
      } catch {
        /* a handle that would not close: nothing to undo */
      }
    }
  }
}

export function capLastCap(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
  } catch {
    return 40;
  }
}

/** The kernel took the uid_map: "containerID hostID size" lines, written in one write(2). */
function mapText(maps: { containerID: number; hostID: number; size: number }[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/** Write /proc/<pid>/{uid,gid}_map; a refusal is located at the config field it came from. */
function writeIdMap(id: string, pid: number, kind: "uid" | "gid", maps: { containerID: number; hostID: number; size: number }[]): void {
  try {
    writeFileSync(`/proc/${pid}/${kind}_map`, mapText(maps));
  } catch (err) {
    throw new BerthError({ op: "create", id, field: `linux.${kind}Mappings`, reason: `write /proc/${pid}/${kind}_map`, errno: (err as NodeJS.ErrnoException).code ?? "EIO", cause: err });
  }
}

/** statfs(2)'s f_type of a procfs. */
const PROC_SUPER_MAGIC = 0x9fa0;

/**
 * berth-init ended without "ready". The sync socket's end comes as its files close, a moment
 * before it is the zombie whose /proc/<pid>/stat tells how it ended: wait for that (its
 * pidfd, at most a second) so that the message can say.
 */
async function notReady(native: Runtime["native"], launched: { pid: number; pidfd: number }): Promise<string> {
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
async function notReadyError(rt: Runtime, id: string, spec: Spec, launched: { pid: number; pidfd: number }, memory: { set: CgroupSet; before: MemoryPressure } | undefined): Promise<BerthError> {
  const reason = await notReady(rt.native, launched);
  const limit = spec.linux?.resources?.memory?.limit;
  if (memory && limit !== undefined && limit > 0) {
    const after = memoryPressure(memory.set);
    if (after && (after.oomKills > memory.before.oomKills || after.limitHits > memory.before.limitHits)) {
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

/** Turn berth-init's failure record into the user's message, located at the op's config field. */
function initError(id: string, plan: LaunchPlan, msg: { opIndex: number; errno: number; detail: string }): BerthError {
  const op = plan.ops[msg.opIndex];
  // A hook's detail is the whole reason ("exit status 1"): no errno text after it.
  if (op?.op === "runHook") return new BerthError({ op: "create", id, field: op.origin, value: op.args[0], reason: msg.detail });
  // mountNoFollow's own refusal: the detail names the symlink or non-directory it met, and an
  // errno text ("too many levels of symbolic links") would only mislead.
  if (op?.op === "mountNoFollow" && (msg.errno === errnoNumber("ELOOP") || msg.errno === errnoNumber("ENOTDIR"))) {
    return new BerthError({ op: "create", id, field: op.origin, reason: `${msg.detail} in the rootfs: procfs and sysfs are mounted only on a real directory, never through a symlink` });
  }
  // A config mount whose target resolved into the container's /proc (guardProcTarget, just
  // before it): the detail says where to.
  if (plan.ops[msg.opIndex - 1]?.op === "guardProcTarget" && msg.errno === errnoNumber("EPERM") && msg.detail.includes(": the target resolves to ")) {
    return new BerthError({ op: "create", id, field: op?.origin, reason: `${msg.detail} in the rootfs: only a procfs may be mounted on /proc, and below it only ${PROC_MOUNT_ALLOWED.join(", ")}` });
  }
  return new BerthError({
    op: "create",
    id,
    field: op?.origin,
    reason: msg.detail || (op ? op.op : "berth-init failed"),
    errno: msg.errno || undefined,
    // checkExec's "executable file not found in $PATH" is runc's whole message (ENOENT).
    errnoInReason: msg.detail.endsWith(": executable file not found in $PATH"),
  });
}

/** Where each name libseccomp skipped is in the config: `linux.seccomp.syscalls[i].names[j]`, the first place it appears. */
export function skippedSyscallFields(spec: Spec, skipped: readonly string[]): { field: string; value: string }[] {
  const names = new Set(skipped);
  const out: { field: string; value: string }[] = [];
  (spec.linux?.seccomp?.syscalls ?? []).forEach((s, i) =>
    (s.names ?? []).forEach((name, j) => {
      if (names.delete(name)) out.push({ field: `linux.seccomp.syscalls[${i}].names[${j}]`, value: name });
    }),
  );
  // A name the planner added itself (none today) still gets its line.
  for (const name of names) out.push({ field: "linux.seccomp", value: name });
  return out;
}

/** Run a cgroup step, turning what it throws into the user's error at the config field. */
export function resourceErrors<T>(id: string, fn: () => T, op = "create"): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ResourceError) throw new BerthError({ op, id, field: err.field, value: err.value, reason: err.reason });
    if (err instanceof CgroupWriteError) {
      const isErrno = /^E[A-Z0-9]+$/.test(err.code);
      throw new BerthError({ op, id, field: err.field, value: err.value, reason: `write ${err.file}${isErrno ? "" : `: ${err.code}`}`, errno: isErrno ? err.code : undefined });
    }
    throw err;
  }
}

/** libseccomp's verdict on the planned filter; its refusals located at the config field. */
export function compileSeccomp(rt: Runtime, id: string, spec: Spec, req: SeccompRequest, op = "create"): { bpf: Buffer; skipped: string[] } {
  try {
    return rt.native.seccompCompile!(req);
  } catch (err) {
    const e = err as Error & { origin?: string; syscallName?: string; code?: string; syscall?: string };
    if (e.origin) {
      throw new BerthError({ op, id, field: e.origin, value: e.syscallName, reason: "libseccomp refused the rule", syscall: e.syscall, errno: e.code ?? "EINVAL" });
    }
    const arch = /unknown seccomp architecture "([^"]*)"/.exec(e.message)?.[1];
    const index = arch === undefined ? -1 : (spec.linux?.seccomp?.architectures ?? []).indexOf(arch);
    if (index >= 0) throw new BerthError({ op, id, field: `linux.seccomp.architectures[${index}]`, value: arch, reason: "this libseccomp does not know that architecture" });
    throw err;
  }
}

/**
 * config-linux.md "Seccomp" listenerPath: send the container process state, with the seccomp
 * listener fd attached, to the agent's socket, on a connection of its own; then our copy of the
 * fd is closed (the agent holds it now). The message is the one runc sends (the seccomp agent
 * protocol): `fds` names the attached fd, `metadata` is listenerMetadata verbatim, `state` is
 * the state of a container that is still being created.
 */
export function deliverSeccompListener(
  rt: Runtime,
  id: string,
  spec: Spec,
  bundleDir: string,
  pid: number,
  listener: { path: string; metadata?: string } | undefined,
  fd: number | undefined,
  op = "create",
): void {
  const field = "linux.seccomp.listenerPath";
  try {
    if (fd === undefined) throw new BerthError({ op, id, field, reason: "berth-init sent no seccomp listener fd", internal: true });
    if (!listener || !rt.native.unixSendFd) throw new BerthError({ op, id, field, reason: "berth-init sent a seccomp listener the plan did not ask for", internal: true });
    const state: Record<string, unknown> = { ociVersion: spec.ociVersion, id, status: op === "create" ? "creating" : "running", pid, bundle: bundleDir };
    if (spec.annotations && Object.keys(spec.annotations).length) state.annotations = spec.annotations;
    const message: Record<string, unknown> = { ociVersion: spec.ociVersion, fds: ["seccompFd"], pid };
    if (listener.metadata !== undefined) message.metadata = listener.metadata;
    message.state = state;
    try {
      rt.native.unixSendFd(listener.path, Buffer.from(JSON.stringify(message)), fd);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new BerthError({ op, id, field, value: spec.linux?.seccomp?.listenerPath, reason: "cannot send the seccomp listener to the agent", syscall: e.syscall, errno: e.code ?? "EIO" });
    }
  } finally {
    if (fd !== undefined) rt.native.closeFd(fd);
  }
}

export async function create(rt: Runtime, opts: CreateOptions): Promise<Created> {
  const { id } = opts;
  const { store } = rt;
  try {
    store.createDir("create", id);
  } catch (err) {
    throw toBerthError(err, "create", id);
  }
  const undo = new Undo();
  undo.push(`remove ${store.dir(id)}`, () => store.remove(id));
  try {
    // The undo runs inside the lock: a `delete` or `kill` waiting for it then finds the
    // container gone, never half-removed.
    return await store.withLockAsync("create", id, async () => {
      try {
        faultPoint("create", id, "make the state directory");
        const created = await createLocked(rt, opts, undo);
        undo.release();
        return created;
      } catch (err) {
        const error = toBerthError(err, "create", id);
        throw withCleanupFailures(error, await undo.run());
      }
    });
  } catch (err) {
    // Taking the lock failed: nothing but the directory was made. If it is gone (a `delete
    // --force` removed it before the lock was ours; store.ts lock), the directory now at the
    // path, if any, is another create's: not ours to remove.
    if (err instanceof BerthError && err.reason === "container does not exist") throw err;
    if (undo.size > 0) throw withCleanupFailures(toBerthError(err, "create", id), await undo.run());
    throw err;
  }
}

/**
 * The original error, with what the rollback could not undo appended (never substituted):
 * "<reason> (cleanup failed: kill berth-init (pid 12): EPERM; ...)".
 */
export function withCleanupFailures(error: BerthError, failed: string[]): BerthError {
  if (failed.length === 0) return error;
  const note = `cleanup failed: ${failed.join("; ")}`;
  return new BerthError({
    op: error.op,
    id: error.id,
    field: error.field,
    value: error.value,
    reason: `${error.reason} (${note})`,
    errno: error.errno,
    syscall: error.syscall,
    errnoInReason: error.errnoInReason,
    // A many-problems error renders its problems, not its reason: the note rides along as one.
    problems: error.problems.length ? [...error.problems, { reason: note, severity: "error" }] : undefined,
    internal: error.internal,
    cause: error.cause ?? error,
  });
}

async function createLocked(rt: Runtime, opts: CreateOptions, undo: Undo): Promise<Created> {
  const { id } = opts;
  const { store, native, cgroups } = rt;
  const bundle = loadBundle(opts.bundle, "create", id);
  const spec: Spec = bundle.spec;
  reportWarnings(rt, "create", id, bundle.warnings);

  // What the host cannot do is reported now, located at the field that asks for it.
  const facts = gatherHostFactsAndLayout();
  // config-linux.md "Network Devices": the runtime MUST check that each move is possible; the
  // interfaces that are missing here are reported now, before anything is made.
  if (hasNetDevices(spec)) facts.netLinks = runtimeNetLinks(native, "create", id);
  const hostFound = hostProblems(spec, facts);
  const hostIssues = hostFound.filter((p) => p.severity === "error");
  if (hostIssues.length) throw problemsError("create", id, hostIssues);
  // Only the capabilities this kernel lacks: the other host warnings are check's (seccomp
  // names libseccomp skips are reported below as compiled; a mount label is not applied).
  reportWarnings(rt, "create", id, hostFound.filter((p) => p.field?.startsWith("process.capabilities.")));

  const consoleSocket = checkTerminalOptions("create", id, { terminal: spec.process?.terminal === true, detach: !opts.foreground, consoleSocket: opts.consoleSocket });
  if (consoleSocket !== undefined && !native.unixSendFd) throw new BerthError({ op: "create", id, field: "--console-socket", value: opts.consoleSocket, reason: "sending the terminal is not available in this build of berth" });

  const rootfs = resolve(bundle.dir, spec.root!.path);
  // A "creating" record, before anything is made on the host, and kept up to date until
  // "created": if create is killed, `delete --force` finds from it what to remove.
  const creating: ContainerRecord = {
    ociVersion: spec.ociVersion,
    id,
    status: "creating",
    pid: 0,
    bundle: bundle.dir,
    annotations: spec.annotations,
    created: new Date().toISOString(),
    rootfs,
    pidStartTime: "",
    cgroupDirs: [],
    config: spec,
    owner: "root",
  };
  store.write(creating, false);
  faultPoint("create", id, "record creating");
  // A bundle made by `berth bundle`: the image's layers plus a writable layer, mounted here.
  const unmountImage = mountImageRootfs(native, id, spec, rootfs);
  if (unmountImage) undo.push(`remove the image rootfs at ${rootfs}`, unmountImage);
  if (unmountImage) faultPoint("create", id, "mount the image rootfs");
  try {
    if (!statSync(rootfs).isDirectory()) throw new BerthError({ op: "create", id, field: "root.path", value: spec.root!.path, reason: "is not a directory" });
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new BerthError({ op: "create", id, field: "root.path", value: spec.root!.path, reason: "stat", errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
  }

  // Bind sources: a file needs a file to mount on; a missing one is an error now, not in init.
  const bindIsFile: boolean[] = [];
  const bindIsProcfs: boolean[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    const isBind = m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
    if (!isBind) return;
    const source = resolve(bundle.dir, m.source ?? "");
    try {
      bindIsFile[i] = !statSync(source).isDirectory();
      bindIsProcfs[i] = statfsSync(source).type === PROC_SUPER_MAGIC;
    } catch (err) {
      throw new BerthError({ op: "create", id, field: `mounts[${i}].source`, value: m.source, reason: "stat", errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
    }
  });

  let seccomp: { bpf: Uint8Array; flags: number; listener: boolean } | undefined;
  let seccompListener: { path: string; metadata?: string } | undefined;
  if (spec.linux?.seccomp) {
    if (!native.seccompCompile) throw new BerthError({ op: "create", id, field: "linux.seccomp", reason: "seccomp is not available in this build of berth" });
    let req: SeccompRequest;
    try {
      req = planSeccomp(spec.linux.seccomp, native.seccompArchNative(), facts.seccomp.flags);
    } catch (err) {
      // The planner names the field but not the container.
      if (err instanceof BerthError) throw err.withContext("create", id);
      throw err;
    }
    const compiled = compileSeccomp(rt, id, spec, req);
    for (const field of skippedSyscallFields(spec, compiled.skipped)) rt.warn(`create ${id}: ${renderProblem({ ...field, reason: "libseccomp does not know this system call on this architecture: skipped", severity: "warning" })}`);
    seccomp = { bpf: compiled.bpf, flags: req.flags, listener: req.needsListener };
    if (req.needsListener) {
      // The semantic checks require listenerPath with SCMP_ACT_NOTIFY; a caller that skipped them
      // gets the same message here.
      if (req.listenerPath === undefined) throw new BerthError({ op: "create", id, field: "linux.seccomp.listenerPath", reason: "is required when an action is SCMP_ACT_NOTIFY" });
      if (!native.unixSendFd) throw new BerthError({ op: "create", id, field: "linux.seccomp.listenerPath", value: req.listenerPath, reason: "sending the seccomp listener is not available in this build of berth" });
      seccompListener = { path: resolve(bundle.dir, req.listenerPath), metadata: req.listenerMetadata };
    }
  }

  // The exec fifo: berth-init blocks reading it until `start` writes a byte. The parent opens
  // it O_RDWR, so the child's read blocks (a writer exists) instead of seeing end-of-file.
  const fifo = store.fifoPath(id);
  native.mkfifo(fifo, 0o600);
  const fifoFd = native.openFifoRdwr(fifo);
  const parentFds: number[] = [fifoFd];
  const closeParentFds = () => {
    for (const fd of parentFds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
  };

  // The systemd connection (--systemd-cgroup), closed when create returns or is undone.
  let closeSystemd = (): void => undefined;
  try {
    faultPoint("create", id, "make the exec fifo");
    // berth-init's fd table (plan/fd-layout.ts): each slot is filled below as it is opened.
    let requests;
    try {
      requests = idmappedMountRequests(spec, bundle.dir);
    } catch (err) {
      if (err instanceof PlanError) throw new BerthError({ op: "create", id, field: err.field, value: err.value, reason: err.reason });
      throw err;
    }
    const hostBinds = hostOpenedBinds(spec, bundle.dir);
    const inherited = (opts.listenFds ?? 0) + (opts.preserveFds ?? 0);
    const slots = childFdLayout({
      inherited,
      startResult: (spec.hooks?.startContainer?.length ?? 0) > 0,
      joined: (spec.linux?.namespaces ?? []).filter((n) => n.path).map((n) => n.type),
      idmapped: requests.map((r) => r.index),
      bindTrees: hostBinds.map((r) => r.index),
    });
    const fds: number[] = new Array<number>(slots.count);
    [fds[0], fds[1], fds[2]] = opts.stdio ?? [0, 1, 2];
    for (let i = 0; i < inherited; i++) fds[3 + i] = 3 + i;
    fds[slots.fifo] = fifoFd;
    // With startContainer hooks, `start` waits for their verdict on a second fifo (see
    // native/init/op-hooks.cc); as with the exec fifo, only berth-init holds a writer.
    if (slots.startResult !== undefined) {
      const path = startResultPath(store.dir(id));
      native.mkfifo(path, 0o600);
      const fd = native.openFifoRdwr(path);
      parentFds.push(fd);
      fds[slots.startResult] = fd;
      faultPoint("create", id, "make the start-result fifo");
    }
    let notifySocket: string | undefined;
    if (opts.notifySocket) {
      if (opts.notifySocket.startsWith("@")) rt.warn(`create ${id}: NOTIFY_SOCKET "${opts.notifySocket}": an abstract socket cannot be passed into the container; ignored`);
      else notifySocket = resolve(opts.notifySocket);
    }
    const extraEnv: string[] = [];
    if (notifySocket) extraEnv.push(`NOTIFY_SOCKET=${NOTIFY_SOCKET_IN_CONTAINER}`);
    if (opts.listenFds) extraEnv.push(`LISTEN_FDS=${opts.listenFds}`, "LISTEN_PID=1");
    let pidnsFd: number | undefined;
    for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) {
      if (!ns.path) continue;
      let fd: number;
      try {
        fd = openSync(ns.path, constants.O_RDONLY);
      } catch (err) {
        throw new BerthError({ op: "create", id, field: `linux.namespaces[${i}].path`, value: ns.path, reason: "open", errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
      }
      parentFds.push(fd);
      if (ns.type === "pid") pidnsFd = fd;
      else if (ns.type === "user") fds[slots.userns!] = fd;
      else fds[slots.namespaces[ns.type]!] = fd;
    }

    // Idmapped mounts: the parent makes each tree (it has CAP_SYS_ADMIN over the source's
    // filesystem; the container may not), berth-init attaches it (op moveMount).
    for (const r of requests) {
      if (!native.usernsFd || !native.openTreeIdmapped) throw new BerthError({ op: "create", id, field: r.origin, reason: "idmapped mounts are not available in this build of berth" });
      let userns: number;
      try {
        userns = native.usernsFd(mapText(r.uidMappings), mapText(r.gidMappings));
      } catch (err) {
        throw new BerthError({ op: "create", id, field: r.origin, reason: `user namespace for the idmap of ${r.destination}`, errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
      }
      try {
        const tree = native.openTreeIdmapped(r.source, userns, r.recursiveTree, r.recursiveIdmap);
        parentFds.push(tree);
        fds[slots.idmapped[r.index]!] = tree;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const what = e.syscall === "open_tree" ? `open_tree ${r.source}` : `mount_setattr idmap on ${r.destination}`;
        throw new BerthError({ op: "create", id, field: r.origin, reason: what, errno: e.code ?? "EIO" });
      } finally {
        native.closeFd(userns);
      }
    }

    // In a user namespace, bind sources are opened here, as the host's root (hostOpenedBinds).
    const bindTrees: Record<number, { fd: number; flags: number }> = {};
    for (const r of hostBinds) {
      if (!native.openTreeClone) throw new BerthError({ op: "create", id, field: r.origin, reason: "bind mounts in a user namespace need open_tree, not available in this build of berth" });
      try {
        const tree = native.openTreeClone(r.source, r.recursive);
        parentFds.push(tree.fd);
        fds[slots.bindTrees[r.index]!] = tree.fd;
        bindTrees[r.index] = { fd: slots.bindTrees[r.index]!, flags: tree.flags };
      } catch (err) {
        throw new BerthError({ op: "create", id, field: r.origin, reason: `open_tree ${r.source}`, errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
      }
    }

    // The cgroupfs driver detects what gatherHostFacts read above (mountinfo, once per create).
    const layout = cgroups === fsCgroupDriver ? facts.cgroupLayout : cgroups.detect();
    let plan: LaunchPlan;
    let planFor: (intoUnified: boolean) => LaunchPlan;
    // Planned for clone3 placing the process in the cgroup2 directory, as it does into one that
    // create makes (the usual case); see the placement below for one that was there before.
    const plannedIntoUnified = layout.v2Mount !== undefined;
    let cgroupPath = "";
    try {
      cgroupPath = cgroupPathFor(spec.linux?.cgroupsPath, id, opts.systemdCgroup === true);
      planFor = (into: boolean) => buildPlan({
        spec,
        rootfs,
        bundle: bundle.dir,
        noPivot: opts.noPivot,
        fds: { fifo: slots.fifo, namespaces: slots.namespaces, idmapped: slots.idmapped, bindTrees, startResult: slots.startResult },
        id,
        notifySocket,
        extraEnv,
        bindSourceIsFile: (i) => bindIsFile[i] ?? false,
        bindSourceIsProcfs: (i) => bindIsProcfs[i] ?? false,
        cgroup: {
        mode: layout.mode,
        hierarchies: layout.v1Hierarchies.map((h) => ({ name: h.mountPoint.split("/").pop()!, mountPoint: h.mountPoint, data: h.data })),
        v2Mount: layout.v2Mount,
        path: cgroupPath,
        intoUnified: into,
      },
        sessionKeyring: opts.noNewKeyring ? undefined : `_ses.${id}`,
        systemdCgroup: opts.systemdCgroup === true,
        selinux: facts.selinux,
        capLastCap: facts.capLastCap,
        seccomp,
      });
      plan = planFor(plannedIntoUnified);
    } catch (err) {
      if (cgroupPath === "") throw new BerthError({ op: "create", id, field: "linux.cgroupsPath", value: spec.linux?.cgroupsPath, reason: (err as Error).message.replace(/^linux\.cgroupsPath "[^"]*": /, "") });
      if (err instanceof PlanError) throw new BerthError({ op: "create", id, field: err.field, value: err.value, reason: err.reason });
      throw err;
    }

    // Cgroups before the process: it must never run user code outside them, nor before its
    // limits are in place. What this host cannot apply is refused before anything is made.
    resourceErrors(id, () => planWrites(cgroupSetFor(layout, cgroupPath), spec.linux?.resources));
    // --systemd-cgroup: systemd owns the limits it has properties for (cgroups/systemd-props.ts);
    // the files get the rest. The bus is opened now, so that no systemd means no process.
    let session: SystemdSession | undefined;
    let fsResources = spec.linux?.resources;
    const unit = opts.systemdCgroup ? systemdUnitOf(spec.linux?.cgroupsPath, id) : undefined;
    if (unit) {
      fsResources = resourceErrors(id, () => unitResourceProperties(spec.linux?.resources, layout.mode)).rest;
      session = await openSystemd(rt, "create", id);
      const s = session;
      closeSystemd = () => {
        closeSystemd = () => undefined;
        s.bus.close();
      };
      undo.push("close the systemd connection", () => closeSystemd());
      faultPoint("create", id, "connect to systemd");
    }
    // Recorded before they are made: a create killed while making them leaves a record that
    // names them (replaced by what was really made just below).
    store.writeSummary(summaryOf({ ...creating, cgroupPath, cgroupDirs: plannedCgroupDirs(layout, cgroupPath), systemdUnit: unit?.unit }));
    const placement: CgroupPlacement = cgroups.create(layout, cgroupPath);
    undo.push("remove cgroups", async () => {
      const failed = await cgroups.remove(placement.created);
      if (failed.length) throw new Error(failed.map(cgroupRemoveFailureText).join(", "));
    });
    faultPoint("create", id, "create cgroups");
    // A cgroupsPath shared with another container (runc allows it, with a warning): its
    // processes are not this container's, and the directories are removed by whichever of the
    // berth containers that use them is deleted last (record.cgroupShared).
    const cgroupShared = unit ? [] : sharedCgroupDirs(rt, placement);
    const leafDir = placement.unified ?? placement.dirs[0];
    const already = leafDir && !placement.created.includes(leafDir) ? cgroups.pids(leafDir).length : 0;
    if (already > 0) (rt.notice ?? rt.warn)(`create ${id}: the container's cgroup ${leafDir} is not empty: ${already} process(es) of another container or program are in it`);
    // A frozen cgroup (one that was there, or one below a frozen parent) would stop berth-init
    // at its first instruction, and create would wait for ever: refuse it now. Not ours to thaw.
    for (const dir of placement.dirs) {
      const frozen = frozenState(dir);
      if (frozen) throw new BerthError({ op: "create", id, field: "linux.cgroupsPath", value: spec.linux?.cgroupsPath ?? cgroupPath, reason: `the cgroup is frozen (${frozen}): thaw it first` });
    }
    // clone3 places the process in the cgroup2 directory only if create made it; into one that
    // was there already (a cgroupsPath shared with another container) it is moved, with a plan
    // for that (cgroups/placement.ts, joinCgroups, says why).
    const intoUnified = placement.unified !== undefined && placement.created.includes(placement.unified);
    if (intoUnified !== plannedIntoUnified) plan = planFor(intoUnified);
    resourceErrors(id, () => cgroups.apply(cgroupSetFor(layout, cgroupPath, placement.created), fsResources, (m) => rt.warn(`create ${id}: ${m}`)));
    faultPoint("create", id, "apply cgroup limits");
    let cgroupFd: number | undefined;
    const owner = placement.unified ? cgroupOwner(spec, layout.mode) : undefined;
    if (placement.unified && owner !== undefined) {
      // Before the clone: the container's root owns its cgroup from its first instruction.
      try {
        delegateCgroup(placement.unified, owner);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new BerthError({ op: "create", id, field: "linux.cgroupsPath", value: spec.linux?.cgroupsPath ?? cgroupPath, reason: `give the cgroup to host uid ${owner} (cgroup ownership): chown ${e.path ?? placement.unified}`, errno: e.code ?? "EIO", cause: err });
      }
      faultPoint("create", id, "delegate the cgroup");
    }
    if (placement.unified) {
      cgroupFd = openSync(placement.unified, constants.O_RDONLY | constants.O_DIRECTORY);
      parentFds.push(cgroupFd);
      // cgroup v2 device rules: an eBPF program on the cgroup, attached before the process is
      // cloned into it (CLONE_INTO_CGROUP), so nothing in the container ever runs unfiltered.
      const filter = resourceErrors(id, () => deviceFilterFor(cgroupSetFor(layout, cgroupPath, placement.created), spec.linux?.resources));
      if (filter) {
        if (!native.deviceFilterAttach) throw new BerthError({ op: "create", id, field: "linux.resources.devices", reason: "the cgroup v2 device filter is not available in this build of berth" });
        try {
          native.deviceFilterAttach(cgroupFd, filter);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          throw new BerthError({ op: "create", id, field: "linux.resources.devices", reason: `cannot attach the cgroup v2 device filter: ${e.syscall ?? e.message}`, errno: e.code });
        }
        faultPoint("create", id, "attach the device filter");
      }
    }

    // No mount namespace of its own: its mounts land in the host's table, under the rootfs;
    // the undo (and later `delete`) unmounts those that were not there before.
    let hostMounts: ContainerRecord["hostMounts"];
    if (!(spec.linux?.namespaces ?? []).some((n) => n.type === "mount")) {
      const root = realRoot(rootfs);
      hostMounts = { root, before: mountsUnder(root, readMountinfo()).map((m) => m.id) };
      const { before } = hostMounts;
      undo.push(`unmount the container's mounts under ${root}`, () => {
        if (!native.umount) return;
        const failed = unmountContainerMounts(native.umount, root, before);
        if (failed.length) throw new Error(failed.map((f) => `${f.mountPoint}: ${f.code}`).join(", "));
      });
    }

    // What delete must find if create is killed from here on: the cgroups and host mounts.
    Object.assign(creating, {
      cgroupDirs: placement.created,
      cgroupShared: cgroupShared.length ? cgroupShared : undefined,
      cgroupPath,
      cgroupUnified: placement.unified,
      systemdUnit: unit?.unit,
      hostMounts,
    });
    store.writeSummary(summaryOf(creating));
    faultPoint("create", id, "record cgroups and mounts");

    // The ops after "ready" fail where only `start` can see it (for the fault steps).
    const ready = plan.ops.findIndex((o) => o.op === "ready");
    const faultOp = faultInitOps(plan.ops, (i) => (ready >= 0 && i > ready ? "start" : "create"));
    // A memory limit too low for berth-init: its counters before the launch, to tell its OOM kill.
    const memSet = spec.linux?.resources?.memory?.limit ? cgroupSetFor(layout, cgroupPath, placement.created) : undefined;
    const memBefore = memSet ? memoryPressure(memSet) : undefined;
    const memory = memSet && memBefore ? { set: memSet, before: memBefore } : undefined;
    const launched = native.launch({ initPath: native.berthInitPath(), plan: encodePlan(plan.ops), fds, cloneFlags: plan.cloneFlags, cgroupFd: intoUnified ? cgroupFd : undefined, pidnsFd, usernsFd: slots.userns, faultOp });
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
    // The sync socket is closed once berth-init is ready (below), or when create is undone.
    let syncOpen = true;
    const closeSyncFd = () => {
      if (!syncOpen) return;
      syncOpen = false;
      native.closeFd(launched.syncFd);
    };
    undo.finally(closeSyncFd);
    closeParentFds();
    // The pid, at once: from here a killed create leaves a process that delete must find.
    creating.pid = launched.pid;
    creating.pidStartTime = procStat(launched.pid)?.startTime ?? "";
    store.writeSummary(summaryOf(creating));
    faultPoint("create", id, "launch berth-init");
    // runtime.md "Lifecycle": a failure from here on destroys the container, and then the
    // poststop hooks run (warnings only).
    if ((spec.hooks?.poststop?.length ?? 0) > 0) undo.after.push(() => runPoststop(rt, "create", { spec, id, bundle: bundle.dir, pid: launched.pid }));
    let terminal: ReceivedTerminal | undefined;
    undo.push("close the pty master", () => {
      if (terminal) native.closeFd(terminal.fd);
      terminal = undefined;
    });

    let cgroupDirs = placement.created;
    try {
      // The plan's first ops move berth-init into the rest itself, unless it cannot (plan.cgroupJoin).
      if (plan.cgroupJoin === "parent") {
        cgroups.joinCgroups(placement, launched.pid, !intoUnified);
        faultPoint("create", id, "join cgroups");
      }
      if (unit && session) {
        // The init exists, in the scope's directory already: systemd adopts both (see
        // cgroups/systemd.ts for the ordering). From here systemd owns those directories.
        const s = session;
        try {
          await startUnit(s, { ...unit, id, pid: launched.pid, mode: layout.mode, resources: spec.linux?.resources, warn: (m) => rt.warn(`create ${id}: ${m}`) });
        } catch (err) {
          throw systemdError("create", id, err);
        }
        faultPoint("create", id, "start the systemd unit");
        // Undone before the "kill berth-init" step (newest first), so this step kills the init
        // itself, and waits for its death, before StopUnit: systemd stops a scope with SIGTERM,
        // which the init of a pid namespace never receives from outside it (pid_namespaces(7)),
        // so StopUnit would wait out the unit's stop timeout before its SIGKILL. Once the init
        // is dead systemd stops the scope at once and removes its cgroup; the next step reaps
        // the init, and "remove cgroups" finds systemd's directories gone (ENOENT is fine).
        undo.push(`stop systemd unit ${unit.unit}`, async () => {
          let killFailed: unknown;
          try {
            native.pidfdSendSignal(launched.pidfd, 9);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ESRCH") killFailed = err;
          }
          // Not killed: do not wait for it, but still have systemd stop (and remove) the unit.
          if (killFailed === undefined) await native.pidfdPollExit(launched.pidfd);
          await stopUnit(s, unit.unit);
          if (killFailed !== undefined) throw killFailed;
        });
        cgroupDirs = dirsSystemdLeaves(layout, placement.created);
        store.writeSummary(summaryOf({ ...creating, cgroupDirs }));
        // systemd rewrote the v1 devices.* files when it realized the unit, from the unit's
        // DevicePolicy=strict + DeviceAllow (systemd-props.ts): the same rules, except those it
        // has no syntax for, which berth writes again here.
        const set = cgroupSetFor(layout, cgroupPath, []);
        if (set.v1.devices) resourceErrors(id, () => cgroups.apply({ mode: "legacy", v1: { devices: set.v1.devices! } }, { devices: spec.linux?.resources?.devices }, () => undefined));
      }
      if (plan.userns) {
        writeIdMap(id, launched.pid, "uid", plan.userns.uidMappings);
        writeIdMap(id, launched.pid, "gid", plan.userns.gidMappings);
        faultPoint("create", id, "write the id maps");
        native.syncSend(launched.syncFd, SYNC.ack);
      }
      // The plan's first op waits for this (plan.waitsForParent): the unit is up, the cgroups joined.
      if (plan.waitsForParent) native.syncSend(launched.syncFd, SYNC.ack);
      let msg = native.syncRecv(launched.syncFd);
      while (msg?.type === SYNC.seccompListener || msg?.type === SYNC.hooks || msg?.type === SYNC.terminal || msg?.type === SYNC.netDevices) {
        if (msg.type === SYNC.netDevices) {
          // berth-init is in its final network namespace: move linux.netDevices in.
          moveNetDevices(native, id, spec, launched.pid, undo);
          faultPoint("create", id, "move the network devices");
          native.syncSend(launched.syncFd, SYNC.ack);
        } else if (msg.type === SYNC.hooks) {
          // runtime.md steps 3-4: prestart (deprecated, still run), then createRuntime, on the
          // host; the first failure fails create (the undo destroys the container).
          const state = hookState("createRuntime", { spec, id, bundle: bundle.dir, pid: launched.pid });
          for (const kind of ["prestart", "createRuntime"] as const) {
            const failure = runHooks(planHooks(kind, spec.hooks, state), "stop");
            if (failure) throw hookError("create", id, failure);
          }
          faultPoint("create", id, "run the createRuntime hooks");
          native.syncSend(launched.syncFd, SYNC.ack, launched.pid);
        } else if (msg.type === SYNC.seccompListener) {
          deliverSeccompListener(rt, id, spec, bundle.dir, launched.pid, seccompListener, msg.fd);
          faultPoint("create", id, "send the seccomp listener");
          native.syncSend(launched.syncFd, SYNC.ack);
        } else {
          if (terminal) native.closeFd(terminal.fd);
          terminal = takeTerminal(rt, "create", id, msg, { consoleSocket, keep: opts.foreground === true });
          faultPoint("create", id, "take the terminal");
          native.syncSend(launched.syncFd, SYNC.ack);
        }
        msg = native.syncRecv(launched.syncFd);
      }
      if (msg?.fd !== undefined) native.closeFd(msg.fd);
      if (!msg) throw await notReadyError(rt, id, spec, launched, memory);
      if (msg.type === SYNC.error) throw initError(id, plan, msg);
      if (msg.type !== SYNC.ready) throw new BerthError({ op: "create", id, reason: `unexpected message ${msg.type} from berth-init`, internal: true });
      faultPoint("create", id, "berth-init ready");
    } finally {
      closeSyncFd();
    }

    const stat = procStat(launched.pid);
    if (!stat) throw await notReadyError(rt, id, spec, launched, memory);
    const record: ContainerRecord = {
      ...creating,
      status: "created",
      pidStartTime: stat.startTime,
      cgroupDirs,
      startHookOps: slots.startResult === undefined ? undefined : plan.ops.flatMap((o, i) => (o.op === "runHook" && o.origin.startsWith("hooks.startContainer") ? [i] : [])),
      userns: plan.userns,
    };
    store.write(record);
    faultPoint("create", id, "write state");
    if (opts.pidFile) {
      const pidFile = resolve(opts.pidFile);
      try {
        // Atomically (temp + rename), as runc does: engines poll for it, and must never read
        // an empty or partial pid. Not fsynced: the pid names a process no crash leaves alive,
        // so durability buys nothing here (atomic.ts).
        writeFileAtomic(pidFile, String(launched.pid), 0o644, PID_FILE_WRITE);
      } catch (err) {
        throw new BerthError({ op: "create", id, field: "--pid-file", value: opts.pidFile, reason: "write", errno: (err as NodeJS.ErrnoException).code ?? "EIO", cause: err });
      }
      undo.push(`remove ${pidFile}`, () => {
        if (existsSync(pidFile)) unlinkSync(pidFile);
      });
      faultPoint("create", id, "write the pid file");
    }
    closeSystemd();
    return { record, pidfd: launched.pidfd, terminal };
  } finally {
    closeParentFds();
  }
}

/** The directories of `placement` that were there already and that another berth container of this store made or shares. */
function sharedCgroupDirs(rt: Runtime, placement: CgroupPlacement): string[] {
  const existing = placement.dirs.filter((d) => !placement.created.includes(d));
  if (existing.length === 0) return [];
  const inUse = rt.store.cgroupDirsInUse();
  return existing.filter((d) => inUse.has(d));
}

/** The record without its config (state.json; config.json was written with the first record). */
function summaryOf(record: ContainerRecord): ContainerSummary {
  const { config: _config, ...summary } = record;
  return summary;
}
