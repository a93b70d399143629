/**
 * config-linux.md "Network Devices", the calls: create moves each device of linux.netDevices
 * from berth's own network namespace (the runtime namespace) into the container's, renamed,
 * with its permanent global addresses added back and its state set up. The decisions are
 * src/plan/net-devices.ts's; the netlink requests native/addon/netlink.cc's.
 *
 * When: berth-init asks (op netDevicesSync, SYNC.netDevices) once it is in its final network
 * namespace -- a new one since the clone, or one joined by path since its setns op -- and waits
 * for the ack. /proc/<pid>/ns/net then names that namespace, whichever it is.
 *
 * For each device, in the config's order:
 *   1. read its addresses in the runtime namespace (the move drops them);
 *   2. RTM_NEWLINK IFLA_NET_NS_FD + IFLA_IFNAME: the kernel moves it, then renames it;
 *   3. find it among the container's interfaces (its ifindex may change; a template's name
 *      is the kernel's choice), through a netlink socket made inside that namespace;
 *   4. add the permanent, global addresses back; set it up.
 * The names are checked in the container's namespace before the first move: the kernel's
 * rename comes after its move, so a clash it finds leaves the device moved.
 *
 * A failed create (this device or anything later) moves each device back, under its host
 * name, with the addresses it carried and its old up/down state: a failed create leaves the
 * host as it was. The spec's "MUST NOT move the interface out of the namespace before deletion"
 * is about a container that exists; one that failed to be created never did. Until then the
 * handles opened here hold the container's namespace alive, so a berth-init that died on its
 * own (a failing op) does not take the devices with it: the kernel would destroy a virtual
 * device (a veth, and its peer with it) and return a physical one to the initial namespace
 * under its container name. Once created, nothing here runs again: at delete (or whenever the
 * namespace's last process and handle go) the kernel does exactly that, and berth does not
 * move anything back (the spec's MUST NOT).
 */
import { closeSync, openSync } from "node:fs";
import { BerthError, problemsError } from "../errors";
import {
  addressesToCarry,
  addressForName,
  addressText,
  findMovedLink,
  netDeviceClashes,
  planNetDevices,
  type NetAddress,
  type NetDeviceMove,
  type NetLink,
} from "../plan";
import type { Spec } from "../spec";
import type { LifecycleNative } from "./runtime";

type Netlink = Required<
  Pick<LifecycleNative, "netlinkOpen" | "netLinks" | "netAddresses" | "netLinkMove" | "netAddressAdd" | "netLinkUp">
> &
  Pick<LifecycleNative, "closeFd">;

/** How create registers what to undo (newest first) and what to release at the end either way. */
export interface UndoLog {
  push(what: string, fn: () => void): void;
  /** Run once create has finished, after the undo steps if it failed. */
  finally(fn: () => void): void;
}

function netlinkOf(native: LifecycleNative, op: string, id: string | undefined): Netlink {
  const { netlinkOpen, netLinks, netAddresses, netLinkMove, netAddressAdd, netLinkUp } = native;
  if (!netlinkOpen || !netLinks || !netAddresses || !netLinkMove || !netAddressAdd || !netLinkUp) {
    throw new BerthError({ op, id, field: "linux.netDevices", reason: "moving network devices is not available in this build of berth" });
  }
  const bound = native as Netlink;
  return {
    netlinkOpen: netlinkOpen.bind(bound),
    netLinks: netLinks.bind(bound),
    netAddresses: netAddresses.bind(bound),
    netLinkMove: netLinkMove.bind(bound),
    netAddressAdd: netAddressAdd.bind(bound),
    netLinkUp: netLinkUp.bind(bound),
    closeFd: native.closeFd.bind(native),
  };
}

/** A netlink failure as the user reads it, at the device's field. */
function netlinkError(id: string | undefined, field: string, what: string, err: unknown, op = "create"): BerthError {
  const e = err as { code?: string; detail?: string; message?: string };
  if (!e?.code) return new BerthError({ op, id, field, reason: `${what}: ${e?.message ?? String(err)}`, internal: true, cause: err });
  return new BerthError({ op, id, field, reason: e.detail ? `${what} (the kernel says: ${e.detail})` : what, errno: e.code, cause: err });
}

export function hasNetDevices(spec: Spec): boolean {
  return Object.keys(spec.linux?.netDevices ?? {}).length > 0;
}

/** The interfaces of berth's own network namespace (for the host check before anything is made). */
export function runtimeNetLinks(native: LifecycleNative, op: string, id?: string): NetLink[] {
  const nl = netlinkOf(native, op, id);
  let sock: number;
  try {
    sock = nl.netlinkOpen();
  } catch (err) {
    throw netlinkError(id, "linux.netDevices", "open a netlink socket", err, op);
  }
  try {
    return nl.netLinks(sock);
  } catch (err) {
    throw netlinkError(id, "linux.netDevices", "list the runtime's network interfaces", err, op);
  } finally {
    nl.closeFd(sock);
  }
}

interface Session {
  nl: Netlink;
  /** The container's network namespace (/proc/<pid>/ns/net), held open until create is done. */
  containerNs: number;
  /** Ours (/proc/thread-self/ns/net), for moving a device back. */
  runtimeNs: number;
  /** Netlink sockets in the runtime's and in the container's namespace. */
  host: number;
  container: number;
}

