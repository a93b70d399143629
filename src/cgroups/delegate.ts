/**
 * Cgroup ownership (config-linux.md "Cgroup ownership", runc since 1.1): on a pure cgroup v2
 * host, a container that gets its own cgroup namespace and a read-write cgroup mount at
 * /sys/fs/cgroup may manage its own subtree. For a container in a user namespace that needs
 * the cgroup's directory, and the files the kernel lists as safe to delegate, owned by the
 * host uid its process runs as: without it the container's root cannot even make a child
 * cgroup. Nothing else changes owner: the limit files (memory.max, ...) stay root's, or the
 * container could raise its own limits.
 */
import { chownSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../spec";
import type { CgroupMode } from "./detect";

/** The files of a cgroup the kernel considers safe to delegate, when it does not say. */
export const DELEGATE_FALLBACK = ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"];

/**
 * The host uid that should own the container's cgroup, or undefined for "leave it root's".
 * The spec's conditions (its SHOULDs, as runc reads them): cgroup v2 only (delegation is not
 * safe on v1); a new cgroup namespace; a cgroup mount at /sys/fs/cgroup without "ro"; and a
 * user namespace whose uidMappings map process.user.uid (without mappings the uid on the host
 * is the container's, root in the usual case, and there is nothing to delegate).
 */
export function cgroupOwner(spec: Spec, mode: CgroupMode): number | undefined {
  if (mode !== "unified") return undefined;
  const namespaces = spec.linux?.namespaces ?? [];
  if (!namespaces.some((n) => n.type === "cgroup" && n.path === undefined)) return undefined;
  const rw = (spec.mounts ?? []).some(
    (m) => m.source === "cgroup" && m.destination.replace(/\/+$/, "") === "/sys/fs/cgroup" && !(m.options ?? []).includes("ro"),
  );
  if (!rw) return undefined;
  const uid = spec.process?.user?.uid ?? 0;
  for (const m of spec.linux?.uidMappings ?? []) {
    if (uid >= m.containerID && uid < m.containerID + m.size) return m.hostID + (uid - m.containerID);
  }
  return undefined;
}

/**
 * Give `dir` and its delegatable files to `uid` (the group is left as it is, as runc does).
 * The list comes from `delegateFile` (the kernel's /sys/kernel/cgroup/delegate), or the
 * spec's fallback list when there is no such file. A listed file this cgroup does not have is
 * not an error (the spec: MUST NOT fail): the kernel lists files of controllers that may not
 * be enabled here. Anything else that fails is thrown, with the path.
 */
export function delegateCgroup(dir: string, uid: number, delegateFile = "/sys/kernel/cgroup/delegate"): string[] {
  let names: string[];
  try {
    names = readFileSync(delegateFile, "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    names = DELEGATE_FALLBACK;
  }
  const changed = [dir];
  chownSync(dir, uid, -1);
  for (const name of names) {
    const file = join(dir, name);
    try {
      chownSync(file, uid, -1);
      changed.push(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return changed;
}
