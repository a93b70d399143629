/**
 * exec: run one more process inside a running container (runtime.md leaves exec to the
 * runtime; this follows runc). The process enters every namespace of the container's init,
 * is placed in its cgroups (or an existing sub-cgroup, --cgroup), and gets the container's
 * seccomp filter; what process.json leaves out (capabilities, rlimits, noNewPrivileges,
 * apparmorProfile) comes from the container's config, as in runc's libcontainer.
 *
 * The new process is this process's child: a foreground exec waits for it on its pidfd and
 * returns its status (128+n when killed by signal n), relaying signals; a detached one
 * returns as soon as it has exec'd, and is reparented to the caller's subreaper (conmon, the
 * shim) when berth exits. The container's lock is held only while the container is examined
 * and its namespaces opened: an exec into a paused container (--ignore-paused) stays frozen
 * until `resume`, which must be able to take the lock.
 */
import { closeSync, constants as fsConstants, openSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { join, resolve } from "node:path";
import {
  cgroupPathFor,
  detectCgroups,
  parseSubCgroups,
  resolveSubCgroup,
  SubCgroupError,
  v1MountPoints,
  type SubCgroups,
} from "../cgroups";
import { BerthError, problemsError, type Problem } from "../errors";
import {
  buildExecPlan,
  capabilityHostProblems,
  encodePlan,
  execJoins,
  execNamespaceOrder,
  nsProcName,
  SYNC,
  type HostFacts,
  type ExecPlan,
  type NamespaceFact,
} from "../plan";
import { capabilityNumbers, parseJson, validateProcess, type NamespaceType, type Process, type Spec } from "../spec";
import type { ContainerRecord } from "../state";
import { PID_FILE_WRITE, writeFileAtomic } from "../state";
import { capLastCap } from "./create";
import { deliverSeccompListener, prepareSeccomp, type PreparedSeccomp } from "./seccomp";
import { serveInit, takeOverUnannounced } from "./sync";
import { openInit } from "./kill";
import { readBoundedFile } from "./bundle";
import { isAlive, nsIdentity, pidOfPidfd } from "./proc";
import { killedOnAbort } from "./run";
import type { Runtime } from "./runtime";
import { liveStatus } from "./status";
import { reportWarnings } from "./warnings";
import { checkTerminalOptions, relayTerminal, takeTerminal, type ReceivedTerminal, type TerminalRelay } from "./console";
import { faultInitOps, faultPoint } from "../fault";

/** runc's argument form: overrides of the container's config.process. */
export interface ExecArgs {
  args: string[];
  cwd?: string;
  /** KEY=VALUE, appended to the config's env. */
  env?: string[];
  /** "uid[:gid]" */
  user?: string;
  additionalGids?: string[];
  /** Capability names, added to the bounding, effective and permitted sets. */
  caps?: string[];
  noNewPrivs?: boolean;
  apparmor?: string;
  processLabel?: string;
  tty?: boolean;
}

export interface ExecOptions {
  id: string;
  /** A process.json path (--process), resolved against the cwd. */
  processFile?: string;
  /** A process object (the library's form), validated as process.json is. */
  process?: unknown;
  /** The argument form; used when neither processFile nor process is given. */
  args?: ExecArgs;
  detach?: boolean;
  pidFile?: string;
  preserveFds?: number;
  /** --cgroup: "[<controller>[,<controller>]:]<path>", an existing sub-cgroup of the container's. */
  cgroup?: string[];
  ignorePaused?: boolean;
  /** Where the pty master goes when process.terminal is true and the exec is detached. */
  consoleSocket?: string;
  /**
   * With process.terminal and detach: the pty master comes back to the caller (Execed.terminal)
   * instead of going to a console socket (containerd's shim serves the terminal itself).
   */
  keepTerminal?: boolean;
  stdio?: [number, number, number];
  /** The library's cancel: an abort kills a foreground process (SIGKILL) and rejects with its reason. */
  signal?: AbortSignal;
}

export interface Execed {
  pid: number;
  /** The exit status (128+n for signal n); undefined for a detached exec. */
  exitCode?: number;
  /** The pty master, with detach, keepTerminal and process.terminal; the caller closes it. */
  terminal?: ReceivedTerminal;
}

const OP = "exec";

/** Signals a foreground exec passes on to the process instead of dying of them. */
const relayed = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT"] as const;

function parseId(id: string, text: string, field: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff)
    throw new BerthError({ op: OP, id, field, value: text, reason: "must be a numeric id" });
  return Number(text);
}

