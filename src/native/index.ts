/**
 * The native surface: the only module that loads berth_native.node, and the one that knows
 * where berth-init is. Everything here is a flat, typed function (as node-pty's native.d.ts):
 * decisions are made in TypeScript before the call, the addon only executes.
 *
 * The addon is loaded on first use, not on import, so CLI verbs that never touch it (`--help`,
 * `state`, `list`) do not pay for dlopen and libseccomp.
 *
 * Finding the files. This module runs from two places:
 *   - bundled by esbuild into bin/berth or dist/index.js: __dirname is <repo>/bin or <repo>/dist
 *   - from sources under jest: __dirname is <repo>/src/native
 * so it tries $BERTH_NATIVE_DIR, then <dir>/../build/Release, then <dir>/../../build/Release,
 * then <dir> itself (an installed copy, scripts/install.sh),
 * and takes the first directory that holds the file asked for. The npm package (package.json
 * "files") ships build/Release beside bin/ and dist/, so <dir>/../build/Release finds it in an
 * installed package too (node resolves the .bin symlink to the real bin/berth).
 *
 * Loading. `process.dlopen` is what `require` does for a .node file, minus the module cache:
 * esbuild leaves it alone (a `require` of a computed path would draw a bundling warning, and a
 * literal one would make it try to bundle a binary), and jest's module registry, which wraps
 * `require`, is not involved.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** The version of the libseccomp loaded at run time (seccomp_version()). */
export interface SeccompVersion {
  major: number;
  minor: number;
  micro: number;
}

/** Whether the kernel implements each syscall (false: ENOSYS, from the kernel or a filter). */
export interface SyscallAvailability {
  clone3: boolean;
  openat2: boolean;
  mountSetattr: boolean;
  openTree: boolean;
  moveMount: boolean;
  pidfdOpen: boolean;
  pidfdSendSignal: boolean;
  memfdCreate: boolean;
  closeRange: boolean;
}

/** Seccomp return actions the kernel accepts (SECCOMP_GET_ACTION_AVAIL). */
export interface SeccompActionAvailability {
  kill_process: boolean;
  kill_thread: boolean;
  trap: boolean;
  errno: boolean;
  user_notif: boolean;
  trace: boolean;
  log: boolean;
  allow: boolean;
}

/** SECCOMP_FILTER_FLAG_* the kernel accepts (probed with a NULL filter: nothing installed). */
export interface SeccompFlagAvailability {
  tsync: boolean;
  log: boolean;
  spec_allow: boolean;
  new_listener: boolean;
  tsync_esrch: boolean;
  wait_killable_recv: boolean;
}

/** Namespace types this kernel has, by their /proc/self/ns file names. */
export interface NamespaceAvailability {
  pid: boolean;
  net: boolean;
  mnt: boolean;
  ipc: boolean;
  uts: boolean;
  user: boolean;
  cgroup: boolean;
  time: boolean;
}

/** Host facts the addon gathers by syscalls (native/addon/probe.cc). */
export interface HostProbe {
  /** uname(2) release, e.g. "6.1.0-18-amd64". */
  kernelRelease: string;
  syscalls: SyscallAvailability;
  seccomp: {
    /** prctl(PR_GET_SECCOMP) works: the kernel has seccomp at all. */
    mode: boolean;
    actions: SeccompActionAvailability;
    flags: SeccompFlagAvailability;
  };
  namespaces: NamespaceAvailability;
}

/**
 * A syscall failure thrown by the addon, shaped like Node's own errors. `errno` is the kernel's
 * positive value (compare with `os.constants.errno`), unlike Node's negative libuv numbers.
 */
export interface NativeErrnoError extends Error {
  /** The errno name, e.g. "ENOENT". */
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

export function isNativeErrnoError(err: unknown): err is NativeErrnoError {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeErrnoError>).code === "string" &&
    typeof (err as Partial<NativeErrnoError>).errno === "number" &&
    typeof (err as Partial<NativeErrnoError>).syscall === "string"
  );
}

/** One argument comparison of a seccomp rule; for op MASKED_EQ (7) `value` is the mask. */
export interface SeccompCompileArg {
  index: number;
  /** libseccomp's enum scmp_compare: NE 1, LT 2, LE 3, EQ 4, GE 5, GT 6, MASKED_EQ 7. */
  op: number;
  /** uint64: a bigint, or a number that is a safe integer. */
  value: bigint | number;
  valueTwo: bigint | number;
}

