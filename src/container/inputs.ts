/**
 * create's "open inputs" step: everything berth-init starts with, opened in the parent and put
 * in the slots of its fd table (plan/fd-layout.ts decides the layout; `fdLayoutFor` is shared
 * with `check --explain`): stdio, the inherited fds, the exec fifo (and start.fifo), the
 * namespaces joined by path, idmapped mount trees and, in a user namespace, bind sources.
 */
import { constants, openSync } from "node:fs";
import { resolve } from "node:path";
import { BerthError } from "../errors";
import { childFdLayout, hostOpenedBinds, idmappedMountRequests, NOTIFY_SOCKET_IN_CONTAINER, PlanError, type ChildFdLayout } from "../plan";
import type { Spec } from "../spec";
import type { CreateContext } from "./create-context";
import { startResultPath } from "./hooks";
import { faultPoint } from "../fault";

type IdmapRequest = ReturnType<typeof idmappedMountRequests>[number];
type HostBind = ReturnType<typeof hostOpenedBinds>[number];

/** berth-init's fd table for this config, and the trees the parent opens for it. */
export function fdLayoutFor(
  spec: Spec,
  bundleDir: string,
  inherited: number,
): { slots: ChildFdLayout; idmaps: IdmapRequest[]; hostBinds: HostBind[] } {
  const idmaps = idmappedMountRequests(spec, bundleDir);
  const hostBinds = hostOpenedBinds(spec, bundleDir);
  const slots = childFdLayout({
    inherited,
    startResult: (spec.hooks?.startContainer?.length ?? 0) > 0,
    joined: (spec.linux?.namespaces ?? []).filter((n) => n.path).map((n) => n.type),
    idmapped: idmaps.map((r) => r.index),
    bindTrees: hostBinds.map((r) => r.index),
  });
  return { slots, idmaps, hostBinds };
}

export interface ChildInputs {
  slots: ChildFdLayout;
  /** The fd to place in each slot of berth-init's table. */
  fds: number[];
  /** A pid namespace joined by path: launch enters it around clone3 (not in the table). */
  pidnsFd?: number;
  /** The bind sources opened on the host side: their slot and mount flags, by mount index. */
  bindTrees: Record<number, { fd: number; flags: number }>;
  notifySocket?: string;
  extraEnv: string[];
}

