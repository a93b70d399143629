/**
 * What the lifecycle needs from the outside world, passed in (so tests swap in fakes, and a
 * Node program can hold one Runtime for many containers): the native surface, the state store,
 * the cgroup driver, and where berth-init is.
 */
import type { CgroupDriver, SystemdSession } from "../cgroups";
import type { NetAddress, NetLink } from "../plan";
import type { StateStore } from "../state";

export interface SyncMessage {
  type: number;
  opIndex: number;
  errno: number;
  detail: string;
  /** An fd passed with the record (SYNC.seccompListener, SYNC.terminal), owned by the receiver. */
  fd?: number;
}

export interface LaunchResult {
  pid: number;
  pidfd: number;
  syncFd: number;
}

/** The native calls the lifecycle makes (a subset of src/native's surface). */
export interface LifecycleNative {
  launch(opts: { initPath: string; plan: Buffer; fds: number[]; cloneFlags: number; cgroupFd?: number; pidnsFd?: number; usernsFd?: number; join?: readonly { fd: number; type: number }[]; cgroupProcs?: readonly string[]; faultOp?: number }): LaunchResult;
  syncRecv(fd: number): SyncMessage | null;
  syncSend(fd: number, type: number, value?: number): void;
  syncShutdown?(fd: number): void;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, sig: number): void;
  pidfdPollExit(pidfd: number): Promise<void>;
  /** poll(2) the pidfd for at most timeoutMs (0: do not block): true once the process exited. */
  pidfdWait?(pidfd: number, timeoutMs: number): boolean;
  waitExit(pidfd: number): Promise<{ exitCode: number | null; signal: number | null }>;
  waitpid(pid: number, nohang: boolean): unknown;
  closeFd(fd: number): void;
  mkfifo(path: string, mode: number): void;
  openFifoRdwr(path: string): number;
  /** One message with an fd attached, to a UNIX stream socket (linux.seccomp.listenerPath). */
  unixSendFd?(path: string, payload: Buffer, fd: number): void;
  /** TIOCSWINSZ on a terminal fd (the pty master of a foreground terminal). */
  ttySetSize?(fd: number, rows: number, cols: number): void;
  flock(fd: number, op: "sh" | "ex" | "un", nonblocking?: boolean): boolean;
  seccompCompile?(req: unknown): { bpf: Buffer; skipped: string[] };
  seccompArchNative(): string;
  /** Idmapped mounts (native/addon/idmap.cc): a user namespace fd, then a detached tree's fd. */
  usernsFd?(uidMap: string, gidMap: string): number;
  openTreeIdmapped?(source: string, usernsFd: number, recursiveTree: boolean, recursiveIdmap: boolean): number;
  /** A detached copy of a bind source, opened on the host side (a container in a user namespace). */
  openTreeClone?(source: string, recursive: boolean): { fd: number; flags: number };
  /** cgroup v2 device rules as an eBPF program on the cgroup (native/addon/device-filter.cc). */
  deviceFilterAttach?(cgroupFd: number, rules: readonly { allow: boolean; type: "a" | "b" | "c"; major: number; minor: number; access: string }[]): number;
  /** The layer model's filesystem calls (native/addon/layer-fs.cc), for rootfs from an image. */
  mountOverlay?(target: string, data: string): void;
  umount?(target: string, detach?: boolean): void;
  mknod?(path: string, mode: number, major: number, minor: number): void;
  lsetxattr?(path: string, name: string, value: string): void;
  lgetxattr?(path: string, name: string): string | null;
  /** rtnetlink for linux.netDevices (native/addon/netlink.cc); see container/net-devices.ts. */
  netlinkOpen?(nsFd?: number): number;
  netLinks?(sock: number): NetLink[];
  netAddresses?(sock: number, index: number): NetAddress[];
  netLinkMove?(sock: number, index: number, nsFd: number, name: string): void;
  netAddressAdd?(sock: number, index: number, address: NetAddress): void;
  netLinkUp?(sock: number, index: number, up: boolean): void;
  berthInitPath(): string;
}


export interface Runtime {
  native: LifecycleNative;
  store: StateStore;
  /**
   * The cgroupfs driver (fsCgroupDriver on a real host). --systemd-cgroup's driver is built over
   * it (container/cgroup-driver.ts chooses which a container has).
   */
  cgroups: CgroupDriver;
  /** --systemd-cgroup: a connection to systemd's Manager (default: the system bus, else /run/systemd/private). */
  systemd?: () => Promise<SystemdSession>;
  /** Log a warning (berth's logger in the CLI, a callback in the library). */
  warn: (msg: string) => void;
  /**
   * A warning the user must see even without --log (a failed poststart or poststop hook:
   * runtime.md says the runtime MUST log it). Default: `warn`.
   */
  notice?: (msg: string) => void;
}
