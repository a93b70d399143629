/**
 * Which cgroup layout this host has. Three kinds exist in the wild:
 *  - unified: cgroup2 at /sys/fs/cgroup (every current distribution);
 *  - hybrid: v1 controllers at /sys/fs/cgroup/<name>, plus cgroup2 at /sys/fs/cgroup/unified
 *    (often with no controllers, but with the freezer and cgroup.kill files);
 *  - legacy: v1 only.
 * Detection reads /proc/self/mountinfo (what is mounted where), not guesses from paths.
 */
import { readFileSync } from "node:fs";

export type CgroupMode = "unified" | "hybrid" | "legacy" | "none";

export interface CgroupLayout {
  mode: CgroupMode;
  /** Where cgroup2 is mounted, if it is. */
  v2Mount?: string;
  /** Controllers enabled at the cgroup2 root (cgroup.controllers). */
  v2Controllers: string[];
  /** v1 controller name -> its mount point. */
  v1Mounts: Record<string, string>;
  /** Each v1 hierarchy: mount point and the options that mount it again ("cpu,cpuacct"). */
  v1Hierarchies: { mountPoint: string; data: string }[];
}

/** Parse mountinfo text; exported for tests with fixture text. */
export function layoutFromMountinfo(mountinfo: string, readControllers: (dir: string) => string[]): CgroupLayout {
  let v2Mount: string | undefined;
  const v1Mounts: Record<string, string> = {};
  const v1Hierarchies: { mountPoint: string; data: string }[] = [];
  for (const line of mountinfo.split("\n")) {
    // Fields: id parent major:minor root mountpoint options ... - fstype source superoptions
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    const mountPoint = (left[4] ?? "").replace(/\\040/g, " ");
    const fstype = right[0];
    // mountinfo lists mounts in the order they were made: a later mount on the same point, or
    // on a directory above it, hides what was there (a tmpfs over /sys/fs/cgroup/unified).
    const hides = (mp: string) => mp === mountPoint || mp.startsWith(mountPoint === "/" ? "/" : `${mountPoint}/`);
    if (v2Mount !== undefined && hides(v2Mount)) v2Mount = undefined;
    for (let i = v1Hierarchies.length - 1; i >= 0; i--) if (hides(v1Hierarchies[i]!.mountPoint)) v1Hierarchies.splice(i, 1);
    for (const [name, mp] of Object.entries(v1Mounts)) if (hides(mp)) delete v1Mounts[name];
    // The first visible mount of a hierarchy is the one used (as runc finds it); a later one
    // elsewhere is the same hierarchy mounted again, e.g. by a container that shares the host's
    // mount namespace, under its rootfs.
    if (fstype === "cgroup2") {
      v2Mount ??= mountPoint;
    } else if (fstype === "cgroup") {
      const opts = (right[2] ?? "").split(",");
      const data = opts.filter((o) => o !== "rw" && o !== "ro" && o !== "clone_children");
      const entry = { mountPoint, data: (data.every((o) => o.startsWith("name=") || o === "xattr") ? ["none", ...data] : data).join(",") };
      if (!v1Hierarchies.some((h) => h.mountPoint === mountPoint || h.data === entry.data)) v1Hierarchies.push(entry);
      for (const opt of opts) {
        if (opt === "rw" || opt === "ro" || opt.includes("=") || opt === "clone_children" || opt === "noprefix" || opt === "xattr")
          continue;
        v1Mounts[opt] ??= mountPoint;
      }
    }
  }
  const hasV1 = Object.keys(v1Mounts).length > 0;
  const mode: CgroupMode = v2Mount && !hasV1 ? "unified" : v2Mount ? "hybrid" : hasV1 ? "legacy" : "none";
  return { mode, v2Mount, v2Controllers: v2Mount ? readControllers(v2Mount) : [], v1Mounts, v1Hierarchies };
}

function readV2Controllers(dir: string): string[] {
  try {
    return readFileSync(`${dir}/cgroup.controllers`, "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

export function detectCgroups(mountinfoPath = "/proc/self/mountinfo"): CgroupLayout {
  return layoutFromMountinfo(readFileSync(mountinfoPath, "utf8"), readV2Controllers);
}

/** Controllers usable for limits: v2's on a unified host, v1's otherwise. */
export function availableControllers(layout: CgroupLayout): string[] {
  if (layout.mode === "unified") return layout.v2Controllers;
  return [...new Set([...Object.keys(layout.v1Mounts), ...layout.v2Controllers])];
}
