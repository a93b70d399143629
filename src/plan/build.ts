/**
 * Spec + host facts -> LaunchPlan: the ordered system calls berth-init makes to turn a fresh
 * process into the container's init, each carrying the config field it came from. Pure: the
 * facts it needs (is this bind source a file? which cgroup hierarchies exist?) come in as data.
 * A plan reads like its strace; `berth check --explain` prints it.
 *
 * The order, and why:
 *   1. (a new user namespace gets its uid/gid maps from the parent before berth-init runs);
 *   2. join namespaces given by path; then the parent moves linux.netDevices in;
 *   3. stop mount events reaching the host (/ rslave, or per rootfsPropagation), bind the
 *      rootfs onto itself (pivot_root needs a mount point), then the config's mounts in order,
 *      devices and /dev symlinks, all resolved inside the rootfs (proc and sysfs on a real
 *      directory, through no symlink);
 *   4. pivot_root (or, with --no-pivot, the host's procfs and sysfs mounts detached, then
 *      move + chroot);
 *   5. hostname, sysctls, then masked and read-only paths (after sysctls: /proc/sys is
 *      read-only by default), then the read-only root, then linux.rootfsPropagation on the
 *      new "/" (last: an unbindable mount could not be bound for a masked path);
 *   6. process attributes that need privilege: oom_score_adj, rlimits (raising a hard limit
 *      needs CAP_SYS_RESOURCE), personality;
 *   7. the user and capabilities: bounding set, keep caps across setuid, groups, gid, uid,
 *      then the capability sets and ambient set; umask; chdir (as the user, who must be able
 *      to reach it); check the program exists (fail at create, as runc does);
 *   8. no_new_privs and seccomp last (a filter must not see berth-init's own setup; without
 *      no_new_privs, loading one needs CAP_SYS_ADMIN, so then it goes before the caps drop);
 *   9. ready, wait for start, exec.
 */
import { mountKind, type IdMapping, type Mount, type NamespaceType, type Process, type Spec } from "../spec";
import { capabilityNumbers, rlimitNumbers } from "../spec";
import type { PlanOp } from "./encode";
import { flagOptions, MOUNT_ATTR, MS, propagationOptions, recursiveOptions } from "./mount-options";

