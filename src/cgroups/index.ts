/** The cgroups room: host layout detection now; resources and drivers with the cgroups issue. */
export { detectCgroups, layoutFromMountinfo, availableControllers, type CgroupLayout, type CgroupMode } from "./detect";
export { cgroupPathFor, createCgroupDirs, joinV1, removeCgroupDirs, cgroupPids, v1MountPoints, fsCgroupDriver, type CgroupDriver, type CgroupPlacement } from "./placement";
