/** What berth knows about the host when it plans: gathered by container/host-facts.ts. */
import type { NamespaceType } from "../spec";
import type { NetLink } from "./net-devices";

export interface Limit {
  soft: number;
  hard: number;
}

export interface HostFacts {
  kernelRelease: string;
  namespaces: Record<NamespaceType, boolean>;
  /** /proc/sys/user/max_user_namespaces > 0 */
  userNamespacesAllowed: boolean;
  cgroup: { mode: "unified" | "hybrid" | "legacy" | "none"; controllers: string[] };
  seccomp: {
    /** The kernel supports seccomp filters (prctl(PR_GET_SECCOMP) works). */
    enabled: boolean;
    /** Spec action names (SCMP_ACT_*) the kernel can return. */
    actions: string[];
    /** Spec flag names (SECCOMP_FILTER_FLAG_*) the kernel accepts. */
    flags: string[];
    libseccompVersion?: string;
    /** Syscall names libseccomp cannot resolve for the native architecture. */
    unknownSyscalls: (names: string[]) => string[];
  };
  apparmor: boolean;
  selinux: boolean;
  /** mount_setattr(2) with MOUNT_ATTR_IDMAP (Linux 5.12+). */
  idmappedMounts: boolean;
  /** Highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap). */
  capLastCap: number;
  /** berth's own effective capabilities include CAP_SYS_RESOURCE (raising hard rlimits). */
  capSysResource: boolean;
  /** berth's own resource limits by spec name (RLIMIT_NOFILE); Infinity for unlimited. */
  rlimits: Record<string, Limit>;
  /**
   * The interfaces of the runtime's network namespace (a netlink dump), gathered only for a
   * config with linux.netDevices: the host check then reports those that are missing.
   */
  netLinks?: NetLink[];
}