/** One libseccomp rule: a syscall name, a SECCOMP_RET_* action, ANDed comparisons. */
export interface SeccompCompileRule {
  syscall: string;
  action: number;
  args: readonly SeccompCompileArg[];
  /** Config location, "linux.seccomp.syscalls[3]", carried into errors. */
  origin: string;
}

/** What seccompCompile reads; src/plan/seccomp.ts's SeccompRequest is one (it has more fields). */
export interface SeccompCompileRequest {
  /** SECCOMP_RET_* value, errno included. */
  defaultAction: number;
  /** OCI ("SCMP_ARCH_X86") or libseccomp ("x86") names; the native one is always in the filter. */
  architectures: readonly string[];
  rules: readonly SeccompCompileRule[];
  /**
   * runc's -ENOSYS stub, prepended to libseccomp's program: on each of these architectures a
   * syscall numbered above the highest one `syscalls` names there returns ENOSYS.
   */
  enosys?: { architectures: readonly string[]; syscalls: readonly string[] };
}

export interface SeccompCompiled {
  /** struct sock_filter[] (8 bytes each), for the seccompLoad op. */
  bpf: Buffer;
  /** Syscall names libseccomp does not know, skipped (as runc and crun do), each once. */
  skipped: string[];
  /** With `enosys`: per architecture the stub covers, the number above which calls get ENOSYS. */
  enosysAbove?: Record<string, number>;
}

/** A rule libseccomp refused: a NativeErrnoError (syscall "seccomp_rule_add_array") plus where. */
export interface SeccompCompileError extends NativeErrnoError {
  origin: string;
  syscallName: string;
}

/** How a child ended: exactly one of the two is a number. */
export interface ExitStatus {
  exitCode: number | null;
  signal: number | null;
}

/**
 * What launch() takes. berth-init starts with fds[i] at fd i (i < n = fds.length), the plan
 * memfd at n, its end of the sync socket at n+1, its own sealed memfd at n+2, nothing else;
 * ops name fds by those numbers (see native/addon/launch.cc).
 */
export interface LaunchOptions {
  /** berth-init on disk (berthInitPath()); copied into a sealed memfd and executed from there. */
  initPath: string;
  /** The encoded plan (src/plan/encode.ts). */
  plan: Uint8Array;
  /** Fds to place at 0..n-1 in the child, e.g. [stdin, stdout, stderr, execFifo, nsFd...]. */
  fds: readonly number[];
  /** CLONE_NEW* flags only (anything else is a TypeError). */
  cloneFlags: number;
  /** A cgroup v2 directory fd: the child starts in it (CLONE_INTO_CGROUP). */
  cgroupFd?: number;
  /** A pid namespace fd: the child is created in it (setns CLONE_NEWPID for children first). */
  pidnsFd?: number;
  /**
   * An index into fds: a user namespace to join. The child joins it and creates cloneFlags'
   * namespaces inside it; with CLONE_NEWPID that takes a second clone, so the returned pid is
   * this process's grandchild, and this process becomes a child subreaper to stay its parent.
   */
  usernsFd?: number;
  /**
   * exec's form (excludes cloneFlags, pidnsFd and usernsFd): namespaces to join, in order
   * (user first, pid last). The child joins them outside the container's pid namespace; with a
   * pid namespace a second clone (still this process's child) is born in it and runs berth-init,
   * so nothing of berth is seen there before every other namespace, mount included, is entered.
   */
  join?: readonly { fd: number; type: number }[];
  /** cgroup.procs / tasks files the child writes itself into before the joins (exec's form). */
  cgroupProcs?: readonly string[];
  /** Tests only (src/fault.ts): the index of the plan op berth-init fails instead of running. */
  faultOp?: number;
}

/** launch()'s result. pidfd and syncFd are close-on-exec and owned by the caller (closeFd). */
export interface Launched {
  pid: number;
  pidfd: number;
  /** The parent's end of the sync socket (blocking; syncRecv / syncSend). */
  syncFd: number;
}

/** One record from berth-init (SYNC in src/plan/abi.ts: ready 1, error 2, ack 3). */
export interface SyncMessage {
  type: number;
  /** The failing op's index in the plan; -1 for none (or a failure before the first op). */
  opIndex: number;
  /** errno, 0 for none. */
  errno: number;
  /** What was being done, e.g. "mount proc on /proc". */
  detail: string;
  /** An fd that came with the record (SCM_RIGHTS; SYNC.seccompListener), close-on-exec, now the caller's. */
  fd?: number;
}