/**
 * The process from runc's flags: the container's config.process with the overrides applied.
 * A --cap name berth does not know is left out, with a warning pushed onto `warnings` (as runc
 * skips it with one).
 */
export function processFromArgs(id: string, config: Spec, a: ExecArgs, warnings: Problem[] = []): unknown {
  const base: Process = structuredClone(config.process ?? { user: { uid: 0, gid: 0 }, cwd: "/" });
  const p: Process = { ...base, args: a.args, terminal: a.tty === true };
  if (a.cwd) p.cwd = a.cwd;
  if (a.env?.length) p.env = [...(p.env ?? []), ...a.env];
  if (a.apparmor) p.apparmorProfile = a.apparmor;
  if (a.processLabel) p.selinuxLabel = a.processLabel;
  if (a.noNewPrivs !== undefined) p.noNewPrivileges = a.noNewPrivs;
  if (a.caps?.length) {
    const caps = { ...(p.capabilities ?? {}) };
    for (const c of a.caps) {
      const name = c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`;
      if (capabilityNumbers[name] === undefined) {
        warnings.push({ field: "--cap", value: c, reason: "unknown capability, skipped", severity: "warning" });
        continue;
      }
      caps.bounding = [...(caps.bounding ?? []), name];
      caps.effective = [...(caps.effective ?? []), name];
      caps.permitted = [...(caps.permitted ?? []), name];
      // As runc: ambient only when the config has an inheritable set (ambient needs it).
      if (caps.inheritable) caps.ambient = [...(caps.ambient ?? []), name];
    }
    p.capabilities = caps;
  }
  const user = { ...p.user };
  if (a.user) {
    const [u, g, ...rest] = a.user.split(":");
    if (rest.length || u === undefined || u === "")
      throw new BerthError({ op: OP, id, field: "--user", value: a.user, reason: "must be <uid>[:<gid>]" });
    user.uid = parseId(id, u, "--user");
    if (g !== undefined) user.gid = parseId(id, g, "--user");
  }
  if (a.additionalGids?.length) {
    const gids = a.additionalGids.flatMap((g) => g.split(",")).filter(Boolean);
    user.additionalGids = [...(user.additionalGids ?? []), ...gids.map((g) => parseId(id, g, "--additional-gids"))];
  }
  p.user = user;
  return p;
}

/** What process.json leaves out comes from the container's config (runc's libcontainer). */
function withContainerDefaults(p: Process, config: Spec): Process {
  const c = config.process;
  const out: Process = { ...p };
  if (!c) return out;
  if (out.capabilities === undefined && c.capabilities) out.capabilities = c.capabilities;
  if ((out.rlimits === undefined || out.rlimits.length === 0) && c.rlimits) out.rlimits = c.rlimits;
  if (out.noNewPrivileges === undefined && c.noNewPrivileges !== undefined) out.noNewPrivileges = c.noNewPrivileges;
  if (out.apparmorProfile === undefined && c.apparmorProfile) out.apparmorProfile = c.apparmorProfile;
  if (out.oomScoreAdj === undefined && c.oomScoreAdj !== undefined) out.oomScoreAdj = c.oomScoreAdj;
  return out;
}

/**
 * A process.json without `user` runs as uid 0, gid 0, as with runc (whose exec reads it into
 * a zero-valued struct). config.md makes user REQUIRED in config.json, where berth keeps the
 * error; a process.json is runc's own format, and engines write it without one.
 */
function withDefaultUser(data: unknown): unknown {
  if (data === null || typeof data !== "object" || Array.isArray(data) || "user" in data) return data;
  return { ...data, user: { uid: 0, gid: 0 } };
}

function loadProcess(rt: Runtime, opts: ExecOptions, record: ContainerRecord): Process {
  const { id } = opts;
  const warnings: Problem[] = [];
  let data: unknown;
  if (opts.processFile !== undefined) {
    const path = resolve(opts.processFile);
    const text = readBoundedFile(path, (reason, errno) => new BerthError({ op: OP, id, field: path, reason, errno }));
    const parsed = parseJson(text, path);
    if (!parsed.ok) throw problemsError(OP, id, [parsed.problem]);
    data = withDefaultUser(parsed.value);
  } else if (opts.process !== undefined) {
    data = withDefaultUser(opts.process);
  } else if (opts.args) {
    data = processFromArgs(id, record.config, opts.args, warnings);
  } else {
    throw new BerthError({ op: OP, id, reason: "no process given: pass --process FILE or a command" });
  }
  const result = validateProcess(data);
  if (!result.value) throw problemsError(OP, id, result.problems);
  const p = result.value;
  if (!p.args || p.args.length === 0) throw new BerthError({ op: OP, id, field: "process.args", reason: "must not be empty" });
  const proc = withContainerDefaults(p, record.config);
  // Unknown capability names (the schema's semantic warnings) and those this kernel lacks
  // are skipped with a warning, as at create; the plan leaves both out.
  reportWarnings(rt, OP, id, [...warnings, ...result.problems, ...capabilityHostProblems(proc, capLastCap())]);
  return proc;
}

/** `fn`, with a SubCgroupError (a --cgroup path that is absolute, has "..", or leaves the container's cgroup) as the flag's error. */
function asCgroupFlag<T>(id: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SubCgroupError) throw new BerthError({ op: OP, id, field: "--cgroup", value: err.value, reason: err.reason });
    throw err;
  }
}

/** One cgroup directory per hierarchy, for the process: the container's, or --cgroup's (inside it). */
export function execCgroupDirs(
  id: string,
  record: ContainerRecord,
  subs: SubCgroups = { byController: new Map() },
): { v1: string[]; unified?: string } {
  const layout = detectCgroups();
  const path = record.cgroupPath ?? cgroupPathFor(record.config.linux?.cgroupsPath, id);
  // --cgroup: a bare path is for every hierarchy; "cpu,memory:sub" for the named controllers.
  const { all, byController } = subs;
  const sub = (controllers: string[]) => {
    for (const c of controllers) if (byController.has(c)) return byController.get(c);
    return all;
  };
  const checked = (dir: string, s: { arg: string; path: string } | undefined): string =>
    s === undefined ? dir : asCgroupFlag(id, () => resolveSubCgroup(dir, s));
  const v1 = v1MountPoints(layout).map((mp) => {
    const h = layout.v1Hierarchies.find((x) => x.mountPoint === mp);
    const controllers = (h?.data ?? "").split(",").map((o) => o.replace(/^name=/, ""));
    return checked(join(mp, path), sub(controllers));
  });
  const unified = layout.v2Mount
    ? checked(join(layout.v2Mount, path), byController.size && layout.mode === "unified" ? sub([...byController.keys()]) : all)
    : undefined;
  return { v1, unified };
}

export async function exec(rt: Runtime, opts: ExecOptions): Promise<Execed> {
  opts.signal?.throwIfAborted();
  const { id } = opts;
  const { native } = rt;
  // --cgroup's form first: a path that could leave the container's cgroup is refused before
  // anything is looked at or opened.
  const subCgroups = asCgroupFlag(id, () => parseSubCgroups(opts.cgroup));
  // What must be decided while nobody changes the container: its status, the init's
  // namespaces (opened now: the fds hold them even if the init then dies).
  const parentFds: number[] = [];
  const closeParentFds = () => {
    for (const fd of parentFds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
  };
  try {
    const prepared = rt.store.withLock(OP, id, () => {
      const record = rt.store.read(OP, id);
      const status = liveStatus(rt.store, record);
      if (status === "stopped")
        throw new BerthError({ code: "container-not-running", op: OP, id, reason: "cannot exec in a stopped container" });
      if (status === "creating")
        throw new BerthError({ code: "container-state", op: OP, id, reason: "cannot exec in a container whose create has not finished" });
      if (status === "paused" && !opts.ignorePaused)
        throw new BerthError({
          code: "container-paused",
          op: OP,
          id,
          reason: "cannot exec in a paused container (use --ignore-paused to override)",
        });
      const proc = loadProcess(rt, opts, record);
      const initFd = openInit(rt, record);
      if (initFd === undefined)
        throw new BerthError({ code: "container-not-running", op: OP, id, reason: "cannot exec in a stopped container" });
      try {
        const facts: NamespaceFact[] = execNamespaceOrder.map((type) => ({
          type,
          container: nsIdentity(`/proc/${record.pid}/ns/${nsProcName[type]}`),
          own: nsIdentity(`/proc/self/ns/${nsProcName[type]}`),
        }));
        const joins = execJoins(facts);
        const nsFds: Partial<Record<NamespaceType, number>> = {};
        for (const type of joins) {
          const path = `/proc/${record.pid}/ns/${nsProcName[type]}`;
          try {
            nsFds[type] = openSync(path, fsConstants.O_RDONLY);
          } catch (err) {
            throw new BerthError({ op: OP, id, field: path, reason: "open", errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
          }
          parentFds.push(nsFds[type]!);
        }
        // The fds were opened by pid: make sure that pid was still the init afterwards.
        if (!isAlive(record.pid, record.pidStartTime))
          throw new BerthError({ code: "container-not-running", op: OP, id, reason: "cannot exec in a stopped container" });
        return { record, process: proc, joins, nsFds };
      } finally {
        native.closeFd(initFd);
      }
    });
    faultPoint(OP, id, "read state");
    return await launchExec(rt, opts, prepared, parentFds, subCgroups);
  } finally {
    closeParentFds();
  }
}

/**
 * The container stopped after exec let go of its lock (a `kill` or `delete --force` at the same
 * time): what then failed -- the open of its removed cgroup, clone3 into it (ENOENT), a clone
 * into the dead init's pid namespace (ENOMEM) -- is only the consequence. Say what the lock
 * would have said; otherwise the error itself.
 */
function orStopped(id: string, record: ContainerRecord, err: unknown): unknown {
  if (isAlive(record.pid, record.pidStartTime)) return err;
  return new BerthError({ op: OP, id, reason: "cannot exec in a stopped container" });
}

type Prepared = { record: ContainerRecord; process: Process; joins: NamespaceType[]; nsFds: Partial<Record<NamespaceType, number>> };
type Current = { pid: number; pidfd: number };

async function launchExec(
  rt: Runtime,
  opts: ExecOptions,
  prepared: Prepared,
  parentFds: number[],
  subCgroups: SubCgroups,
): Promise<Execed> {
  const { native } = rt;
  const { consoleSocket, facts } = checkExecHost(rt, opts, prepared.process);
  // The container's seccomp filter, compiled as create compiles it.
  const seccomp = prepareSeccomp(rt, OP, opts.id, prepared.record.config, prepared.record.bundle, facts.seccomp.flags, false);
  const planned = planExec(opts, prepared, subCgroups, seccomp, parentFds);
  const { current, terminal } = await launchAndServe(rt, opts, prepared, planned, seccomp, consoleSocket);
  if (opts.detach) {
    native.closeFd(current.pidfd);
    return terminal ? { pid: current.pid, terminal } : { pid: current.pid };
  }
  return waitForeground(rt, current, terminal, opts.signal);
}

/** The terminal options and what this host cannot give the process, refused before the launch. */
function checkExecHost(rt: Runtime, opts: ExecOptions, proc: Process): { consoleSocket?: string; facts: HostFacts } {
  const { id } = opts;
  const consoleSocket = checkTerminalOptions(OP, id, {
    terminal: proc.terminal === true,
    detach: opts.detach === true && !opts.keepTerminal,
    consoleSocket: opts.consoleSocket,
  });
  if (consoleSocket !== undefined && !rt.native.unixSendFd)
    throw new BerthError({
      op: OP,
      id,
      field: "--console-socket",
      value: opts.consoleSocket,
      reason: "sending the terminal is not available in this build of berth",
    });
  const facts = rt.hostFacts();
  if (proc.apparmorProfile && !facts.apparmor)
    throw new BerthError({
      op: OP,
      id,
      field: "process.apparmorProfile",
      value: proc.apparmorProfile,
      reason: "AppArmor is not enabled on this host",
    });
  if (proc.apparmorProfile)
    throw new BerthError({
      op: OP,
      id,
      field: "process.apparmorProfile",
      value: proc.apparmorProfile,
      reason: "AppArmor profiles are not supported by this build of berth",
    });
  if (proc.selinuxLabel && !facts.selinux)
    throw new BerthError({
      op: OP,
      id,
      field: "process.selinuxLabel",
      value: proc.selinuxLabel,
      reason: "SELinux is not enabled on this host",
    });
  if (proc.selinuxLabel)
    throw new BerthError({
      op: OP,
      id,
      field: "process.selinuxLabel",
      value: proc.selinuxLabel,
      reason: "SELinux labels are not supported by this build of berth",
    });
  return { consoleSocket, facts };
}

interface PlannedExec {
  plan: ExecPlan;
  fds: number[];
  /** The cgroup2 directory, open, when clone3 places the process in it. */
  cgroupFd?: number;
  /** Paused: the directories the parent moves berth-init into. */
  parentJoin: string[];
}

function planExec(
  opts: ExecOptions,
  prepared: Prepared,
  subCgroups: SubCgroups,
  prepSeccomp: PreparedSeccomp,
  parentFds: number[],
): PlannedExec {
  const { id } = opts;
  const { record, process: proc, joins } = prepared;
  const { seccomp } = prepSeccomp;
  // berth-init's fd layout: 0-2 stdio, then --preserve-fds. The namespace fds go to the
  // launch's child only (launch's join), which enters them before berth-init starts.
  const fds: number[] = [...(opts.stdio ?? [0, 1, 2])];
  for (let i = 0; i < (opts.preserveFds ?? 0); i++) fds.push(3 + i);
  // Sharing the host's mount namespace, the container's root is its init's root directory.
  const root = joins.includes("mount") ? undefined : `/proc/${record.pid}/root`;
  const dirs = execCgroupDirs(id, record, subCgroups);
  const paused = record.status === "paused";
  // clone3 places the process in the cgroup2 directory only when create made it; one that was
  // there before, or one made inside the container (exec --cgroup), may have had cgroup.kill
  // written, and Linux 6.18 kills whatever is cloned into such a cgroup (see joinCgroups).
  // Paused, nothing is cloned into the frozen cgroup: the parent moves berth-init in.
  const intoUnified = !paused && dirs.unified !== undefined && record.cgroupDirs.includes(dirs.unified);
  const unifiedCgroup = dirs.unified !== undefined && !intoUnified ? dirs.unified : undefined;
  const plan: ExecPlan = buildExecPlan({
    process: proc,
    joins,
    seccomp,
    capLastCap: capLastCap(),
    root,
    v1Cgroups: dirs.v1,
    unifiedCgroup,
    parentJoins: paused,
  });

  let cgroupFd: number | undefined;
  if (dirs.unified && intoUnified) {
    try {
      cgroupFd = openSync(dirs.unified, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    } catch (err) {
      throw orStopped(
        id,
        record,
        new BerthError({ op: OP, id, field: dirs.unified, reason: "open", errno: (err as NodeJS.ErrnoException).code ?? "EIO" }),
      );
    }
    parentFds.push(cgroupFd);
  }
  // Paused: every directory (nothing was cloned into the frozen cgroup2 one).
  return { plan, fds, cgroupFd, parentJoin: unifiedCgroup ? [...dirs.v1, unifiedCgroup] : dirs.v1 };
}

/**
 * Launch berth-init and serve it (container/sync.ts) until the process exec's; then the pid
 * file. On any failure the process (berth-init, or what it made) is killed and reaped.
 */
async function launchAndServe(
  rt: Runtime,
  opts: ExecOptions,
  prepared: Prepared,
  planned: PlannedExec,
  prepSeccomp: PreparedSeccomp,
  consoleSocket: string | undefined,
): Promise<{ current: Current; terminal?: ReceivedTerminal }> {
  const { id } = opts;
  const { native } = rt;
  const { record, nsFds } = prepared;
  const { plan } = planned;
  const join = plan.join.map((j) => ({ fd: nsFds[j.type]!, type: j.flag }));
  const faultOp = faultInitOps(plan.ops, () => OP);
  let launched: ReturnType<typeof native.launch>;
  try {
    launched = native.launch({
      initPath: native.berthInitPath(),
      plan: encodePlan(plan.ops),
      fds: planned.fds,
      cloneFlags: 0,
      cgroupFd: planned.cgroupFd,
      join,
      cgroupProcs: plan.cgroupProcs,
      faultOp,
    });
  } catch (err) {
    throw orStopped(id, record, err);
  }
  // berth-init, until forkIntoPidns hands over to the process it made in the pid namespace.
  let current: Current = { pid: launched.pid, pidfd: launched.pidfd };
  let ok = false;
  let terminal: ReceivedTerminal | undefined;
  try {
    try {
      faultPoint(OP, id, "launch berth-init");
      if (plan.waitsForParent) {
        try {
          rt.cgroups.joinCgroups({ dirs: planned.parentJoin, created: [] }, launched.pid, true);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          throw new BerthError({ op: OP, id, field: e.path, reason: "write", errno: e.code ?? "EIO" });
        }
        faultPoint(OP, id, "join cgroups");
        native.syncSend(launched.syncFd, SYNC.ack);
      }
      const end = serveInit(rt, OP, id, plan.ops, launched.syncFd, {
        seccompListener: (fd) => deliverSeccompListener(rt, id, record.config, record.bundle, launched.pid, prepSeccomp.listener, fd, OP),
        terminal: (msg) => {
          if (terminal) native.closeFd(terminal.fd);
          terminal = takeTerminal(rt, OP, id, msg, { consoleSocket, keep: !opts.detach || opts.keepTerminal === true });
        },
        pidfd: (pidfd) => {
          // berth-init exits once it has sent this (no ack): reap it, follow its child.
          native.waitpid(current.pid, false);
          native.closeFd(current.pidfd);
          current = { pid: pidOfPidfd(pidfd), pidfd };
        },
        initFailed: (err) => orStopped(id, record, err),
      });
      // The end of the socket without a word: the process exec'd (the socket is close-on-exec).
      if (end === "ready") throw new BerthError({ op: OP, id, reason: `unexpected message ${SYNC.ready} from berth-init`, internal: true });
      faultPoint(OP, id, "exec the process");
    } catch (err) {
      // Giving up before berth-init said which process it made in the pid namespace: it may
      // have made it already. Find out before anything is killed (killing berth-init between
      // its clone and its message would leave that process running, unseen).
      current = await takeOverUnannounced(
        rt,
        launched,
        current,
        plan.ops.some((o) => o.op === "forkIntoPidns"),
      );
      throw err;
    } finally {
      native.closeFd(launched.syncFd);
    }
    if (opts.pidFile) {
      // A pid file that cannot be written fails the exec, and the process is killed (below),
      // as runc does: whoever asked for the file cannot otherwise find the process.
      try {
        writeFileAtomic(resolve(opts.pidFile), String(current.pid), 0o644, PID_FILE_WRITE);
      } catch (err) {
        throw new BerthError({
          op: OP,
          id,
          field: "--pid-file",
          value: opts.pidFile,
          reason: "write",
          errno: (err as NodeJS.ErrnoException).code ?? "EIO",
          cause: err,
        });
      }
      faultPoint(OP, id, "write the pid file");
    }
    ok = true;
  } finally {
    if (!ok) {
      if (terminal) native.closeFd(terminal.fd);
      try {
        native.pidfdSendSignal(current.pidfd, 9);
      } catch {
        /* already gone */
      }
      await native.waitExit(current.pidfd).catch(() => undefined);
      native.closeFd(current.pidfd);
    }
  }

  return { current, terminal };
}

/** A foreground exec: relay signals (and the terminal) until the process exits; its status. */
async function waitForeground(
  rt: Runtime,
  current: Current,
  terminal: ReceivedTerminal | undefined,
  signal: AbortSignal | undefined,
): Promise<Execed> {
  const { native } = rt;
  // A terminal: relay it (console.ts); window size changes go to the pty, not as a signal.
  const relay: TerminalRelay | undefined = terminal ? relayTerminal(native, terminal) : undefined;
  const handlers = relayed
    .filter((name) => !(relay && name === "SIGWINCH"))
    .map((name) => {
      const handler = () => {
        try {
          native.pidfdSendSignal(current.pidfd, osConstants.signals[name]);
        } catch {
          /* it has exited */
        }
      };
      process.on(name, handler);
      return () => process.off(name, handler);
    });
  try {
    const status = await killedOnAbort(rt, current.pidfd, signal, () => native.waitExit(current.pidfd));
    // The last output is in the master once every copy of the slave is closed (EIO). A
    // process the exec left behind in the background keeps it open, and the relay with it,
    // as a terminal session does.
    if (relay) await relay.drained;
    return { pid: current.pid, exitCode: status.exitCode ?? 128 + (status.signal ?? 0) };
  } finally {
    relay?.close();
    for (const off of handlers) off();
    native.closeFd(current.pidfd);
  }
}
