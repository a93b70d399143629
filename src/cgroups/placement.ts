/**
 * Where a container's cgroups live, and making and removing them. Only directories berth
 * creates are recorded, and only those are removed at delete: a cgroupsPath whose parents
 * exist (an engine's /default or /libpod_parent) leaves the parents alone.
 *
 * cgroupsPath (config-linux.md "Cgroups path"): absolute = relative to each hierarchy's root;
 * relative = "relative to a runtime-determined location" -- berth puts it under /berth, never
 * under the caller's own cgroup (runc does the latter, which lands containers inside whatever
 * service happened to run it); empty = /berth/<id>.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync, type Dirent } from "node:fs";
import { join } from "node:path";
import type { CgroupLayout } from "./detect";
import { settleCgroupRemoval, type CgroupRemoveFailure } from "./remove";

/** The cgroupfs driver's path (the systemd driver's is systemdCgroupPath). */
export function cgroupPathFor(cgroupsPath: string | undefined, id: string): string {
  if (!cgroupsPath) return `/berth/${id}`;
  const clean = cgroupsPath
    .split("/")
    .filter((c) => c && c !== "." && c !== "..")
    .join("/");
  return cgroupsPath.startsWith("/") ? `/${clean}` : `/berth/${clean}`;
}

/**
 * --systemd-cgroup: cgroupsPath is "slice:prefix:name" (runc's form; containerd and podman send
 * it), and the container's cgroup is where systemd puts a scope unit "prefix-name.scope" in that
 * slice: a slice "a-b.slice" nests as /a.slice/a-b.slice. An empty slice is system.slice; a name
 * that is itself a ".slice" is the unit. berth makes these directories before the init is
 * cloned into them; systemd then adopts them with the unit (systemd-driver.ts, systemd.ts).
 */
export function systemdCgroupPath(cgroupsPath: string | undefined, id: string): string {
  const parts = (cgroupsPath ?? "").split(":");
  if (cgroupsPath && parts.length !== 3)
    throw new Error(`linux.cgroupsPath "${cgroupsPath}": with --systemd-cgroup it must be slice:prefix:name`);
  const [slice = "", prefix = "berth", name = id] = cgroupsPath ? parts : [];
  const expand = (s: string): string[] => {
    if (s === "" || s === "-.slice") return [];
    if (!s.endsWith(".slice") || s.includes("/")) throw new Error(`linux.cgroupsPath "${cgroupsPath}": "${s}" is not a systemd slice name`);
    const words = s.slice(0, -".slice".length).split("-");
    return words.map((_, i) => `${words.slice(0, i + 1).join("-")}.slice`);
  };
  const unit = name.endsWith(".slice") ? name : `${prefix ? `${prefix}-` : ""}${name}.scope`;
  const dirs = [...expand(slice || "system.slice"), ...(name.endsWith(".slice") ? expand(name).slice(-1) : [unit])];
  return `/${dirs.join("/")}`;
}

/** Mount points of the v1 hierarchies, named ones (name=systemd) included, as runc joins them. */
export function v1MountPoints(layout: CgroupLayout): string[] {
  return layout.v1Hierarchies.map((h) => h.mountPoint).sort();
}

export interface CgroupPlacement {
  /** One directory per hierarchy the container is placed in (v1 ones, then unified). */
  dirs: string[];
  /** The cgroup2 directory, if the host has cgroup2 (CLONE_INTO_CGROUP, freezer, kill). */
  unified?: string;
  /** Directories this call created, deepest first. */
  created: string[];
}

/**
 * The directories createCgroupDirs would make for `path` now (those not there yet), deepest
 * first, as it lists them: create records them before making them, so that a create killed
 * mid-way leaves a record that names them.
 */
export function plannedCgroupDirs(layout: CgroupLayout, path: string): string[] {
  const planned: string[] = [];
  const roots = [...v1MountPoints(layout), ...(layout.v2Mount ? [layout.v2Mount] : [])];
  for (const root of roots) {
    let dir = root;
    for (const part of path.split("/").filter(Boolean)) {
      dir = join(dir, part);
      if (!existsSync(dir)) planned.unshift(dir);
    }
  }
  return planned;
}

/**
 * mkdir -p in each hierarchy, recording what was created. Undo with removeCgroupDirs.
 *
 * Containers under one parent are created concurrently (engines start many at once): a level
 * another create makes between our look and our mkdir (EEXIST) is one that was there, and a
 * parent whose maker was deleted between our look and the mkdir below it (ENOENT: its delete
 * removed it, empty) is made again, by us, from the top (as runc's os.MkdirAll would).
 */
export function createCgroupDirs(layout: CgroupLayout, path: string): CgroupPlacement {
  const placement: CgroupPlacement = { dirs: [], created: [] };
  const cpusetMount = layout.v1Mounts.cpuset;
  const makeOnce = (root: string): string => {
    let dir = root;
    for (const part of path.split("/").filter(Boolean)) {
      const parent = dir;
      dir = join(dir, part);
      if (mkdirMissing(dir) && !placement.created.includes(dir)) placement.created.unshift(dir);
      // Top down, so each level copies from a parent already filled in.
      if (root === cpusetMount) inheritCpuset(parent, dir);
    }
    return dir;
  };
  const make = (root: string): string => {
    for (let attempt = 1; ; attempt++) {
      try {
        return makeOnce(root);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= MKDIR_ATTEMPTS) throw err;
      }
    }
  };
  try {
    for (const mp of v1MountPoints(layout)) placement.dirs.push(make(mp));
    if (layout.v2Mount) {
      placement.unified = make(layout.v2Mount);
      placement.dirs.push(placement.unified);
    }
  } catch (err) {
    removeCgroupDirs(placement.created);
    throw err;
  }
  return placement;
}

