/** A container's cgroup directories, from its record and the host's layout now. */
import { cgroupPathFor, cgroupSetFor, detectCgroups, type CgroupLayout, type CgroupSet } from "../cgroups";
import type { Spec } from "../spec";
import type { ContainerSummary } from "../state";

/**
 * `layout`: the Runtime's (rt.cgroups.detect()) where the caller has one; else this host's.
 * Every record since cgroupPath was added names its path; an older one holds its config inline
 * (state.json had it whole), which says it.
 */
/** The one directory that holds all of the container's processes: cgroup2's, else the first hierarchy's. */
export function leafCgroupDir(record: ContainerSummary): string | undefined {
  return record.cgroupUnified ?? record.cgroupDirs[0] ?? record.cgroupShared?.[0];
}

export function cgroupSetOf(record: ContainerSummary & { config?: Spec }, layout: CgroupLayout = detectCgroups()): CgroupSet {
  const path = record.cgroupPath ?? cgroupPathFor(record.config?.linux?.cgroupsPath, record.id);
  return cgroupSetFor(layout, path, record.cgroupDirs);
}