/** waitpid()'s answer; with nohang and a still-running child, pid is 0 and the rest null/0. */
export interface WaitResult {
  pid: number;
  /** The raw wait status. */
  status: number;
  exitCode: number | null;
  signal: number | null;
}

/**
 * One rule of a cgroup v2 device filter, final (no defaults filled in here): later rules
 * override earlier ones, as on cgroup v1; -1 is any major or minor; type "a" is every device.
 */
export interface DeviceFilterRule {
  allow: boolean;
  type: "a" | "b" | "c";
  major: number;
  minor: number;
  access: string;
}

/** A network interface from an RTM_GETLINK dump, and an address from RTM_GETADDR (src/netlink-types.ts declares both). */
import type { NetAddress, NetLink } from "../netlink-types";
export type { NetAddress, NetLink };

/** A failed netlink request: a NativeErrnoError (syscall "RTM_NEWLINK" ...) with the kernel's extended ack text. */
export interface NetlinkError extends NativeErrnoError {
  detail?: string;
}

/** flock(2) operations: shared, exclusive, unlock. */
export type FlockOp = "sh" | "ex" | "un";

/** What berth_native.node exports: native/addon/addon.cc registers exactly these. */
interface NativeAddon {
  version(): string;
  seccompVersion(): SeccompVersion;
  seccompSyscallNumber(name: string, arch?: string): number;
  seccompArchNative(): string;
  probe(): HostProbe;
  seccompCompile(req: SeccompCompileRequest): SeccompCompiled;
  flock(fd: number, op: FlockOp, nonblocking?: boolean): boolean;
  pidfdOpen(pid: number): number;
  waitExit(pidfd: number): Promise<ExitStatus>;
  pidfdPollExit(pidfd: number): Promise<void>;
  launch(opts: LaunchOptions): Launched;
  syncRecv(fd: number): SyncMessage | null;
  syncSend(fd: number, type: number, value?: number): void;
  syncShutdown(fd: number): void;
  pidfdSendSignal(pidfd: number, signal: number): void;
  pidfdWait(pidfd: number, timeoutMs: number): boolean;
  waitpid(pid: number, nohang: boolean): WaitResult;
  closeFd(fd: number): void;
  mkfifo(path: string, mode: number): void;
  openFifoRdwr(path: string): number;
  /** A user namespace with these uid_map/gid_map texts, as a close-on-exec fd (idmap.cc). */
  usernsFd(uidMap: string, gidMap: string): number;
  /** open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_IDMAP): a detached tree's fd. */
  openTreeIdmapped(source: string, usernsFd: number, recursiveTree: boolean, recursiveIdmap: boolean): number;
  openTreeClone(source: string, recursive: boolean): { fd: number; flags: number };
  unixSendFd(path: string, payload: Buffer, fd: number): void;
  /** Load a BPF_PROG_TYPE_CGROUP_DEVICE program for `rules` and attach it to the cgroup (device-filter.cc). */
  deviceFilterAttach(cgroupFd: number, rules: readonly DeviceFilterRule[]): number;
  /** TIOCSWINSZ: set a terminal's size (the pty master of a foreground terminal). */
  ttySetSize(fd: number, rows: number, cols: number): void;
  /** The layer model's filesystem calls (layer-fs.cc). */
  mountOverlay(target: string, data: string): void;
  umount(target: string, detach?: boolean): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: string): void;
  lgetxattr(path: string, name: string): string | null;
  /** rtnetlink, for linux.netDevices (netlink.cc). */
  netlinkOpen(nsFd?: number): number;
  netLinks(sock: number): NetLink[];
  netAddresses(sock: number, index: number): NetAddress[];
  netLinkMove(sock: number, index: number, nsFd: number, name: string): void;
  netAddressAdd(sock: number, index: number, address: NetAddress): void;
  netLinkUp(sock: number, index: number, up: boolean): void;
}

/**
 * The native surface as the rest of berth sees it. `container/` receives one of these as an
 * argument, so a test can pass a fake (see `nativeSurface` for the real one).
 */
export interface NativeSurface extends NativeAddon {
  berthInitPath(): string;
}

const ADDON_FILE = "berth_native.node";
const INIT_FILE = "berth-init";

