/** The cgroups room: host layout detection now; resources and drivers with the cgroups issue. */
export { detectCgroups, layoutFromMountinfo, availableControllers, type CgroupLayout, type CgroupMode } from "./detect";
export { cgroupPathFor, createCgroupDirs, joinV1, removeCgroupDirs, cgroupPids, v1MountPoints, type CgroupPlacement } from "./placement";
export { v1Writes, v2Writes, v1DeviceWrites, deviceFilterRules, defaultAllowedDevices, deviceRuleText, sharesToWeight, blkioWeightToIoWeight, swapToV2, ResourceError, type CgroupWrite, type DeviceFilterRule } from "./resources";
export { applyResources, cgroupSetFor, planWrites, deviceFilterFor, setFrozen, isFrozen, CgroupWriteError, type CgroupSet } from "./driver";
