/** The spec room: parse, validate and describe OCI configs. Pure: no fs, no processes. */
export type * from "./types";
export { parseJson } from "./parse";
export { mountKind, type MountKind, type MountLike } from "./mount-kind";
export { validateConfig, validateProcess, validateState, validateFeatures, type Validated } from "./validate";
export { semanticProblems } from "./semantic";
export { defaultSpec, DEFAULT_OCI_VERSION, SPEC_VERSION, type DefaultSpecOptions } from "./default-spec";
export { capabilityNumbers, allCapabilities, capabilitySets } from "./capabilities";
export { rlimitNumbers } from "./rlimits";
export { joinField, pointerToField } from "./field-path";
export { IFNAMSIZ, interfaceNameProblem, isNameTemplate, matchesNameTemplate, netDeviceField } from "./net-device-names";