/** The directories searched, in order (see the header comment). */
export function nativeSearchDirs(): string[] {
  const dirs: string[] = [];
  const fromEnv = process.env.BERTH_NATIVE_DIR;
  if (fromEnv) dirs.push(resolve(fromEnv));
  dirs.push(resolve(__dirname, "..", "build", "Release"), resolve(__dirname, "..", "..", "build", "Release"));
  // Installed (scripts/install.sh): the bundle, berth-init and the addon side by side in one
  // directory, e.g. /usr/local/lib/berth. Engines start the runtime with a scrubbed environment
  // (conmon passes only PATH, HOME and a few more), so BERTH_NATIVE_DIR cannot be relied on there.
  dirs.push(resolve(__dirname));
  return dirs;
}

function findNativeFile(file: string): string {
  const dirs = nativeSearchDirs();
  for (const dir of dirs) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) return candidate;
  }
  const err = new Error(
    `${file} not found in ${dirs.join(", ")}: reinstall berth (the package ships it in build/Release), build it in a checkout (npm run build:native), or set BERTH_NATIVE_DIR to the directory that holds it`,
  ) as Error & { code: string };
  err.code = "ERR_BERTH_NATIVE_NOT_FOUND";
  throw err;
}

let addon: NativeAddon | undefined;

function load(): NativeAddon {
  if (addon === undefined) {
    const mod = { exports: {} as NativeAddon };
    const file = findNativeFile(ADDON_FILE);
    try {
      process.dlopen(mod, file);
    } catch (cause) {
      // Most often a shared library the addon links is missing (libseccomp.so.2, libstdc++).
      const err = new Error(
        `cannot load ${file}: ${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)} (berth needs libseccomp2 and libstdc++6: apt-get install libseccomp2 libstdc++6)`,
        { cause },
      ) as Error & { code: string };
      err.code = "ERR_BERTH_NATIVE_LOAD";
      throw err;
    }
    addon = mod.exports;
  }
  return addon;
}

/** The addon's version (package.json's, compiled in); equals berth's when the build is current. */
export function version(): string {
  return load().version();
}

export function seccompVersion(): SeccompVersion {
  return load().seccompVersion();
}

/**
 * The syscall's number for `arch` (OCI name "SCMP_ARCH_AARCH64" or libseccomp's "aarch64";
 * default: the native one). -1 for a name libseccomp does not know; other negative numbers are
 * libseccomp pseudo-syscalls (e.g. socketcall-multiplexed calls on SCMP_ARCH_X86), valid in a
 * filter. Throws a TypeError (code ERR_INVALID_ARG_VALUE) for an unknown arch.
 */
export function seccompSyscallNumber(name: string, arch?: string): number {
  return load().seccompSyscallNumber(name, arch);
}

/** The native architecture in OCI spelling, e.g. "SCMP_ARCH_X86_64". */
export function seccompArchNative(): string {
  return load().seccompArchNative();
}

/** Host facts gathered by syscalls; side-effect free (see native/addon/probe.cc). */
export function probe(): HostProbe {
  return load().probe();
}

/**
 * Compile a planned filter (src/plan/seccomp.ts) to BPF with libseccomp; nothing is loaded.
 * Unknown syscall names are skipped and listed. Throws a SeccompCompileError when libseccomp
 * refuses a rule, a TypeError for a malformed request or an unknown architecture.
 */
export function seccompCompile(req: SeccompCompileRequest): SeccompCompiled {
  return load().seccompCompile(req);
}

/**
 * flock(2) on `fd`. Blocking by default (the JS thread waits: meant for CLI verbs); with
 * `nonblocking`, false means another open file description holds a conflicting lock.
 */
export function flock(fd: number, op: FlockOp, nonblocking?: boolean): boolean {
  return load().flock(fd, op, nonblocking);
}

/**
 * pidfd_open(2): a close-on-exec pidfd for `pid`. The pid may have been reused before the call;
 * a caller holding a pid from a state file checks the process's start time afterwards.
 * Throws ESRCH (no such process) like Node's errors.
 */
export function pidfdOpen(pid: number): number {
  return load().pidfdOpen(pid);
}

/**
 * Wait for a CHILD of this process to exit, through its pidfd, and reap it (waitid P_PIDFD).
 * Rejects with ECHILD for a process that is not our child. Occupies one libuv threadpool
 * thread until the child exits. Do not use on children spawned by child_process: libuv reaps
 * those itself, and whichever waits first gets the status.
 */
export function waitExit(pidfd: number): Promise<ExitStatus> {
  return load().waitExit(pidfd);
}

/**
 * Resolve once the process behind `pidfd` has terminated (poll POLLIN); any process, no reaping.
 * Occupies one libuv threadpool thread until then.
 */
