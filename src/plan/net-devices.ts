/**
 * config-linux.md "Network Devices", the decisions: which host interfaces move where under
 * which name, which of their addresses go with them, and how to find a device again once the
 * kernel has moved it. Pure: the links and addresses come in as netlink reported them
 * (native/addon/netlink.cc); container/net-devices.ts makes the calls.
 *
 * What the kernel does, and so what berth must do around it:
 *   - RTM_NEWLINK with IFLA_NET_NS_FD and IFLA_IFNAME moves a device and then renames it
 *     (rtnetlink.c do_setlink). The rename comes after the move: a name taken in the container
 *     fails with EEXIST once the device is already there. So berth checks the names in the
 *     container's namespace first, and finds the device by what the kernel may have done.
 *   - The move keeps the ifindex unless the target namespace uses it (then it gets a new one).
 *   - The move closes the device (it is down on arrival) and drops all its addresses: berth
 *     reads them before and adds the permanent, global ones back inside (the spec's MUST).
 */
import type { Problem } from "../errors";
import type { NetAddress, NetLink } from "../netlink-types";
import { IFNAMSIZ, interfaceNameProblem, isNameTemplate, matchesNameTemplate, netDeviceField, type Spec } from "../spec";

export type { NetAddress, NetLink } from "../netlink-types";

export const IFF = { UP: 0x1, LOOPBACK: 0x8 } as const;

export const IFA_F = {
  SECONDARY: 0x01,
  NODAD: 0x02,
  OPTIMISTIC: 0x04,
  DADFAILED: 0x08,
  HOMEADDRESS: 0x10,
  DEPRECATED: 0x20,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  MANAGETEMPADDR: 0x100,
  NOPREFIXROUTE: 0x200,
  MCAUTOJOIN: 0x400,
  STABLE_PRIVACY: 0x800,
} as const;

/** rtnetlink.h: RT_SCOPE_UNIVERSE, "global" in ip(8). */
export const RT_SCOPE_UNIVERSE = 0;

/**
 * The flags that are configuration, asked for when the address was added (ip-address(8):
 * nodad, optimistic, home, mngtmpaddr, noprefixroute, autojoin); the others are the kernel's
 * state (tentative, deprecated, dadfailed, secondary, permanent, stable-privacy) and are not
 * ours to request.
 */
const CONFIG_FLAGS = IFA_F.NODAD | IFA_F.OPTIMISTIC | IFA_F.HOMEADDRESS | IFA_F.MANAGETEMPADDR | IFA_F.NOPREFIXROUTE | IFA_F.MCAUTOJOIN;

/** One device to move: from the host's interface `hostName` (ifindex `index`) to `name`. */
export interface NetDeviceMove {
  /** `linux.netDevices["eth0"]`, for errors. */
  origin: string;
  hostName: string;
  index: number;
  /** The name inside the container: the entry's name, or the host name; maybe a template. */
  name: string;
  /** Whether `name` is a "%d" template. */
  template: boolean;
  /** The device was up on the host (a failed create leaves it as it was). */
  wasUp: boolean;
}

function entries(spec: Spec): [string, { name?: string }][] {
  return Object.entries(spec.linux?.netDevices ?? {});
}

/**
 * The moves linux.netDevices asks for, given the interfaces of the runtime's network namespace,
 * and what stands in the way: an interface that does not exist, the loopback device (the
 * kernel keeps every namespace's own), a name the kernel would refuse (a caller that skipped
 * the semantic checks).
 */
export function planNetDevices(spec: Spec, hostLinks: readonly NetLink[]): { moves: NetDeviceMove[]; problems: Problem[] } {
  const byName = new Map(hostLinks.map((l) => [l.name, l]));
  const moves: NetDeviceMove[] = [];
  const problems: Problem[] = [];
  const error = (field: string, value: unknown, reason: string) => problems.push({ field, value, reason, severity: "error" });
  for (const [key, entry] of entries(spec)) {
    const origin = netDeviceField(key);
    const name = entry?.name ?? key;
    const bad = interfaceNameProblem(key, false);
    if (bad) {
      error(origin, undefined, bad);
      continue;
    }
    const badName = interfaceNameProblem(name, true);
    if (badName) {
      error(`${origin}.name`, name, badName);
      continue;
    }
    const link = byName.get(key);
    if (!link) {
      error(origin, undefined, "no such network interface in the runtime's network namespace");
      continue;
    }
    if (link.flags & IFF.LOOPBACK) {
      error(origin, undefined, "is a loopback device: the kernel keeps it in its network namespace");
      continue;
    }
    moves.push({ origin, hostName: key, index: link.index, name, template: isNameTemplate(name), wasUp: (link.flags & IFF.UP) !== 0 });
  }
  return { moves, problems };
}

