/** A container's cgroup directories, from its record and the host's layout now. */
import { cgroupPathFor, cgroupSetFor, detectCgroups, type CgroupLayout, type CgroupSet } from "../cgroups";
import type { ContainerRecord } from "../state";

/** `layout`: the Runtime's (rt.cgroups.detect()) where the caller has one; else this host's. */
export function cgroupSetOf(record: ContainerRecord, layout: CgroupLayout = detectCgroups()): CgroupSet {
  const path = record.cgroupPath ?? cgroupPathFor(record.config.linux?.cgroupsPath, record.id);
  return cgroupSetFor(layout, path, record.cgroupDirs);
}