/** The kernel takes an id map as "containerID hostID size" lines, written in one write(2). */
export function mapText(maps: { containerID: number; hostID: number; size: number }[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

export function openInputs(ctx: CreateContext): ChildInputs {
  const { rt, opts, id, spec, bundle, parentFds } = ctx;
  const { native, store } = rt;
  // The exec fifo: berth-init blocks reading it until `start` writes a byte. The parent opens
  // it O_RDWR, so the child's read blocks (a writer exists) instead of seeing end-of-file.
  const fifo = store.fifoPath(id);
  native.mkfifo(fifo, 0o600);
  const fifoFd = parentFds.add(native.openFifoRdwr(fifo));
  faultPoint("create", id, "make the exec fifo");

  let layout: ReturnType<typeof fdLayoutFor>;
  const inherited = (opts.listenFds ?? 0) + (opts.preserveFds ?? 0);
  try {
    layout = fdLayoutFor(spec, bundle.dir, inherited);
  } catch (err) {
    if (err instanceof PlanError) throw new BerthError({ op: "create", id, field: err.field, value: err.value, reason: err.reason });
    throw err;
  }
  const { slots } = layout;
  const fds: number[] = new Array<number>(slots.count);
  [fds[0], fds[1], fds[2]] = opts.stdio ?? [0, 1, 2];
  for (let i = 0; i < inherited; i++) fds[3 + i] = 3 + i;
  fds[slots.fifo] = fifoFd;
  // With startContainer hooks, `start` waits for their verdict on a second fifo (see
  // native/init/op-hooks.cc); as with the exec fifo, only berth-init holds a writer.
  if (slots.startResult !== undefined) {
    const path = startResultPath(store.dir(id));
    native.mkfifo(path, 0o600);
    fds[slots.startResult] = parentFds.add(native.openFifoRdwr(path));
    faultPoint("create", id, "make the start-result fifo");
  }
  let notifySocket: string | undefined;
  if (opts.notifySocket) {
    if (opts.notifySocket.startsWith("@"))
      rt.warn(`create ${id}: NOTIFY_SOCKET "${opts.notifySocket}": an abstract socket cannot be passed into the container; ignored`);
    else notifySocket = resolve(opts.notifySocket);
  }
  const extraEnv: string[] = [];
  if (notifySocket) extraEnv.push(`NOTIFY_SOCKET=${NOTIFY_SOCKET_IN_CONTAINER}`);
  if (opts.listenFds) extraEnv.push(`LISTEN_FDS=${opts.listenFds}`, "LISTEN_PID=1");
  const pidnsFd = openJoinedNamespaces(ctx, slots, fds);
  openIdmappedTrees(ctx, layout.idmaps, slots, fds);
  const bindTrees = openBindTrees(ctx, layout.hostBinds, slots, fds);
  return { slots, fds, pidnsFd, bindTrees, notifySocket, extraEnv };
}

/** The namespaces joined by path, into their slots; the pid namespace's fd is returned. */
function openJoinedNamespaces(ctx: CreateContext, slots: ChildFdLayout, fds: number[]): number | undefined {
  const { id, spec, parentFds } = ctx;
  let pidnsFd: number | undefined;
  for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) {
    if (!ns.path) continue;
    let fd: number;
    try {
      fd = parentFds.add(openSync(ns.path, constants.O_RDONLY));
    } catch (err) {
      throw new BerthError({
        op: "create",
        id,
        field: `linux.namespaces[${i}].path`,
        value: ns.path,
        reason: "open",
        errno: (err as NodeJS.ErrnoException).code ?? "EIO",
      });
    }
    if (ns.type === "pid") pidnsFd = fd;
    else if (ns.type === "user") fds[slots.userns!] = fd;
    else fds[slots.namespaces[ns.type]!] = fd;
  }
  return pidnsFd;
}

/**
 * Idmapped mounts: the parent makes each tree (it has CAP_SYS_ADMIN over the source's
 * filesystem; the container may not), berth-init attaches it (op moveMount).
 */
function openIdmappedTrees(ctx: CreateContext, requests: readonly IdmapRequest[], slots: ChildFdLayout, fds: number[]): void {
  const { rt, id, parentFds } = ctx;
  const { native } = rt;
  for (const r of requests) {
    if (!native.usernsFd || !native.openTreeIdmapped)
      throw new BerthError({ op: "create", id, field: r.origin, reason: "idmapped mounts are not available in this build of berth" });
    let userns: number;
    try {
      userns = native.usernsFd(mapText(r.uidMappings), mapText(r.gidMappings));
    } catch (err) {
      throw new BerthError({
        op: "create",
        id,
        field: r.origin,
        reason: `user namespace for the idmap of ${r.destination}`,
        errno: (err as NodeJS.ErrnoException).code ?? "EIO",
      });
    }
    try {
      fds[slots.idmapped[r.index]!] = parentFds.add(native.openTreeIdmapped(r.source, userns, r.recursiveTree, r.recursiveIdmap));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const what = e.syscall === "open_tree" ? `open_tree ${r.source}` : `mount_setattr idmap on ${r.destination}`;
      throw new BerthError({ op: "create", id, field: r.origin, reason: what, errno: e.code ?? "EIO" });
    } finally {
      native.closeFd(userns);
    }
  }
}

/** In a user namespace, bind sources are opened here, as the host's root (hostOpenedBinds). */
function openBindTrees(
  ctx: CreateContext,
  requests: readonly HostBind[],
  slots: ChildFdLayout,
  fds: number[],
): Record<number, { fd: number; flags: number }> {
  const { rt, id, parentFds } = ctx;
  const { native } = rt;
  const bindTrees: Record<number, { fd: number; flags: number }> = {};
  for (const r of requests) {
    if (!native.openTreeClone)
      throw new BerthError({
        op: "create",
        id,
        field: r.origin,
        reason: "bind mounts in a user namespace need open_tree, not available in this build of berth",
      });
    try {
      const tree = native.openTreeClone(r.source, r.recursive);
      fds[slots.bindTrees[r.index]!] = parentFds.add(tree.fd);
      bindTrees[r.index] = { fd: slots.bindTrees[r.index]!, flags: tree.flags };
    } catch (err) {
      throw new BerthError({
        op: "create",
        id,
        field: r.origin,
        reason: `open_tree ${r.source}`,
        errno: (err as NodeJS.ErrnoException).code ?? "EIO",
      });
    }
  }
  return bindTrees;
}
