/** A container's cgroup directories, from its record and the host's layout now. */
import { cgroupPathFor, cgroupSetFor, detectCgroups, type CgroupSet } from "../cgroups";
import type { ContainerRecord } from "../state";

export function cgroupSetOf(record: ContainerRecord): CgroupSet {
  const path = record.cgroupPath ?? cgroupPathFor(record.config.linux?.cgroupsPath, record.id);
  return cgroupSetFor(detectCgroups(), path, record.cgroupDirs);
}