export function pidfdPollExit(pidfd: number): Promise<void> {
  return load().pidfdPollExit(pidfd);
}

/**
 * Start berth-init with a plan: clone3 (CLONE_PIDFD, cloneFlags, CLONE_INTO_CGROUP when
 * cgroupFd is given) into a child that execs berth-init from a sealed memfd. Returns at once;
 * berth-init reports on syncFd (syncRecv). Throws a NativeErrnoError (syscall "clone3",
 * "memfd_create", "open" ...) when the child could not be created; a failure after that,
 * even in the exec of berth-init, arrives as a SyncMessage of type error.
 */
export function launch(opts: LaunchOptions): Launched {
  return load().launch(opts);
}

/** The next record from berth-init, or null when it closed the socket (it exited). Blocks. */
export function syncRecv(fd: number): SyncMessage | null {
  return load().syncRecv(fd);
}

/** Send a record with only a type (SYNC.ack after writing the uid/gid maps). */
export function syncSend(fd: number, type: number, value?: number): void {
  load().syncSend(fd, type, value);
}

/** Shut the parent's end of the sync socket: berth-init's sends fail from now on, and syncRecv returns what it sent before, then null. */
export function syncShutdown(fd: number): void {
  load().syncShutdown(fd);
}

/** pidfd_send_signal(2): ESRCH once the process has exited, whatever now has its pid. */
export function pidfdSendSignal(pidfd: number, signal: number): void {
  load().pidfdSendSignal(pidfd, signal);
}

/**
 * Block the JS thread until `pidfd` is readable (its process exited) or `timeoutMs` passes
 * (negative: no limit). True when readable. Works on any fd (readable or hung up), e.g. the
 * sync socket before a syncRecv that must not block for ever.
 */
export function pidfdWait(pidfd: number, timeoutMs: number): boolean {
  return load().pidfdWait(pidfd, timeoutMs);
}

/** waitpid(2) on a child of this process (launch() makes berth-init one); reaps it. */
export function waitpid(pid: number, nohang: boolean): WaitResult {
  return load().waitpid(pid, nohang);
}

/** close(2) for fds the addon returned. Throws EBADF for an fd that is not open. */
export function closeFd(fd: number): void {
  load().closeFd(fd);
}

/** mkfifo(3) (Node has none); the mode is subject to the umask. */
export function mkfifo(path: string, mode: number): void {
  load().mkfifo(path, mode);
}

/**
 * Open a fifo O_RDWR|O_CLOEXEC, blocking mode: does not wait for a peer, and berth-init's read
 * of it blocks until someone writes. Refuses a symlink or anything but a fifo (ELOOP, ENXIO).
 */
export function openFifoRdwr(path: string): number {
  return load().openFifoRdwr(path);
}

/** A user namespace with these maps ("containerID hostID size" lines), as an fd. */
export function usernsFd(uidMap: string, gidMap: string): number {
  return load().usernsFd(uidMap, gidMap);
}

/**
 * A detached copy of the mount (tree, if recursive) at `source`, opened with our credentials
 * (for op moveMount), as an fd; and the MS_* flags of its mount (nosuid, nodev, noexec, atime).
 */
export function openTreeClone(source: string, recursive: boolean): { fd: number; flags: number } {
  return load().openTreeClone(source, recursive);
}

/** A detached, idmapped copy of the mount tree at `source` (for op moveMount), as an fd. */
export function openTreeIdmapped(source: string, userns: number, recursiveTree: boolean, recursiveIdmap: boolean): number {
  return load().openTreeIdmapped(source, userns, recursiveTree, recursiveIdmap);
}

/**
 * Connect to the AF_UNIX SOCK_STREAM socket at `path`, send `payload` with `fd` attached
 * (SCM_RIGHTS) on that one connection, and close it: how linux.seccomp.listenerPath gets the
 * seccomp listener. Throws a NativeErrnoError (syscall "connect" or "sendmsg", path set).
 * The caller keeps and closes its `fd`.
 */
export function unixSendFd(path: string, payload: Buffer, fd: number): void {
  load().unixSendFd(path, payload, fd);
}

/**
 * Enforce device rules on a cgroup v2 directory (an O_DIRECTORY fd): an eBPF
 * BPF_PROG_TYPE_CGROUP_DEVICE program built from `rules` is attached with BPF_F_ALLOW_MULTI.
 * It stays attached for the life of the cgroup. Returns the program's length in instructions.
 * Throws a NativeErrnoError (syscall "bpf(BPF_PROG_LOAD)" with `verifierLog`, or
 * "bpf(BPF_PROG_ATTACH)").
 */