/** How often a path is made again after a parent vanished under it (each time, a concurrent delete). */
const MKDIR_ATTEMPTS = 5;

/** mkdir, true if this call made it; false if it was there (or another process made it meanwhile). */
function mkdirMissing(dir: string): boolean {
  if (existsSync(dir)) return false;
  try {
    mkdirSync(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/**
 * A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems (unless its parent has
 * cgroup.clone_children), and joining it fails with ENOSPC until they are set; nor can they be
 * set while the parent's are empty (a child's set must lie within its parent's: EACCES). So
 * every level of the path, from the hierarchy's root down, that has an empty file gets its
 * parent's copy: the nearest ancestor's values reach the container's directory through each
 * level on the way. That includes a level berth did not create, such as a pod cgroup an engine
 * (or a person) made with an empty cpuset: runc 1.1.5 does the same (fs/cpuset.go
 * cpusetEnsureParent and cpusetCopyIfNeeded write every empty level from the mount point
 * down), and without it no process can ever enter the container's cgroup. A level whose files
 * are set is never written; a pre-existing level filled in here keeps its values after
 * delete, as with runc.
 */
function inheritCpuset(parent: string, dir: string): void {
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    const mine = join(dir, file);
    if (!existsSync(mine) || readFileSync(mine, "utf8").trim() !== "") continue;
    writeFileSync(mine, readFileSync(join(parent, file), "utf8"));
  }
}

/**
 * Move a process into every v1 directory, and into the cgroup2 one too with `unified`. clone3
 * places a container's process straight into its cgroup2 directory (CLONE_INTO_CGROUP) only
 * when create made that directory: Linux 6.18 (this host's 6.18.44) SIGKILLs at birth every
 * process cloned into a cgroup that has ever had cgroup.kill written, while a process moved in
 * through cgroup.procs lives. So into a directory that was there before (a cgroupsPath shared
 * with a container since killed), the process is moved like into the v1 ones.
 */
export function joinCgroups(placement: CgroupPlacement, pid: number, unified: boolean): void {
  for (const dir of placement.dirs) {
    if (dir === placement.unified && !unified) continue;
    const file = join(dir, "cgroup.procs");
    try {
      writeFileSync(file, `${pid}\n`);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      e.path ??= file;
      e.syscall ??= "write";
      throw e;
    }
  }
}

/** The processes of a cgroup and of every cgroup below it (exec --cgroup puts some there). */
export function cgroupPidsRecursive(dir: string): number[] {
  const out = cgroupPids(dir);
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) if (e.isDirectory()) out.push(...cgroupPidsRecursive(join(dir, e.name)));
  return out;
}

export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * rmdir, deepest first; a directory already gone is fine. A directory this container created
 * as a parent of its own (the first container makes /berth) may meanwhile hold other
 * containers: it stays, busy, and that is not a failure. The container's own cgroup may hold
 * child cgroups its processes made (a delegated cgroup, a nested runtime): those are the
 * container's, and go first, deepest first. Returns the ones that failed.
 */
export function removeCgroupDirs(
  dirs: readonly string[],
  rmdir: (dir: string) => void = rmdirSync,
): { dir: string; error: NodeJS.ErrnoException }[] {
  const failed: { dir: string; error: NodeJS.ErrnoException }[] = [];
  const isParent = (dir: string) => dirs.some((d) => d.startsWith(`${dir}/`));
  for (const dir of dirs) {
    try {
      try {
        rmdir(dir);
      } catch (err) {
        // Cgroups made below it (exec --cgroup, or by the container itself): those first.
        // (cgroupfs says EBUSY; a plain directory, ENOTEMPTY.)
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== "EBUSY" && code !== "ENOTEMPTY") || isParent(dir)) throw err;
        removeChildCgroups(dir, rmdir);
        rmdir(dir);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "ENOENT") continue;
      if ((e.code === "EBUSY" || e.code === "ENOTEMPTY") && isParent(dir)) continue;
      failed.push({ dir, error: e });
    }
  }
  return failed;
}

/**
 * removeCgroupDirs, and for a directory the kernel still calls busy (EBUSY: a killed task has
 * not finished exiting), wait until it is empty and try again, for up to `timeoutMs` in all
 * (remove.ts). No wait when the first rmdir pass succeeds. `rmdir` is for tests.
 */
export function removeCgroupDirsSettled(
  dirs: readonly string[],
  opts: { timeoutMs?: number; rmdir?: (dir: string) => void; sleep?: (ms: number) => Promise<void> } = {},
): Promise<CgroupRemoveFailure[]> {
  return settleCgroupRemoval(() => removeCgroupDirs(dirs, opts.rmdir), {
    timeoutMs: opts.timeoutMs,
    sleep: opts.sleep,
    pidsIn: cgroupPidsRecursive,
  });
}

/** Every cgroup below `dir`, deepest first (a cgroup directory's only subdirectories are cgroups). */
function removeChildCgroups(dir: string, rmdir: (dir: string) => void): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // gone, or not readable: rmdir of dir reports what matters
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    removeChildCgroups(join(dir, e.name), rmdir);
    rmdir(join(dir, e.name));
  }
}