/** What the host-side check reports (`berth check`, and create before anything is made). */
export function netDeviceHostProblems(spec: Spec, hostLinks: readonly NetLink[]): Problem[] {
  return planNetDevices(spec, hostLinks).problems;
}

/**
 * config-linux.md: a name already in use in the container's namespace MUST be an error, unless
 * it is a template. Checked before any move (the kernel would refuse only after moving).
 */
export function netDeviceClashes(moves: readonly NetDeviceMove[], containerLinks: readonly NetLink[]): Problem[] {
  const taken = new Set(containerLinks.map((l) => l.name));
  const problems: Problem[] = [];
  for (const m of moves) {
    if (m.template || !taken.has(m.name)) continue;
    const renamed = m.name !== m.hostName;
    problems.push({
      field: renamed ? `${m.origin}.name` : m.origin,
      value: renamed ? m.name : undefined,
      reason: `the container's network namespace already has an interface named "${m.name}" (a name ending in %d lets the kernel pick a free one)`,
      severity: "error",
    });
  }
  return problems;
}

/**
 * The addresses that go with a device: config-linux.md, "all permanent IP addresses
 * (IFA_F_PERMANENT flag) of any family with global scope (RT_SCOPE_UNIVERSE)". Dynamic ones
 * (SLAAC, DHCP lifetimes) and link- or host-scoped ones stay behind: they belong to the
 * namespace they were made in (the kernel makes a new IPv6 link-local address when the
 * device comes up). The dump's order is kept, so an IPv4 primary is added before its
 * secondaries; only the configuration flags are requested again.
 */
export function addressesToCarry(addresses: readonly NetAddress[]): NetAddress[] {
  return addresses
    .filter((a) => (a.flags & IFA_F.PERMANENT) !== 0 && a.scope === RT_SCOPE_UNIVERSE)
    .map((a) => ({ ...a, flags: a.flags & CONFIG_FLAGS }));
}

/**
 * An address as it is added to the device under its new name: an IPv4 label is the device's
 * name, or an alias of it ("eth0:1"), and follows a rename; a label the new name cannot carry
 * (too long) is left to the kernel's default (the device's name).
 */
export function addressForName(a: NetAddress, oldName: string, newName: string): NetAddress {
  if (a.label === undefined) return a;
  const { label, ...rest } = a;
  if (label === oldName) return rest;
  if (label.startsWith(`${oldName}:`)) {
    const renamed = newName + label.slice(oldName.length);
    return new TextEncoder().encode(renamed).length < IFNAMSIZ ? { ...rest, label: renamed } : rest;
  }
  return a;
}

/** How an address reads in messages: "10.1.2.3/24", "2001:db8::1/64" (ip(8)'s form). */
export function addressText(a: NetAddress): string {
  return `${a.local ?? a.address ?? "?"}/${a.prefixLength}`;
}

/**
 * The moved device among the container's interfaces, from its interfaces before and after the
 * move (`failed`: the move reported an error, yet may have moved it: the kernel renames after
 * moving). It is one of those that were not there before:
 *   - with its old ifindex, if that was free there (the kernel keeps it then);
 *   - else, after a move that succeeded, the one new link under its new name (or matching its
 *     template); after a failed one, under its host name (or the template, which the kernel
 *     uses when the host name is taken there).
 * Never just "the only new one": in a joined namespace that something else changes meanwhile,
 * that could be another device, and the rollback would move it out. Undefined when nothing
 * decides.
 */
export function findMovedLink(
  move: NetDeviceMove,
  before: readonly NetLink[],
  after: readonly NetLink[],
  failed = false,
): NetLink | undefined {
  const old = new Set(before.map((l) => l.index));
  const fresh = after.filter((l) => !old.has(l.index));
  if (!old.has(move.index)) {
    const same = fresh.find((l) => l.index === move.index);
    if (same) return same;
  }
  const pick = (pred: (l: NetLink) => boolean) => {
    const hits = fresh.filter(pred);
    return hits.length === 1 ? hits[0] : undefined;
  };
  const byNewName = (l: NetLink) => (move.template ? matchesNameTemplate(move.name, l.name) : l.name === move.name);
  if (!failed) return pick(byNewName);
  return pick((l) => l.name === move.hostName) ?? (move.template ? pick(byNewName) : undefined);
}