function openSession(nl: Netlink, id: string, pid: number, undo: UndoLog): Session {
  const fsFds: number[] = [];
  const sockets: number[] = [];
  // Registered first: released after every undo step that uses these handles.
  undo.finally(() => {
    for (const fd of sockets.splice(0)) nl.closeFd(fd);
    for (const fd of fsFds.splice(0)) closeSync(fd);
  });
  const open = (path: string) => {
    try {
      const fd = openSync(path, "r");
      fsFds.push(fd);
      return fd;
    } catch (err) {
      throw new BerthError({
        op: "create",
        id,
        field: "linux.netDevices",
        reason: `open ${path}`,
        errno: (err as NodeJS.ErrnoException).code ?? "EIO",
        cause: err,
      });
    }
  };
  const containerNs = open(`/proc/${pid}/ns/net`);
  const runtimeNs = open("/proc/thread-self/ns/net");
  const socket = (nsFd: number | undefined, where: string) => {
    try {
      const fd = nl.netlinkOpen(nsFd);
      sockets.push(fd);
      return fd;
    } catch (err) {
      throw netlinkError(id, "linux.netDevices", `open a netlink socket in ${where}`, err);
    }
  };
  const host = socket(undefined, "the runtime's network namespace");
  const container = socket(containerNs, "the container's network namespace");
  return { nl, containerNs, runtimeNs, host, container };
}

/**
 * Move linux.netDevices into the network namespace of berth-init (host pid `pid`), as the
 * header says. Throws a BerthError at the device's field; what was moved is in `undo`.
 */
export function moveNetDevices(native: LifecycleNative, id: string, spec: Spec, pid: number, undo: UndoLog): void {
  const nl = netlinkOf(native, "create", id);
  const s = openSession(nl, id, pid, undo);
  const list = (sock: number, where: string) => {
    try {
      return nl.netLinks(sock);
    } catch (err) {
      throw netlinkError(id, "linux.netDevices", `list the network interfaces of ${where}`, err);
    }
  };

  // The host check ran before the launch; this is the authoritative one, just before the moves.
  const { moves, problems } = planNetDevices(spec, list(s.host, "the runtime's network namespace"));
  let before = list(s.container, "the container's network namespace");
  problems.push(...netDeviceClashes(moves, before));
  if (problems.length) throw problemsError("create", id, problems);

  for (const m of moves) {
    let carried: NetAddress[];
    try {
      carried = addressesToCarry(nl.netAddresses(s.host, m.index));
    } catch (err) {
      throw netlinkError(id, m.origin, "read the addresses of the interface", err);
    }
    // Registered before the move: a move that fails may still have moved it (see moveBack).
    const beforeMove = before;
    const found: { link?: NetLink } = {};
    undo.push(`move network interface "${m.hostName}" back to the runtime's network namespace`, () =>
      moveBack(s, m, carried, beforeMove, found.link),
    );
    try {
      nl.netLinkMove(s.host, m.index, s.containerNs, m.name);
    } catch (err) {
      throw netlinkError(id, m.name === m.hostName ? m.origin : `${m.origin}.name`, "move into the container's network namespace", err);
    }
    const after = list(s.container, "the container's network namespace");
    const moved = (found.link = findMovedLink(m, before, after));
    if (!moved)
      throw new BerthError({
        op: "create",
        id,
        field: m.origin,
        reason: "moved, but not found among the container's network interfaces",
        internal: true,
      });
    for (const a of carried) {
      const addr = addressForName(a, m.hostName, moved.name);
      try {
        nl.netAddressAdd(s.container, moved.index, addr);
      } catch (err) {
        throw netlinkError(id, m.origin, `add address ${addressText(addr)} in the container's network namespace`, err);
      }
    }
    try {
      nl.netLinkUp(s.container, moved.index, true);
    } catch (err) {
      throw netlinkError(id, m.origin, `set "${moved.name}" up in the container's network namespace`, err);
    }
    before = after;
  }
}

/**
 * Undo one move: find the device in the container's namespace (it may be there even when the
 * move reported a failure: the kernel renames after moving), move it back under its host
 * name, add back what it carried, restore up/down. A device that never left is left alone.
 */
function moveBack(
  s: Session,
  m: NetDeviceMove,
  carried: readonly NetAddress[],
  before: readonly NetLink[],
  moved: NetLink | undefined,
): void {
  const { nl } = s;
  let there = moved;
  if (!there) {
    // The move reported a failure: did the device leave at all?
    if (nl.netLinks(s.host).some((l) => l.index === m.index && l.name === m.hostName)) return;
    there = findMovedLink(m, before, nl.netLinks(s.container), true);
    if (!there) throw new Error(`"${m.hostName}" is neither in the runtime's network namespace nor found in the container's`);
  }
  nl.netLinkMove(s.container, there.index, s.runtimeNs, m.hostName);
  const back = nl.netLinks(s.host).find((l) => l.name === m.hostName);
  if (!back) throw new Error(`"${m.hostName}" is not back under its name`);
  for (const a of carried) nl.netAddressAdd(s.host, back.index, a);
  if (m.wasUp) nl.netLinkUp(s.host, back.index, true);
}