export const CLONE = {
  NEWTIME: 0x00000080,
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const namespaceFlags: Record<NamespaceType, number> = {
  time: CLONE.NEWTIME,
  mount: CLONE.NEWNS,
  cgroup: CLONE.NEWCGROUP,
  uts: CLONE.NEWUTS,
  ipc: CLONE.NEWIPC,
  user: CLONE.NEWUSER,
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
};

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** config-linux.md "Default Devices". */
export const defaultDevices = [
  { path: "/dev/null", major: 1, minor: 3 },
  { path: "/dev/zero", major: 1, minor: 5 },
  { path: "/dev/full", major: 1, minor: 7 },
  { path: "/dev/random", major: 1, minor: 8 },
  { path: "/dev/urandom", major: 1, minor: 9 },
  { path: "/dev/tty", major: 5, minor: 0 },
] as const;

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const DEFAULT_DEVICES = "(default devices)";

/** A v1 cgroup hierarchy as mounted on the host: its directory name and mount options. */
export interface CgroupHierarchy {
  /** e.g. "cpu,cpuacct" (the basename of its mount point) */
  name: string;
  /** where it is mounted on the host, e.g. /sys/fs/cgroup/cpu,cpuacct */
  mountPoint: string;
  /** controllers and named options to mount it with, e.g. "cpu,cpuacct" or "none,name=systemd" */
  data: string;
}

export interface PlanInput {
  spec: Spec;
  /** Absolute host path of the root filesystem. */
  rootfs: string;
  /** Absolute bundle directory (relative bind sources resolve against it, as in runc). */
  bundle: string;
  noPivot?: boolean;
  /** Child fd numbers of what the parent passes: the exec fifo and joined namespaces. */
  fds: {
    fifo: number;
    namespaces: Partial<Record<NamespaceType, number>>;
    /** mount index -> child fd of the detached, idmapped tree the parent made for it. */
    idmapped?: Record<number, number>;
    /**
     * mount index -> child fd of a bind source the parent opened (hostOpenedBinds), and the MS_*
     * flags its mount has (nosuid, nodev, noexec, atime): a bind made inside the user namespace
     * could not clear them (locked), so a remount of the tree keeps them too.
     */
    bindTrees?: Record<number, { fd: number; flags: number }>;
    /** The start-result fifo (opened O_RDWR by the parent): with startContainer hooks. */
    startResult?: number;
  };
  /** For bind mounts: whether mounts[i].source is a regular file (create a file to mount on). */
  bindSourceIsFile: (index: number) => boolean;
  /** For bind mounts: whether mounts[i].source is on a procfs (only such a bind may go on /proc). Absent: none is. */
  bindSourceIsProcfs?: (index: number) => boolean;
  /**
   * The host's cgroup layout and the container's cgroup path: where the process joins its
   * cgroups, and what "cgroup" mounts show. `intoUnified`: clone3 places the process in the
   * cgroup2 directory (CLONE_INTO_CGROUP; not into one that existed before create, see
   * cgroups/placement.ts), so only the v1 hierarchies are left to join.
   */
  cgroup: {
    mode: "unified" | "hybrid" | "legacy" | "none";
    hierarchies: CgroupHierarchy[];
    v2Mount?: string;
    path: string;
    intoUnified?: boolean;
  };
  /**
   * --systemd-cgroup: the first op waits for the parent, which acks once systemd has started the
   * container's scope unit. Starting it makes systemd write the unit's settings into the
   * cgroup, the v1 device rules from deny-all up; no op (a mknod, an open) may run meanwhile.
   */
  systemdCgroup?: boolean;
  /** Whether the host has SELinux (linux.mountLabel is applied only then). */
  selinux?: boolean;
  /** The session keyring to join ("_ses.<id>"); absent with --no-new-keyring. */
  sessionKeyring?: string;
  /** Highest capability number the kernel knows. */
  capLastCap: number;
  /**
   * linux.seccomp compiled to BPF (by the addon, with libseccomp), and seccomp(2) flags.
   * `listener`: the load yields a listener fd (SCMP_ACT_NOTIFY), handed to the parent for
   * linux.seccomp.listenerPath right after the load.
   */
  seccomp?: { bpf: Uint8Array; flags: number; listener?: boolean };
  /** The container's id, for the state JSON on the stdin of the hooks berth-init runs. */
  id?: string;
  /**
   * NOTIFY_SOCKET of the caller (a host path): bound at /run/notify/notify.sock in the
   * container, whose process gets NOTIFY_SOCKET pointing there.
   */
  notifySocket?: string;
  /** "KEY=value" entries set in the process's environment (replacing the same keys). */
  extraEnv?: string[];
}

/** Where the caller's NOTIFY_SOCKET appears inside the container (runc's path). */
export const NOTIFY_SOCKET_IN_CONTAINER = "/run/notify/notify.sock";

export interface LaunchPlan {
  ops: PlanOp[];
  /** CLONE_NEW* flags for the namespaces clone3 creates. */
  cloneFlags: number;
  /** Namespaces joined by path (the parent opens them; pid is joined before clone). */
  joins: { type: NamespaceType; path: string; origin: string }[];
  /** A new user namespace: the parent writes these maps, then acks the launch (see launch.cc). */
  userns?: { uidMappings: IdMapping[]; gidMappings: IdMapping[] };
  /**
   * Who moves the process into the cgroups clone3 did not place it in: "child" (the plan's
   * joinCgroup ops) or "parent" (create writes its pid into each cgroup.procs; a process in a
   * new user namespace may not write the host's cgroup files).
   */
  cgroupJoin: "child" | "parent";
  /** The first op waits for the parent's ack, sent once the cgroups (and the systemd unit) are in place. */
  waitsForParent: boolean;
}

function containerPath(dest: string): string {
  // config.md: a relative destination is relative to "/" (deprecated).
  const abs = dest.startsWith("/") ? dest : `/${dest}`;
  return abs.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
}

function resolveHostPath(bundle: string, p: string): string {
  return p.startsWith("/") ? p : `${bundle.replace(/\/$/, "")}/${p}`;
}

interface ParsedOptions {
  flags: number;
  data: string[];
  propagation: number[];
  recSet: number;
  recClr: number;
  bind: boolean;
  recursive: boolean;
  /** "idmap" or "ridmap" when the options ask for an idmapped mount. */
  idmap?: "idmap" | "ridmap";
}

/** Mount options -> mount(2) flags, data, propagation and mount_setattr(2) attributes. */
export function parseMountOptions(options: readonly string[] = [], type?: string): ParsedOptions {
  const kind = mountKind({ type, options });
  const out: ParsedOptions = {
    flags: 0,
    data: [],
    propagation: [],
    recSet: 0,
    recClr: 0,
    bind: kind.bind,
    recursive: kind.recursive,
    idmap: kind.idmapOption,
  };
  for (const opt of options) {
    const flag = flagOptions[opt];
    if (flag) {
      const [clear, bit] = flag;
      if (clear) out.flags &= ~bit;
      else out.flags |= bit;
      continue;
    }
    const prop = propagationOptions[opt];
    if (prop !== undefined) {
      out.propagation.push(prop);
      continue;
    }
    const rec = recursiveOptions[opt];
    if (rec) {
      const [clear, attr] = rec;
      if (attr === MOUNT_ATTR.RELATIME || attr === MOUNT_ATTR.NOATIME || attr === MOUNT_ATTR.STRICTATIME) {
        // The atime mode is one field of mount_setattr(2): setting it needs the whole field
        // in attr_clr (EINVAL otherwise). Clearing a mode ("ratime", "rnostrictatime") falls
        // back to the kernel's default, relatime, as mount(2) does without an atime flag.
        out.recClr |= MOUNT_ATTR._ATIME;
        out.recSet = (out.recSet & ~MOUNT_ATTR._ATIME) | (clear ? MOUNT_ATTR.RELATIME : attr);
        continue;
      }
      if (clear) {
        out.recClr |= attr;
        out.recSet &= ~attr;
      } else {
        out.recSet |= attr;
        out.recClr &= ~attr;
      }
      continue;
    }
    if (opt === "idmap" || opt === "ridmap") continue;
    if (opt === "tmpcopyup" || opt === "copy-symlink") continue;
    out.data.push(opt);
  }
  return out;
}

export class PlanError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

function capMask(names: readonly string[] | undefined, lastCap: number): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const n = capabilityNumbers[name];
    if (n !== undefined && n <= lastCap) mask |= 1n << BigInt(n);
  }
  return mask;
}

/** oom_score_adj and rlimits (raising a hard limit needs CAP_SYS_RESOURCE: before the caps drop). */
export function planProcessLimits(add: Add, proc: Process): void {
  if (proc.oomScoreAdj !== undefined) add("oomScoreAdj", [proc.oomScoreAdj], "process.oomScoreAdj");
  (proc.rlimits ?? []).forEach((r, i) => {
    const max = (n: number) => (n >= 2 ** 63 - 1 || n === -1 ? -1 : n);
    add("setrlimit", [rlimitNumbers[r.type]!, max(r.soft), max(r.hard)], `process.rlimits[${i}]`);
  });
}

/**
 * The user and capabilities, for create and exec alike: bounding set, keep caps across
 * setuid, groups, gid, uid, then the capability sets and the ambient set; umask; chdir (as the
 * user, who must be able to reach it).
 */