export function deviceFilterAttach(cgroupFd: number, rules: readonly DeviceFilterRule[]): number {
  return load().deviceFilterAttach(cgroupFd, rules);
}

/** Set the size of the terminal on `fd` (TIOCSWINSZ). Throws a NativeErrnoError (syscall "ioctl"). */
export function ttySetSize(fd: number, rows: number, cols: number): void {
  load().ttySetSize(fd, rows, cols);
}

/** mount(2) an overlay at `target` with this option string (lowerdir=...,upperdir=...,workdir=...). */
export function mountOverlay(target: string, data: string): void {
  load().mountOverlay(target, data);
}

/** umount2(2) with UMOUNT_NOFOLLOW (and MNT_DETACH when `detach`). */
export function umount(target: string, detach?: boolean): void {
  load().umount(target, detach);
}

/** mknod(2): `mode` carries the file type; an overlay whiteout is (S_IFCHR, 0, 0). */
export function mknod(path: string, mode: number, major: number, minor: number): void {
  load().mknod(path, mode, major, minor);
}

/** lsetxattr(2) (an opaque directory: trusted.overlay.opaque = "y"). */
export function lsetxattr(path: string, name: string, value: string): void {
  load().lsetxattr(path, name, value);
}

/** lgetxattr(2); null when the attribute is not set. */
export function lgetxattr(path: string, name: string): string | null {
  return load().lgetxattr(path, name);
}

/**
 * A close-on-exec NETLINK_ROUTE socket. Without `nsFd` in this process's network namespace;
 * with it (an fd of /proc/<pid>/ns/net) in that namespace, for the socket's whole life: it is
 * made by a short-lived thread that joins the namespace, so no Node thread ever changes its own.
 */
export function netlinkOpen(nsFd?: number): number {
  return load().netlinkOpen(nsFd);
}

/** Every interface of the socket's network namespace (RTM_GETLINK dump). Throws a NetlinkError. */
export function netLinks(sock: number): NetLink[] {
  return load().netLinks(sock);
}

/** The IPv4 and IPv6 addresses of interface `index`, in the kernel's order (RTM_GETADDR dump). */
export function netAddresses(sock: number, index: number): NetAddress[] {
  return load().netAddresses(sock, index);
}

/**
 * Move interface `index` (of the socket's namespace) into nsFd's network namespace, named `name`
 * there ("%d": the kernel numbers it). The kernel renames after the move: a name taken there
 * fails with EEXIST, the device already moved. Throws a NetlinkError (syscall "RTM_NEWLINK").
 */
export function netLinkMove(sock: number, index: number, nsFd: number, name: string): void {
  load().netLinkMove(sock, index, nsFd, name);
}

/** Add an address to interface `index` (RTM_NEWADDR, NLM_F_EXCL). Throws a NetlinkError. */
export function netAddressAdd(sock: number, index: number, address: NetAddress): void {
  load().netAddressAdd(sock, index, address);
}

/** Set interface `index` up or down (IFF_UP). Throws a NetlinkError. */
export function netLinkUp(sock: number, index: number, up: boolean): void {
  load().netLinkUp(sock, index, up);
}

/** The path of the berth-init binary (searched like the addon; does not load the addon). */
export function berthInitPath(): string {
  return findNativeFile(INIT_FILE);
}

/** The real native surface, for code that takes a NativeSurface argument. */
export const nativeSurface: NativeSurface = {
  version,
  seccompVersion,
  seccompSyscallNumber,
  seccompArchNative,
  probe,
  seccompCompile,
  flock,
  pidfdOpen,
  waitExit,
  pidfdPollExit,
  launch,
  syncRecv,
  syncShutdown,
  syncSend,
  pidfdSendSignal,
  pidfdWait,
  waitpid,
  closeFd,
  mkfifo,
  openFifoRdwr,
  usernsFd,
  openTreeIdmapped,
  openTreeClone,
  unixSendFd,
  deviceFilterAttach,
  ttySetSize,
  mountOverlay,
  umount,
  mknod,
  lsetxattr,
  lgetxattr,
  netlinkOpen,
  netLinks,
  netAddresses,
  netLinkMove,
  netAddressAdd,
  netLinkUp,
  berthInitPath,
};
