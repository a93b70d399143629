/**
 * Process + the running container's facts -> the plan of `exec`: a new process that enters
 * every namespace of the container's init, sits in its cgroups, and then becomes the user's
 * process with the same ops `create` uses for the init; the namespaces are entered by the
 * launch before berth-init starts (docs/security.md, CVE-2016-9962). Pure, like buildPlan.
 *
 * Who does what, and why in this order (CVE-2016-9962: nothing of berth may be seen in the
 * container's pid namespace, where a process with CAP_SYS_PTRACE could reach its root, fds
 * and memory whatever its dumpable flag says):
 *   - the launch's child writes itself into the container's cgroups (`cgroupProcs`; clone3
 *     places it in a cgroup2 directory create made), then joins the namespaces (`join`): user
 *     first (it owns the others: setns into them needs CAP_SYS_ADMIN there), ipc, uts,
 *     network, cgroup, time, mount (setns makes the namespace's root our root and cwd: the
 *     host's / is gone), and pid last, which applies to children only; then it execs
 *     berth-init, which so runs outside the container's pid namespace;
 *   - a paused container instead: its frozen cgroups would freeze the child before it could
 *     join anything, so the parent moves berth-init in and the plan's first op waits for it;
 *   - berth-init sets the process attributes in create's order: oom_score_adj and rlimits
 *     (raising a hard limit needs CAP_SYS_RESOURCE, so before the caps drop), seccomp where
 *     create puts it, the user and capabilities, umask, chdir as the user, check the program,
 *     no_new_privs, seccomp (with no_new_privs) last;
 *   - forkIntoPidns: only now a child appears in the container's pid namespace, with every
 *     attribute above already its own, takes the terminal (a session is its leader's) and
 *     execs. A tracer inside can reach nothing that is not the user's process already.
 * No `ready`/`waitStart`: an exec'd process starts at once. Success is the end of the sync
 * socket (close-on-exec closes it at the execve); a failing op reports its index as in create.
 */
import type { NamespaceType, Process } from "../spec";
import { DEFAULT_PATH, namespaceFlags, planCredentials, planProcessLimits, planTerminal } from "./build";
import type { PlanOp } from "./encode";

/** The order namespaces are entered in (the pid namespace last: it is a second clone's). */
export const execNamespaceOrder: readonly NamespaceType[] = ["user", "ipc", "uts", "network", "cgroup", "time", "mount", "pid"];

/** /proc/<pid>/ns/<name> for each namespace type. */
export const nsProcName: Record<NamespaceType, string> = {
  user: "user",
  pid: "pid",
  ipc: "ipc",
  uts: "uts",
  network: "net",
  cgroup: "cgroup",
  time: "time",
  mount: "mnt",
};

/** A namespace of the container's init and of the caller, as (dev, inode) identities. */
export interface NamespaceFact {
  type: NamespaceType;
  /** "dev:ino" of /proc/<init>/ns/<name>; undefined when this kernel has no such namespace. */
  container?: string;
  /** "dev:ino" of /proc/self/ns/<name>. */
  own?: string;
}

/**
 * The namespaces to enter, in order: each of the init's that is not already ours. (Joining
 * one's own user namespace is EINVAL; the others would be no-ops.) A container that shares a
 * namespace with the host leaves it out.
 */
export function execJoins(facts: readonly NamespaceFact[]): NamespaceType[] {
  const byType = new Map(facts.map((f) => [f.type, f]));
  return execNamespaceOrder.filter((t) => {
    const f = byType.get(t);
    return f?.container !== undefined && f.container !== f.own;
  });
}

export interface ExecPlanInput {
  process: Process;
  /** The namespaces to enter (from execJoins), in execNamespaceOrder. */
  joins: readonly NamespaceType[];
  /** The container's linux.seccomp compiled to BPF, as for create. */
  seccomp?: { bpf: Uint8Array; flags: number; listener?: boolean };
  /** Highest capability number the kernel knows. */
  capLastCap: number;
  /**
   * Where to chroot when the mount namespace is not entered (a container that shares the
   * host's): /proc/<init>/root, the container's root directory.
   */
  root?: string;
  /** The container's v1 cgroup directories (clone3 places the process in the cgroup2 one). */
  v1Cgroups: readonly string[];
  /**
   * The cgroup2 directory when clone3 cannot place the process there: create did not make it
   * (see joinCgroups in src/cgroups/placement.ts). The process joins it through cgroup.procs.
   */
  unifiedCgroup?: string;
  /**
   * The parent moves the process into those cgroups (v1Cgroups, unifiedCgroup): the container
   * is paused, and in its frozen cgroups the launch's child would freeze before it entered.
   */
  parentJoins?: boolean;
}

export interface ExecPlan {
  /** berth-init's ops, once it runs inside every namespace. */
  ops: PlanOp[];
  /** What the launch's child enters, in this order (launch's `join`, with the fds added). */
  join: { type: NamespaceType; flag: number }[];
  /** The cgroup files the launch's child writes itself into before joining (launch's cgroupProcs). */
  cgroupProcs: string[];
  /** The first op waits for the parent, which moves the process into its cgroups, then acks. */
  waitsForParent: boolean;
}

export function buildExecPlan(input: ExecPlanInput): ExecPlan {
  const proc = input.process;
  const ops: PlanOp[] = [];
  const add = (op: PlanOp["op"], args: PlanOp["args"], origin: string) => ops.push({ op, args, origin });

  const waitsForParent = input.parentJoins === true;
  const cgroupProcs: string[] = [];
  if (waitsForParent) add("waitParent", [], "(runtime: cgroup placement)");
  else {
    for (const dir of input.v1Cgroups) cgroupProcs.push(`${dir}/tasks`);
    if (input.unifiedCgroup) cgroupProcs.push(`${input.unifiedCgroup}/cgroup.procs`);
  }
  const join = execNamespaceOrder.filter((t) => input.joins.includes(t)).map((type) => ({ type, flag: namespaceFlags[type] }));

  if (input.root) add("chroot", [input.root], "(container: root directory)");

  // The terminal once in the container's mount namespace (its /dev/ptmx), while still root.
  // It becomes the controlling terminal of the process that execs: a session's leader must
  // outlive the session, and berth-init exits at forkIntoPidns.
  const forks = input.joins.includes("pid");
  if (proc.terminal) {
    planTerminal(add, proc);
    if (!forks) add("setCtty", [], "process.terminal");
  }

  planProcessLimits(add, proc);

  const loadSeccomp = () => {
    if (!input.seccomp) return;
    add("seccompLoad", [input.seccomp.bpf, input.seccomp.flags], "linux.seccomp");
    if (input.seccomp.listener) add("seccompListener", [], "linux.seccomp.listenerPath");
  };
  if (!proc.noNewPrivileges) loadSeccomp();

  planCredentials(add, proc, input.capLastCap);

  const env = proc.env ?? [];
  const pathEntry = env.find((e) => e.startsWith("PATH="));
  const args = proc.args ?? [];
  add("checkExec", [args[0] ?? "", pathEntry ? pathEntry.slice(5) : DEFAULT_PATH], "process.args[0]");
  if (proc.noNewPrivileges) add("noNewPrivs", [], "process.noNewPrivileges");
  if (proc.noNewPrivileges) loadSeccomp();
  if (forks) {
    add("forkIntoPidns", [], "(container: pid namespace)");
    if (proc.terminal) add("setCtty", [], "process.terminal");
  }
  add("exec", [args[0] ?? "", args, pathEntry ? env : [...env, `PATH=${DEFAULT_PATH}`]], "process.args");

  return { ops, join, cgroupProcs, waitsForParent };
}
