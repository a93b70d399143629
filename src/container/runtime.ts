/**
 * What the lifecycle needs from the outside world, passed in (so tests swap in fakes, and a
 * Node program can hold one Runtime for many containers): the native surface, the state store,
 * the cgroup driver, and where berth-init is.
 */
import type { CgroupDriver, CgroupLayout, SystemdSession } from "../cgroups";
import type { HostFacts } from "../plan";
import type { NativeSurface } from "../native";
import type { StateStore } from "../state";

export type { SyncMessage, Launched as LaunchResult } from "../native";

/** What every lifecycle needs of the native surface (src/native is its one declaration). */
type AlwaysNeeded =
  | "launch"
  | "syncRecv"
  | "syncSend"
  | "pidfdOpen"
  | "pidfdSendSignal"
  | "pidfdPollExit"
  | "waitExit"
  | "waitpid"
  | "closeFd"
  | "mkfifo"
  | "openFifoRdwr"
  | "flock"
  | "seccompArchNative"
  | "berthInitPath";
/**
 * What only some configs need (seccomp, terminals, idmapped mounts, the device filter, image
 * rootfs, network devices): a fake may leave these out, and the lifecycle says which build of
 * berth lacks what.
 */
type SometimesNeeded =
  | "syncShutdown"
  | "pidfdWait"
  | "unixSendFd"
  | "ttySetSize"
  | "seccompCompile"
  | "usernsFd"
  | "openTreeIdmapped"
  | "openTreeClone"
  | "deviceFilterAttach"
  | "mountOverlay"
  | "umount"
  | "mknod"
  | "lsetxattr"
  | "lgetxattr"
  | "netlinkOpen"
  | "netLinks"
  | "netAddresses"
  | "netLinkMove"
  | "netAddressAdd"
  | "netLinkUp";

/** The native calls the lifecycle makes: a view of src/native's surface, not a second declaration. */
export type LifecycleNative = Pick<NativeSurface, AlwaysNeeded> & Partial<Pick<NativeSurface, SometimesNeeded>>;

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
  /**
   * What this host can do, and its cgroup layout (read together: one mountinfo read per create).
   * The real one probes the kernel through the addon (container/host-facts.ts); tests pass a
   * fixed set, so that create and exec run over fakes without a native build.
   */
  hostFacts: () => HostFacts & { cgroupLayout: CgroupLayout };
  /** Log a warning (berth's logger in the CLI, a callback in the library). */
  warn: (msg: string) => void;
  /**
   * A warning the user must see even without --log (a failed poststart or poststop hook:
   * runtime.md says the runtime MUST log it). Default: `warn`.
   */
  notice?: (msg: string) => void;
}
