/**
 * The cgroups room: the host's layout (v2, hybrid, v1), where a container's cgroups are and
 * making, joining and removing them (placement.ts), linux.resources as file writes (resources.ts,
 * pure) and writing them with the freezer and the v2 device filter rules (files.ts), the two
 * CgroupDrivers the lifecycle uses (driver.ts: cgroupfs; systemd-driver.ts: --systemd-cgroup),
 * stats, delegation to the container's root, exec --cgroup's sub-cgroups, and the systemd unit
 * properties and D-Bus calls (systemd-props.ts, systemd.ts).
 */
export { detectCgroups, layoutFromMountinfo, availableControllers, type CgroupLayout, type CgroupMode } from "./detect";
export {
  cgroupPathFor,
  systemdCgroupPath,
  createCgroupDirs,
  plannedCgroupDirs,
  joinCgroups,
  removeCgroupDirs,
  removeCgroupDirsSettled,
  cgroupPids,
  cgroupPidsRecursive,
  v1MountPoints,
  type CgroupPlacement,
} from "./placement";
export {
  cgroupfsDriver,
  fsCgroupDriver,
  type CgroupDriver,
  type CgroupDirs,
  type CgroupLease,
  type PrepareRequest,
  type UndoSteps,
} from "./driver";
export { systemdCgroupDriver, dirsSystemdLeaves } from "./systemd-driver";
export {
  v1Writes,
  v2Writes,
  v1DeviceWrites,
  deviceFilterRules,
  defaultAllowedDevices,
  deviceRuleText,
  sharesToWeight,
  blkioWeightToIoWeight,
  swapToV2,
  ResourceError,
  type CgroupWrite,
  type DeviceFilterRule,
} from "./resources";
export {
  applyResources,
  waitCgroupEmpty,
  orderMemoryWrites,
  cgroupSetFor,
  planWrites,
  deviceFilterFor,
  setFrozen,
  isFrozen,
  frozenState,
  CgroupWriteError,
  type CgroupSet,
} from "./files";
export { cgroupRemoveFailureText, REMOVE_BUSY_TIMEOUT_MS, type CgroupRemoveFailure } from "./remove";
export {
  readStats,
  readStatsV1,
  readStatsV2,
  oomKills,
  memoryPressure,
  memoryUsageText,
  statsJson,
  keyValues,
  type ContainerStats,
  type BlkioEntry,
  type MemoryEntry,
  type U64,
  type MemoryPressure,
} from "./stats";
export { cgroupOwner, delegateCgroup, DELEGATE_FALLBACK } from "./delegate";
export { parseSubCgroups, resolveSubCgroup, SubCgroupError, SUB_CGROUP_OUTSIDE, type SubCgroups } from "./sub-cgroup";
export {
  systemdUnitOf,
  unitResourceProperties,
  unitDeviceProperties,
  emulateDeviceRules,
  deviceGroupOf,
  baseUnitProperties,
  rangeToBits,
  cpuQuotaProperties,
  INFINITY,
  type UnitProperty,
  type DeviceAllowEntry,
  type DeviceHost,
} from "./systemd-props";
export {
  connectSystemd,
  openSystemdSession,
  startUnit,
  stopUnit,
  setUnitResources,
  systemdVersion,
  parseSystemdVersion,
  systemdBooted,
  systemdOwnsHierarchy,
  SystemdError,
  SystemdConnectError,
  NOT_RUNNING,
  type SystemdBus,
  type SystemdSession,
  type StartUnitRequest,
  type ConnectOptions,
} from "./systemd";
