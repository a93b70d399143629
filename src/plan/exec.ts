/**
 * Process + the running container's facts -> the plan of `exec`: a new process that enters
 * every namespace of the container's init, sits in its cgroups, and then becomes the user's
 * process with the same ops `create` uses for the init (ARCHITECTURE.md §2: "exec into a
 * running container uses the same plan ops, prefixed by setns"). Pure, like buildPlan.
 *
 * Who does what, and why in this order:
 *   - the user namespace is entered by the launch itself (launch's usernsFd), before anything
 *     else: every other namespace is owned by it, and setns into them needs CAP_SYS_ADMIN
 *     there, which the launch's child gets by joining it;
 *   - the pid namespace applies only to children: the parent joins it around clone3
 *     (launch's pidnsFd), so the new process is born inside it, with a pid there;
 *   - the cgroup2 placement is CLONE_INTO_CGROUP in the launch; v1 hierarchies are written
 *     by the parent right after the clone, so the plan's first op waits for the parent's ack
 *     (nothing of ours runs, let alone the user's program, outside the container's cgroups);
 *   - then setns for ipc, uts, network, cgroup (after the cgroup placement: a cgroup
 *     namespace is rooted where the process is when it joins), time, and the mount namespace
 *     last: after it, paths name the container's files (chdir, the program), and nothing
 *     before it needs the host's;
 *   - then the process attributes in create's order: oom_score_adj and rlimits (raising a
 *     hard limit needs CAP_SYS_RESOURCE, so before the caps drop), seccomp where create puts
 *     it, the user and capabilities, umask, chdir as the user, check the program, no_new_privs,
 *     seccomp (with no_new_privs) last, exec.
 * No `ready`/`waitStart`: an exec'd process starts at once. Success is the end of the sync
 * socket (close-on-exec closes it at the execve); a failing op reports its index as in create.
 */
import type { NamespaceType, Process } from "../spec";
import { DEFAULT_PATH, namespaceFlags, planCredentials, planProcessLimits, planTerminal } from "./build";
import type { PlanOp } from "./encode";

/** The order namespaces are entered in (user and pid are the launch's; see above). */
export const execNamespaceOrder: readonly NamespaceType[] = ["user", "pid", "ipc", "uts", "network", "cgroup", "time", "mount"];

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
  /** The namespaces to enter (from execJoins) and the child fd of each (all but user, pid). */
  joins: readonly NamespaceType[];
  fds: Partial<Record<NamespaceType, number>>;
  /** The container's linux.seccomp compiled to BPF, as for create. */
  seccomp?: { bpf: Uint8Array; flags: number; listener?: boolean };
  /** Highest capability number the kernel knows. */
  capLastCap: number;
  /**
   * Where to chroot when the mount namespace is not entered (a container that shares the
   * host's): /proc/<init>/root, the container's root directory.
   */
  root?: string;
  /**
   * The container's v1 cgroup directories (clone3 places the process in the cgroup2 one). The
   * process moves itself into them first of all (joinCgroup, see native/init/op-cgroups.cc),
   * unless `parentJoins`: then the parent moves it while it waits.
   */
  v1Cgroups: readonly string[];
  /**
   * The cgroup2 directory when clone3 cannot place the process there: create did not make it
   * (see joinCgroups in src/cgroups/placement.ts). The process joins it through cgroup.procs.
   */
  unifiedCgroup?: string;
  /**
   * The parent moves the process into those cgroups (v1Cgroups, unifiedCgroup): it enters a
   * user namespace (whose processes may not write the host's cgroup files), or the container is
   * paused (in its frozen cgroup2 directory the process could not move itself until the thaw).
   */
  parentJoins?: boolean;
}

export interface ExecPlan {
  ops: PlanOp[];
  /** Where the launch's special namespaces come from (usernsFd, pidnsFd). */
  joinUser: boolean;
  joinPid: boolean;
  /** The first op waits for the parent, which moves the process into its cgroups, then acks. */
  waitsForParent: boolean;
}

export function buildExecPlan(input: ExecPlanInput): ExecPlan {
  const proc = input.process;
  const ops: PlanOp[] = [];
  const add = (op: PlanOp["op"], args: PlanOp["args"], origin: string) => ops.push({ op, args, origin });

  const waitsForParent = input.parentJoins === true || input.joins.includes("user");
  if (waitsForParent) add("waitParent", [], "(runtime: cgroup placement)");
  else {
    for (const dir of input.v1Cgroups) add("joinCgroup", [`${dir}/tasks`], "(container: cgroups)");
    if (input.unifiedCgroup) add("joinCgroup", [`${input.unifiedCgroup}/cgroup.procs`], "(container: cgroups)");
  }
  for (const type of input.joins) {
    if (type === "user" || type === "pid") continue;
    const fd = input.fds[type];
    if (fd === undefined) throw new Error(`buildExecPlan: no fd for the ${type} namespace`);
    add("setns", [fd, namespaceFlags[type]], `(container: ${type} namespace)`);
  }

  if (input.root) add("chroot", [input.root], "(container: root directory)");

  // The terminal once in the container's mount namespace (its /dev/ptmx), while still root.
  if (proc.terminal) {
    planTerminal(add, proc);
    add("setCtty", [], "process.terminal");
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
  add("exec", [args[0] ?? "", args, pathEntry ? env : [...env, `PATH=${DEFAULT_PATH}`]], "process.args");

  return { ops, joinUser: input.joins.includes("user"), joinPid: input.joins.includes("pid"), waitsForParent };
}
