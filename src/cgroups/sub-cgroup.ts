/**
 * `exec --cgroup`: the sub-cgroup of the container's own cgroup an exec'd process is placed in.
 * The argument is "<path>" (every hierarchy) or "<controller>[,<controller>...]:<path>" (those
 * controllers' hierarchies), as runc takes it; <path> is relative to the container's cgroup.
 *
 * Security (issue 15): the path must stay inside the container's cgroup. A process placed
 * outside it escapes the container's limits (memory, pids, devices, the freezer) and lands in
 * a cgroup the host or another container owns. So a path that is absolute, or that has a ".."
 * component, is refused outright (runc 1.1.5 reads "/sub" as "sub", and only lexically checks
 * the joined path's prefix, which "../c1x" next to a container "c1" passes); and the directory
 * it names is resolved (realpath) and must still lie under the container's directory, in case
 * a symlink sits on the way (cgroupfs lets nobody make one, but the check costs nothing).
 */
import { existsSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";

/** The reason every refused --cgroup path gets. */
export const SUB_CGROUP_OUTSIDE = "must name a cgroup inside the container's cgroup";

/** A --cgroup argument refused: the argument as given, and why. */
export class SubCgroupError extends Error {
  constructor(
    readonly value: string,
    readonly reason: string,
  ) {
    super(`--cgroup ${JSON.stringify(value)}: ${reason}`);
  }
}

/** The parsed --cgroup arguments: paths normalised, relative, "" for the container's own. */
export interface SubCgroups {
  /** A bare path: for every hierarchy no "controller:" argument names. */
  all?: { arg: string; path: string };
  /** controller -> path, from "cpu,memory:path" arguments. */
  byController: Map<string, { arg: string; path: string }>;
}

/**
 * Pure: the --cgroup arguments, each path checked and normalised ("./a//b/" -> "a/b"). Throws
 * SubCgroupError for an absolute path or one with a ".." component (or a NUL byte, which no
 * path can hold).
 */
export function parseSubCgroups(args: readonly string[] = []): SubCgroups {
  const out: SubCgroups = { byController: new Map() };
  for (const arg of args) {
    const colon = arg.indexOf(":");
    const raw = colon < 0 ? arg : arg.slice(colon + 1);
    if (raw.startsWith("/") || raw.includes("\0") || raw.split("/").includes("..")) throw new SubCgroupError(arg, SUB_CGROUP_OUTSIDE);
    const path = raw
      .split("/")
      .filter((c) => c !== "" && c !== ".")
      .join("/");
    if (colon < 0) out.all = { arg, path };
    else for (const c of arg.slice(0, colon).split(",").filter(Boolean)) out.byController.set(c, { arg, path });
  }
  return out;
}

/**
 * The directory of sub-cgroup `path` under the container's directory `base` of one hierarchy:
 * it must be an existing cgroup (it has cgroup.procs) and its real path must be `base`'s real
 * path or below it. Returns the joined path (not the resolved one: mount points such as
 * /sys/fs/cgroup/cpu are themselves symlinks on some hosts, and berth names directories by
 * the mount point everywhere else).
 */
export function resolveSubCgroup(base: string, sub: { arg: string; path: string }): string {
  const full = join(base, sub.path);
  if (!existsSync(join(full, "cgroup.procs"))) throw new SubCgroupError(sub.arg, `${full} is not an existing cgroup of the container`);
  const realBase = realpathSync(base);
  const real = realpathSync(full);
  if (real !== realBase && !real.startsWith(realBase + sep))
    throw new SubCgroupError(sub.arg, `${SUB_CGROUP_OUTSIDE}: ${full} resolves to ${real}`);
  return full;
}
