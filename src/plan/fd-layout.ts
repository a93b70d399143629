/**
 * The fd table berth-init starts with, decided once for create and for `check --explain`:
 *
 *   0-2     stdio
 *   3..     socket activation's fds (LISTEN_FDS), then --preserve-fds (runc's order: its
 *           --preserve-fds counts from 3 + LISTEN_FDS)
 *   next    the exec fifo
 *   next    the start-result fifo (only with startContainer hooks)
 *   next    each namespace joined by path, in the config's order; a pid namespace is not
 *           among them (launch enters it for the child: pidnsFd), a user namespace is (launch
 *           enters it from this slot: usernsFd)
 *   next    each idmapped mount's tree, in mount order (idmappedMountRequests)
 *   next    each bind source opened on the host side, in mount order (hostOpenedBinds)
 *
 * Pure: the caller opens what each slot names and places it there.
 */
import type { NamespaceType } from "../spec";

export interface ChildFdRequest {
  /** LISTEN_FDS plus --preserve-fds. */
  inherited: number;
  /** Whether there are startContainer hooks (a start-result fifo). */
  startResult: boolean;
  /** The namespaces the config joins by path, in its order. */
  joined: readonly NamespaceType[];
  /** Mount indexes with an idmapped tree made by the parent, in order. */
  idmapped: readonly number[];
  /** Mount indexes whose bind source the parent opens, in order. */
  bindTrees: readonly number[];
}

export interface ChildFdLayout {
  /** How many fds berth-init starts with (all slots). */
  count: number;
  fifo: number;
  startResult?: number;
  /** Joined namespaces other than pid and user, by type. */
  namespaces: Partial<Record<NamespaceType, number>>;
  /** The joined user namespace's slot. */
  userns?: number;
  idmapped: Record<number, number>;
  bindTrees: Record<number, number>;
}

export function childFdLayout(req: ChildFdRequest): ChildFdLayout {
  let next = 3 + req.inherited;
  const layout: ChildFdLayout = { count: 0, fifo: next++, namespaces: {}, idmapped: {}, bindTrees: {} };
  if (req.startResult) layout.startResult = next++;
  for (const type of req.joined) {
    if (type === "pid") continue;
    if (type === "user") layout.userns = next++;
    else layout.namespaces[type] = next++;
  }
  for (const index of req.idmapped) layout.idmapped[index] = next++;
  for (const index of req.bindTrees) layout.bindTrees[index] = next++;
  layout.count = next;
  return layout;
}