export function planCredentials(add: Add, proc: Process, lastCap: number): void {
  const caps = proc.capabilities ?? {};
  // process.cwd is entered twice, as runc does: now, with our privileges (a directory only the
  // runtime may search), and, if that was refused, again as the user (one only the user may
  // enter, with no CAP_DAC_OVERRIDE in the container's set, or in a user namespace).
  add("chdirEarly", [proc.cwd], "process.cwd");
  add("capBounding", [capMask(caps.bounding, lastCap)], "process.capabilities.bounding");
  add("keepCaps", [], "process.user");
  add("setgroups", [proc.user.additionalGids ?? []], "process.user.additionalGids");
  add("setresgid", [proc.user.gid], "process.user.gid");
  add("setresuid", [proc.user.uid], "process.user.uid");
  add(
    "capset",
    [capMask(caps.effective, lastCap), capMask(caps.permitted, lastCap), capMask(caps.inheritable, lastCap)],
    "process.capabilities",
  );
  // The kernel raises an ambient capability only if it is permitted and inheritable
  // (prctl(2) PR_CAP_AMBIENT_RAISE: EPERM otherwise). runc skips the others silently, and its
  // default spec depends on that (ambient without inheritable); berth does the same, and
  // `berth check` warns about them.
  const ambient = capMask(caps.ambient, lastCap) & capMask(caps.inheritable, lastCap) & capMask(caps.permitted, lastCap);
  if (ambient) add("capAmbient", [ambient], "process.capabilities.ambient");
  add("umask", [proc.user.umask ?? 0o022], "process.user.umask");
  add("chdir", [proc.cwd], "process.cwd");
}

