/**
 * The netlink records berth reads and writes, declared once: src/native returns and takes them
 * (native/addon/netlink.cc), src/plan decides over them (plan/net-devices.ts). Types only, no
 * code: every room may import this file, as it may errors.ts (eslint.config.mjs).
 */

/** A network interface, as an RTM_GETLINK dump reports it. */
export interface NetLink {
  index: number;
  name: string;
  /** IFF_* (ifi_flags). */
  flags: number;
}

/** An address, as an RTM_GETADDR dump reports it (and RTM_NEWADDR takes it back). */
export interface NetAddress {
  family: "inet" | "inet6";
  prefixLength: number;
  /** IFA_F_* (IFA_FLAGS when the kernel sends it, else ifa_flags). */
  flags: number;
  /** RT_SCOPE_* (ifa_scope). */
  scope: number;
  /** IFA_LOCAL: the interface's own address (IPv4 always; IPv6 only with a peer). */
  local?: string;
  /** IFA_ADDRESS: the address, or the peer's on a point-to-point link. */
  address?: string;
  /** IFA_BROADCAST (IPv4). */
  broadcast?: string;
  /** IFA_LABEL (IPv4): "eth0", or an alias such as "eth0:1". */
  label?: string;
}
