/** The plan room: pure decisions from a validated spec and host facts. */
export type { HostFacts, Limit } from "./host-facts";
export { hostProblems } from "./host-check";
export { knownMountOptions, flagOptions, propagationOptions, recursiveOptions, MS, MOUNT_ATTR } from "./mount-options";