export function buildPlan(input: PlanInput): LaunchPlan {
  const { spec, rootfs } = input;
  const linux = spec.linux ?? {};
  const proc = spec.process;
  if (!proc) throw new PlanError("process", undefined, "is required to create a container");
  const ops: PlanOp[] = [];
  const add = (op: PlanOp["op"], args: PlanOp["args"], origin: string) => ops.push({ op, args, origin });

  // --- namespaces
  let cloneFlags = 0;
  const joins: LaunchPlan["joins"] = [];
  let newTime: string | undefined;
  (linux.namespaces ?? []).forEach((ns, i) => {
    if (ns.path) joins.push({ type: ns.type, path: ns.path, origin: `linux.namespaces[${i}]` });
    // A new time namespace is unshared by berth-init (see unshareTime), not cloned.
    else if (ns.type === "time") newTime = `linux.namespaces[${i}]`;
    else cloneFlags |= namespaceFlags[ns.type];
  });
  // Without a mount namespace of its own (runc and crun allow this, and the runtime-tools suite
  // expects it) the container's mounts are made in the host's mount namespace, under the
  // rootfs, where the host sees them until `delete` unmounts them; the process enters its root
  // with chroot(2). What would change the host's own mounts is refused, as is what only a
  // private mount table can give (runc refuses masked and read-only paths the same way).
  const hasMountNs = (linux.namespaces ?? []).some((n) => n.type === "mount");
  if (!hasMountNs) {
    const needsMountNs = (field: string, value: unknown, what: string): never => {
      throw new PlanError(field, value, `needs a mount namespace (add {"type": "mount"} to linux.namespaces): ${what}`);
    };
    if (linux.maskedPaths?.length) needsMountNs("linux.maskedPaths", undefined, "a path masked in the host's mounts would protect nothing");
    if (linux.readonlyPaths?.length)
      needsMountNs("linux.readonlyPaths", undefined, "a path made read-only in the host's mounts would protect nothing");
    if (spec.root?.readonly) needsMountNs("root.readonly", true, "the rootfs would be remounted read-only for the host too");
    if (linux.rootfsPropagation)
      needsMountNs("linux.rootfsPropagation", linux.rootfsPropagation, "it would change the propagation of the host's own mounts");
    if (input.noPivot) needsMountNs("--no-pivot", undefined, 'it moves the rootfs over the host\'s "/"');
  }

  let userns: LaunchPlan["userns"];
  if (cloneFlags & CLONE.NEWUSER) {
    // The parent writes the maps before berth-init even starts (the launch waits for them:
    // an exec without a mapped uid would drop every capability), so no op waits here.
    userns = { uidMappings: linux.uidMappings ?? [], gidMappings: linux.gidMappings ?? [] };
  }
  // --- cgroups: before anything else the process does (see native/init/op-cgroups.cc).
  const { cgroup } = input;
  const v1Dirs =
    cgroup.path && (cgroup.mode === "legacy" || cgroup.mode === "hybrid")
      ? cgroup.hierarchies.map((h) => `${h.mountPoint}${cgroup.path}`)
      : [];
  const unifiedDir = cgroup.path && cgroup.v2Mount && !cgroup.intoUnified ? `${cgroup.v2Mount}${cgroup.path}` : undefined;
  // Only a process of the host's user namespace may write the host's cgroup files; with
  // --systemd-cgroup the parent joins it before it hands the process to systemd.
  const cgroupJoin = !input.systemdCgroup && !(cloneFlags & CLONE.NEWUSER) && !joins.some((j) => j.type === "user") ? "child" : "parent";
  // A new cgroup namespace is rooted where the process is when it is made: cloned, it would be
  // rooted at the caller's v1 cgroups (and at /../../berth/<id> for them inside).
  const cgroupnsAt = (linux.namespaces ?? []).findIndex((n) => n.type === "cgroup" && !n.path);
  const lateCgroupns = cgroupnsAt >= 0 && (v1Dirs.length > 0 || unifiedDir !== undefined);
  if (lateCgroupns) cloneFlags &= ~CLONE.NEWCGROUP;
  // The parent's joins are done before berth-init runs when it writes the uid/gid maps first
  // (the launch waits for those); otherwise, when the namespace waits for them, it acks.
  const waitsForParent = input.systemdCgroup === true || (lateCgroupns && cgroupJoin === "parent" && !(cloneFlags & CLONE.NEWUSER));
  if (waitsForParent) add("waitParent", [], input.systemdCgroup ? "(runtime: --systemd-cgroup scope unit)" : "(runtime: cgroups joined)");
  if (cgroupJoin === "child") {
    for (const dir of v1Dirs) add("joinCgroup", [`${dir}/tasks`], "linux.cgroupsPath");
    if (unifiedDir) add("joinCgroup", [`${unifiedDir}/cgroup.procs`], "linux.cgroupsPath");
  }
  if (lateCgroupns) add("unshareCgroup", [], `linux.namespaces[${cgroupnsAt}]`);

  for (const j of joins) {
    // A pid namespace applies to children: the parent joins it around clone3. A joined time
    // namespace, like a new one, becomes the process's clock at the exec.
    // A joined user namespace is entered by the launch itself, before the other namespaces are
    // made inside it (see native/addon/launch.cc).
    if (j.type === "pid" || j.type === "user") continue;
    const fd = input.fds.namespaces[j.type];
    if (fd === undefined) throw new Error(`buildPlan: no fd for joined ${j.type} namespace`);
    add("setns", [fd, namespaceFlags[j.type]], j.origin);
  }

  // config-linux.md "Network Devices": once berth-init is in its final network namespace (a
  // new one since the clone, a joined one since the setns above), the parent moves the devices
  // in (container/net-devices.ts). Before the mounts and hooks: a createRuntime hook and
  // linux.sysctl (net.ipv4.conf.<name>.*) see them under their container names.
  if (Object.keys(linux.netDevices ?? {}).length > 0) add("netDevicesSync", [], "linux.netDevices");

  if (newTime) {
    const o = linux.timeOffsets ?? {};
    const part = (c?: { secs?: number; nanosecs?: number }) => [c?.secs ?? 0, c?.nanosecs ?? 0];
    add("unshareTime", [...part(o.monotonic), ...part(o.boottime)], o.monotonic || o.boottime ? "linux.timeOffsets" : newTime);
  }

  if (input.sessionKeyring) add("joinSessionKeyring", [input.sessionKeyring], "(runtime: session keyring; --no-new-keyring)");

  // --- the root filesystem and mounts
  // config-linux.md "rootfs mount propagation". Before pivot_root "/" is the host's view:
  // make all of it rslave (or rprivate, if that is what was asked), so that nothing mounted
  // from here on reaches the host, and the rootfs bind below is neither shared (pivot_root
  // and MS_MOVE refuse a shared parent) nor unbindable (a bind of it would fail). The
  // requested propagation is applied to the container's own "/" after pivot_root.
  const rootProp = linux.rootfsPropagation;
  const preFlag = rootProp === "private" || rootProp === "rprivate" ? MS.PRIVATE : MS.SLAVE;
  if (hasMountNs) {
    add("mountPropagation", ["/", MS.REC | preFlag], "linux.rootfsPropagation");
    add("mount", [rootfs, "/", "", MS.BIND | MS.REC, ""], "root.path");
  }

  const mounts = spec.mounts ?? [];
  // A mount at "/" replaces the root filesystem (e.g. an overlay assembled from layers): it
  // goes first, right on the rootfs bind, so the other mounts land on it rather than under it.
  const atRoot = mounts.map((m, i) => ({ m, i })).filter(({ m }) => containerPath(m.destination) === "/");
  if (atRoot.length > 1) throw new PlanError(`mounts[${atRoot[1]!.i}].destination`, "/", "only one mount may replace the root filesystem");
  for (const { m, i } of atRoot) {
    const opts = parseMountOptions(m.options, m.type);
    if (opts.bind || opts.idmap || m.uidMappings || m.gidMappings) {
      throw new PlanError(
        `mounts[${i}].destination`,
        "/",
        "a bind mount cannot replace the root filesystem: set root.path to the directory instead",
      );
    }
    planMount(add, m, i, input);
  }
  // A read-only /dev (a tmpfs, not a bind) is made read-only last, as runc does: the device
  // nodes, its submounts (pts, shm, mqueue), the symlinks and /dev/console go in first.
  let devReadonly: { flags: number; origin: string } | undefined;
  mounts.forEach((m, i) => {
    const dest = containerPath(m.destination);
    if (dest === "/") return;
    const opts = parseMountOptions(m.options, m.type);
    if (dest === "/dev" && !opts.bind && (opts.flags & MS.RDONLY) !== 0) {
      devReadonly = { flags: opts.flags, origin: `mounts[${i}]` };
      planMount(add, { ...m, options: (m.options ?? []).filter((o) => o !== "ro") }, i, input);
    } else planMount(add, m, i, input);
  });
  if (input.notifySocket) {
    // The caller's socket itself, bound into the container: READY=1 sent there reaches it.
    const origin = "(runtime: NOTIFY_SOCKET)";
    add("mkdirInRoot", [NOTIFY_SOCKET_IN_CONTAINER, 0o755, 1], origin);
    add("mount", [input.notifySocket, NOTIFY_SOCKET_IN_CONTAINER, "", MS.BIND, ""], origin);
  }

  // --- devices
  const inUserns = (cloneFlags & CLONE.NEWUSER) !== 0 || joins.some((j) => j.type === "user");
  // Defaults first; an entry of linux.devices at the same path replaces the default.
  const devices = new Map<
    string,
    { path: string; type: string; major?: number; minor?: number; fileMode?: number; uid?: number; gid?: number; origin: string }
  >();
  for (const d of defaultDevices) devices.set(d.path, { ...d, type: "c", fileMode: 0o666, uid: 0, gid: 0, origin: DEFAULT_DEVICES });
  (linux.devices ?? []).forEach((d, i) =>
    devices.set(containerPath(d.path), { ...d, path: containerPath(d.path), origin: `linux.devices[${i}]` }),
  );
  for (const d of devices.values()) {
    const dir = d.path.slice(0, d.path.lastIndexOf("/")) || "/";
    add("mkdirInRoot", [dir, 0o755, 0], d.origin);
    if (inUserns) {
      // mknod(2) needs CAP_MKNOD in the initial user namespace: bind the host's node instead.
      add("mkdirInRoot", [d.path, 0o644, 1], d.origin);
      add("mount", [d.path, d.path, "", MS.BIND, ""], d.origin);
    } else {
      const typeBits = d.type === "b" ? S_IFBLK : d.type === "p" ? S_IFIFO : S_IFCHR;
      const major = d.major ?? 0;
      const minor = d.minor ?? 0;
      // The kernel's new_encode_dev(): 12 bits of major, 20 of minor, interleaved.
      const dev = (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12);
      // A default device keeps whatever the rootfs already has at its path (runc does; it
      // matters only without a tmpfs on /dev); one of linux.devices must match (config-linux.md).
      const keepExisting = d.origin === DEFAULT_DEVICES ? 1 : 0;
      add("mknod", [d.path, typeBits | ((d.fileMode ?? 0o666) & 0o7777), dev, d.uid ?? 0, d.gid ?? 0, keepExisting], d.origin);
    }
  }
  add("symlink", ["/proc/self/fd", "/dev/fd"], "(runtime: /dev symlinks)");
  add("symlink", ["/proc/self/fd/0", "/dev/stdin"], "(runtime: /dev symlinks)");
  add("symlink", ["/proc/self/fd/1", "/dev/stdout"], "(runtime: /dev symlinks)");
  add("symlink", ["/proc/self/fd/2", "/dev/stderr"], "(runtime: /dev symlinks)");
  if (mounts.some((m) => containerPath(m.destination) === "/dev/pts"))
    add("symlink", ["pts/ptmx", "/dev/ptmx"], "(runtime: /dev symlinks)");
  // process.cwd is created when missing, as runc does (mkdir -p, 0755, as root, after the
  // mounts so that a cwd on a mounted filesystem is made there, before a read-only root).
  if (containerPath(proc.cwd) !== "/") add("mkdirInRoot", [containerPath(proc.cwd), 0o755, 0], "process.cwd");

  // --- hooks of the creating phase (runtime.md "Lifecycle" steps 3-5): the namespaces and
  // mounts exist, the root is not pivoted yet. The parent runs prestart and createRuntime on
  // the host while berth-init waits (hooksSync); then berth-init runs createContainer in the
  // container's namespaces, its path resolved in the host's root.
  const hooks = spec.hooks ?? {};
  const hookState = (status: string) => {
    const state: Record<string, unknown> = { ociVersion: spec.ociVersion, id: input.id ?? "", status, bundle: input.bundle };
    if (spec.annotations && Object.keys(spec.annotations).length) state.annotations = spec.annotations;
    // berth-init writes `{"pid":N,` before the rest: the pid is known only after the launch.
    return JSON.stringify(state).slice(1);
  };
  // The process's environment, as the exec op gives it (process.env, then the runtime's extra
  // entries replacing any of the same name, and a PATH when it has none).
  const extraKeys = new Set((input.extraEnv ?? []).map((e) => e.slice(0, e.indexOf("=") + 1)));
  const env = [...(proc.env ?? []).filter((e) => !extraKeys.has(e.slice(0, e.indexOf("=") + 1))), ...(input.extraEnv ?? [])];
  const pathEntry = env.find((e) => e.startsWith("PATH="));
  const execEnv = pathEntry ? env : [...env, `PATH=${DEFAULT_PATH}`];
  // A hook with `env` gets exactly that; one without gets what runc's init would pass on (its
  // own environment, which is the process's by then; verified with runc 1.1.5): the process's
  // environment, plus (startContainer, after the user switch) the HOME the process gets. The
  // working directory is runc's too: the rootfs (a host path, before pivot_root) for
  // createContainer; for startContainer, process.cwd, where the credential ops left us.
  const addHooks = (kind: "createContainer" | "startContainer", status: string, dir: string) => {
    const rest = hookState(status);
    (hooks[kind] ?? []).forEach((h, i) => {
      const argv = h.args && h.args.length > 0 ? h.args : [h.path];
      const home = h.env === undefined && kind === "startContainer" ? 1 : 0;
      add(
        "runHook",
        [h.path, argv, h.env ?? execEnv, h.timeout !== undefined && h.timeout > 0 ? h.timeout : 0, rest, dir, home],
        `hooks.${kind}[${i}]`,
      );
    });
  };
  const some = (list?: unknown[]) => (list?.length ?? 0) > 0;
  if (some(hooks.prestart) || some(hooks.createRuntime) || some(hooks.createContainer) || some(hooks.startContainer)) {
    add("hooksSync", [], some(hooks.prestart) ? "hooks.prestart" : some(hooks.createRuntime) ? "hooks.createRuntime" : "hooks");
  }
  addHooks("createContainer", "created", rootfs);

  // --- into the root
  if (!hasMountNs) add("chroot", [rootfs], "root.path (no mount namespace)");
  else if (input.noPivot) {
    // The host's mounts stay in the namespace under the moved rootfs, and its bare /proc or
    // /sys would let a user namespace made inside mount an unmasked procfs (see
    // native/init/op-host-procfs.cc): they go first. After the createContainer hooks, which
    // run in the host's root and may read its /proc.
    add("hideHostProcfs", [rootfs], "root.path (--no-pivot)");
    add("chrootNoPivot", [rootfs], "root.path (--no-pivot)");
  } else add("pivotRoot", [rootfs], "root.path");
  // The terminal right after entering the root: /dev/ptmx must be the container's own devpts
  // (runc#814), and /dev/console is bound before a read-only root or masked paths close /dev.
  if (proc.terminal) {
    planTerminal(add, proc);
    add("mkdirInRoot", ["/dev/console", 0o600, 1], "process.terminal");
    add("mountConsole", [], "process.terminal");
    add("setCtty", [], "process.terminal");
  }
  if (spec.hostname) add("sethostname", [spec.hostname], "hostname");
  if (spec.domainname) add("setdomainname", [spec.domainname], "domainname");
  for (const [key, value] of Object.entries(linux.sysctl ?? {}))
    add("sysctl", [key.replace(/\//g, "."), value], `linux.sysctl[${JSON.stringify(key)}]`);
  // Read-only paths, then masked ones, in runc's order (a container's mountinfo reads the same).
  (linux.readonlyPaths ?? []).forEach((p, i) => add("readonlyPath", [p], `linux.readonlyPaths[${i}]`));
  (linux.maskedPaths ?? []).forEach((p, i) => add("maskPath", [p], `linux.maskedPaths[${i}]`));
  // The mount read-only, not its tmpfs (runc's mountinfo reads the same: "ro" before " - ").
  if (devReadonly) add("mount", ["", "/dev", "", MS.REMOUNT | MS.BIND | devReadonly.flags, ""], devReadonly.origin);
  if (spec.root?.readonly) add("remountRoot", [MS.RDONLY], "root.readonly");
  // The requested propagation last among the mount ops: an unbindable mount cannot be the
  // source of a bind, and maskedPaths/readonlyPaths bind (/dev/null, the path onto itself).
  if (rootProp) {
    const flag = ({ shared: MS.SHARED, slave: MS.SLAVE, private: MS.PRIVATE, unbindable: MS.UNBINDABLE } as Record<string, number>)[
      rootProp.replace(/^r/, "")
    ];
    if (flag === undefined)
      throw new PlanError("linux.rootfsPropagation", rootProp, "must be one of shared, slave, private, unbindable (or their r forms)");
    add("mountPropagation", ["/", flag | (rootProp.startsWith("r") ? MS.REC : 0)], "linux.rootfsPropagation");
  }

  // --- process attributes
  planProcessLimits(add, proc);
  if (linux.personality) add("personality", [linux.personality.domain === "LINUX32" ? 0x0008 : 0x0000], "linux.personality");

  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still have it
  // (as runc: the filter then also sees the credential ops below).
  const loadSeccomp = () => {
    if (!input.seccomp) return;
    add("seccompLoad", [input.seccomp.bpf, input.seccomp.flags], "linux.seccomp");
    if (input.seccomp.listener) add("seccompListener", [], "linux.seccomp.listenerPath");
  };
  if (!proc.noNewPrivileges) loadSeccomp();

  // The LSM label the user's program gets at its execve (AppArmor's change_onexec, SELinux's
  // exec context), set while berth-init still has every privilege. The host check has already
  // refused these where the host has no such LSM.
  if (proc.apparmorProfile) add("setExecLabel", ["apparmor", `exec ${proc.apparmorProfile}`], "process.apparmorProfile");
  if (proc.selinuxLabel) add("setExecLabel", ["selinux", proc.selinuxLabel], "process.selinuxLabel");

  // --- user and capabilities
  planCredentials(add, proc, input.capLastCap);

  const args = proc.args ?? [];
  add("checkExec", [args[0] ?? "", pathEntry ? pathEntry.slice(5) : DEFAULT_PATH], "process.args[0]");
  if (proc.noNewPrivileges) add("noNewPrivs", [], "process.noNewPrivileges");
  if (proc.noNewPrivileges) loadSeccomp();

  add("ready", [], "(runtime)");
  const startHooks = some(hooks.startContainer);
  if (startHooks) {
    if (input.fds.startResult === undefined) throw new Error("buildPlan: startContainer hooks need the start-result fifo");
    add("startResult", [input.fds.startResult], "(runtime: start-result fifo)");
  }
  add("waitStart", [input.fds.fifo], "(runtime: exec fifo)");
  // runtime.md step 7: startContainer in the container, just before the user's program.
  addHooks("startContainer", "created", "");
  if (startHooks) add("startResultDone", [], "(runtime: start-result fifo)");
  add("exec", [args[0] ?? "", args, execEnv], "process.args");

  return { ops, cloneFlags, joins, userns, cgroupJoin, waitsForParent };
}

type Add = (op: PlanOp["op"], args: PlanOp["args"], origin: string) => void;

/**
 * config.md process.terminal: a pty made inside the container, its master handed to the
 * parent (for --console-socket or berth's own relay); consoleSize applied when both sides are
 * given; the slave owned by the process's user, as runc does, so it can use its terminal.
 */
export function planTerminal(add: Add, proc: NonNullable<Spec["process"]>): void {
  const size = proc.consoleSize;
  const rows = size && size.height > 0 && size.width > 0 ? size.height : 0;
  const cols = rows > 0 ? size!.width : 0;
  add("openPty", [rows, cols, proc.user.uid], proc.consoleSize ? "process.consoleSize" : "process.terminal");
}

/** An idmapped bind mount the parent prepares (open_tree + mount_setattr) before the launch. */
export interface IdmappedMountRequest {
  /** Index in spec.mounts. */
  index: number;
  /** "mounts[i]", for errors. */
  origin: string;
  /** Absolute host path (relative sources resolve against the bundle). */
  source: string;
  /** The container path, for messages. */
  destination: string;
  /** open_tree(AT_RECURSIVE): the tree carries the source's submounts ("rbind"). */
  recursiveTree: boolean;
  /** mount_setattr(AT_RECURSIVE): the submounts are idmapped too ("ridmap"). */
  recursiveIdmap: boolean;
  /** The user namespace's maps: "containerID hostID size", as uid_map takes them. */
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/**
 * config.md "Mounts": uidMappings/gidMappings (1.1) and the idmap/ridmap options (1.2). An
 * idmapped mount shows a file whose owner on disk is `containerID` as owned by `hostID`.
 * Empty (or absent) mappings with idmap/ridmap mean the container's own user namespace
 * mappings (runtime-spec#1224). Bind mounts only, as in runc.
 */
function idmapRequestFor(m: Mount, i: number, spec: Spec, bundle: string): IdmappedMountRequest | undefined {
  const opts = parseMountOptions(m.options, m.type);
  if (!mountKind(m).idmapped) return undefined;
  const origin = `mounts[${i}]`;
  if (!opts.bind) throw new PlanError(`${origin}.options`, m.options, 'an idmapped mount must be a bind mount (add "bind" or "rbind")');
  const linux = spec.linux ?? {};
  const ownUserns = (linux.namespaces ?? []).some((n) => n.type === "user" && !n.path);
  const pick = (own: IdMapping[] | undefined, container: IdMapping[] | undefined, field: string): IdMapping[] => {
    if (own && own.length > 0) return own;
    if (ownUserns && container && container.length > 0) return container;
    throw new PlanError(
      `${origin}.${field}`,
      undefined,
      "is required for an idmapped mount in a container without a user namespace of its own",
    );
  };
  return {
    index: i,
    origin,
    source: resolveHostPath(bundle, m.source ?? ""),
    destination: containerPath(m.destination),
    recursiveTree: opts.recursive,
    recursiveIdmap: opts.idmap === "ridmap",
    uidMappings: pick(m.uidMappings, linux.uidMappings, "uidMappings"),
    gidMappings: pick(m.gidMappings, linux.gidMappings, "gidMappings"),
  };
}

/**
 * The bind mounts whose source the parent opens (open_tree) for a container in a user
 * namespace: berth-init looks paths up as the namespace's root, which may not search where the
 * host's root can (a source under a mode 000 directory); runc and crun open them on the host
 * side too. Idmapped binds have their own request; proc and sysfs binds keep mountNoFollow.
 */
export function hostOpenedBinds(spec: Spec, bundle: string): { index: number; origin: string; source: string; recursive: boolean }[] {
  if (!(spec.linux?.namespaces ?? []).some((n) => n.type === "user")) return [];
  const out: { index: number; origin: string; source: string; recursive: boolean }[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    const opts = parseMountOptions(m.options, m.type);
    if (!opts.bind || m.type === "proc" || m.type === "sysfs" || idmapRequestFor(m, i, spec, bundle)) return;
    if (containerPath(m.destination) === "/") return;
    out.push({ index: i, origin: `mounts[${i}]`, source: resolveHostPath(bundle, m.source ?? ""), recursive: opts.recursive });
  });
  return out;
}

/** The idmapped mounts of a spec, for the parent to prepare; the plan attaches them. */
export function idmappedMountRequests(spec: Spec, bundle: string): IdmappedMountRequest[] {
  const out: IdmappedMountRequest[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    const r = idmapRequestFor(m, i, spec, bundle);
    if (r) out.push(r);
  });
  return out;
}

/** What a bind remount in a user namespace may not clear: nosuid, nodev, noexec, and the atime mode unless one is asked for. */
function lockedFlags(current: number, asked: number): number {
  const atime = MS.NOATIME | MS.RELATIME | MS.STRICTATIME | MS.NODIRATIME;
  return (current & (MS.NOSUID | MS.NODEV | MS.NOEXEC)) | ((asked & atime) === 0 ? current & atime : 0);
}

/**
 * The files under /proc a config mount may cover (runc 1.1's list: what lxcfs emulates, and
 * two CRIU needs); /proc itself takes only a procfs.
 */
export const PROC_MOUNT_ALLOWED = [
  "/proc/cpuinfo",
  "/proc/diskstats",
  "/proc/meminfo",
  "/proc/stat",
  "/proc/swaps",
  "/proc/uptime",
  "/proc/loadavg",
  "/proc/slabinfo",
  "/proc/net/dev",
  "/proc/sys/kernel/ns_last_pid",
  "/proc/sys/crypto/fips_enabled",
] as const;

/**
 * CVE-2019-16884 class: a mount over /proc or a file below it hands the container a stand-in
 * for a kernel interface (a writable /proc/self/attr/exec takes the LSM label meant for the
 * process; a fake /proc/sys/... takes the writes meant for the kernel). As runc's
 * checkProcMount, for bind mounts and every type but the kernel's own views, tmpfs and mqueue
 * (runc 1.1.5 lets a tmpfs over /proc/acpi, as maskedPaths do). Returns whether the target
 * needs the same check once resolved in the rootfs (op guardProcTarget): a symlink there may
 * route a destination outside /proc into it.
 */
function checkProcDestination(m: Mount, i: number, dest: string, bind: boolean, input: PlanInput): boolean {
  if (dest === "/" || (!bind && ["proc", "sysfs", "tmpfs", "mqueue", "cgroup", "cgroup2"].includes(m.type ?? ""))) return false;
  if ((PROC_MOUNT_ALLOWED as readonly string[]).includes(dest)) return false;
  if (dest === "/proc") {
    if (bind && input.bindSourceIsProcfs?.(i)) return false;
    throw new PlanError(`mounts[${i}].destination`, m.destination, "only a procfs may be mounted on /proc (this source is not one)");
  }
  if (dest.startsWith("/proc/")) {
    throw new PlanError(
      `mounts[${i}].destination`,
      m.destination,
      `is inside /proc: a mount may cover only ${PROC_MOUNT_ALLOWED.join(", ")} there`,
    );
  }
  return true;
}

function planMount(add: Add, m: Mount, i: number, input: PlanInput): void {
  const origin = `mounts[${i}]`;
  const dest = containerPath(m.destination);
  const opts = parseMountOptions(m.options, m.type);
  const guard = checkProcDestination(m, i, dest, opts.bind, input);
  const guardTarget = () => {
    if (guard) add("guardProcTarget", [], origin);
  };

  if (m.type === "cgroup" || m.type === "cgroup2") {
    planCgroupMount(add, m, dest, opts, origin, input);
    return;
  }

  // proc and sysfs go exactly on the directory the config names, never through a symlink the
  // rootfs put there (CVE-2019-19921): mountNoFollow makes the directory and mounts in one op.
  const kernelFs = m.type === "proc" || m.type === "sysfs";
  const idmap = idmapRequestFor(m, i, input.spec, input.bundle);
  if (idmap) {
    // The parent made the idmapped tree (open_tree + mount_setattr need CAP_SYS_ADMIN over the
    // filesystem, which a container in a user namespace lacks); berth-init only attaches it.
    const fd = input.fds.idmapped?.[i];
    if (fd === undefined) throw new Error(`buildPlan: no fd for the idmapped mount ${origin}`);
    add("mkdirInRoot", [dest, 0o755, input.bindSourceIsFile(i) ? 1 : 0], origin);
    guardTarget();
    add("moveMount", [fd, dest], origin);
    const extra = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
    if (extra) add("mount", ["", dest, "", MS.REMOUNT | MS.BIND | extra, ""], origin);
  } else if (opts.bind) {
    const source = resolveHostPath(input.bundle, m.source ?? "");
    const flags = MS.BIND | (opts.recursive ? MS.REC : 0);
    const tree = input.fds.bindTrees?.[i];
    if (kernelFs) {
      add("mountNoFollow", [source, dest, "", flags, ""], origin);
    } else if (tree !== undefined) {
      add("mkdirInRoot", [dest, 0o755, input.bindSourceIsFile(i) ? 1 : 0], origin);
      guardTarget();
      add("moveMount", [tree.fd, dest], origin);
    } else {
      add("mkdirInRoot", [dest, 0o755, input.bindSourceIsFile(i) ? 1 : 0], origin);
      guardTarget();
      add("mount", [source, dest, "", flags, ""], origin);
    }
    // A bind mount takes ro/nosuid/... only on a remount of the bind.
    const extra = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
    if (extra) add("mount", ["", dest, "", MS.REMOUNT | MS.BIND | extra | (tree ? lockedFlags(tree.flags, extra) : 0), ""], origin);
  } else {
    if (!kernelFs) {
      add("mkdirInRoot", [dest, 0o755, 0], origin);
      guardTarget();
    }
    // linux.mountLabel: the SELinux context of the filesystems berth makes for the container
    // (proc, sysfs and cgroup take none).
    const label =
      input.selinux && input.spec.linux?.mountLabel && ["tmpfs", "mqueue", "devpts"].includes(m.type ?? "")
        ? [`context="${input.spec.linux.mountLabel}"`]
        : [];
    add(
      kernelFs ? "mountNoFollow" : "mount",
      [m.source ?? m.type ?? "none", dest, m.type ?? "", opts.flags, [...opts.data, ...label].join(",")],
      origin,
    );
  }
  for (const p of opts.propagation) add("mount", ["", dest, "", p, ""], origin);
  if (opts.recSet || opts.recClr) add("mountSetattr", [dest, opts.recSet, opts.recClr, 1], origin);
}

/**
 * A "cgroup" mount shows the container its own cgroups. In a new cgroup namespace a fresh
 * cgroup mount has the container's cgroup as its root; without one, a fresh mount would show
 * the host's whole tree, so berth bind-mounts the container's directories instead (as runc).
 * On a cgroup v2 host that is one mount; on a v1 or hybrid host, a tmpfs with one mount per
 * hierarchy (and the v2 one at "unified" on a hybrid host), the layout Docker users know.
 */
function planCgroupMount(add: Add, m: Mount, dest: string, opts: ParsedOptions, origin: string, input: PlanInput): void {
  const flags = opts.flags & ~(MS.BIND | MS.REC);
  const cgroupns = (input.spec.linux?.namespaces ?? []).some((n) => n.type === "cgroup" && !n.path);
  const { cgroup } = input;
  const one = (fstype: "cgroup" | "cgroup2", target: string, hostDir: string | undefined, data: string) => {
    add("mkdirInRoot", [target, 0o755, 0], origin);
    if (cgroupns || !hostDir) {
      add("mount", [fstype, target, fstype, flags, data], origin);
    } else {
      add("mount", [`${hostDir}${cgroup.path}`, target, "", MS.BIND, ""], origin);
      add("mount", ["", target, "", MS.REMOUNT | MS.BIND | flags, ""], origin);
    }
  };
  if (cgroup.mode === "unified" || m.type === "cgroup2") {
    one("cgroup2", dest, cgroup.v2Mount, "");
    return;
  }
  add("mkdirInRoot", [dest, 0o755, 0], origin);
  // The tmpfs stays writable while the hierarchies are mounted on it, then is made read-only.
  add("mount", ["tmpfs", dest, "tmpfs", MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755"], origin);
  for (const h of cgroup.hierarchies) one("cgroup", `${dest}/${h.name}`, h.mountPoint, h.data);
  if (cgroup.mode === "hybrid") one("cgroup2", `${dest}/unified`, cgroup.v2Mount, "");
  if (flags & MS.RDONLY) add("mount", ["", dest, "", MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755"], origin);
}
