/** The container room: the lifecycle (from the lifecycle issue on) and bundle-level verbs. */
export { loadBundle, bundleDir, readConfig, type LoadedBundle } from "./bundle";
export { checkBundle, type CheckReport } from "./check";
export { featuresDocument, type FeaturesInfo } from "./features";
export { writeDefaultSpec } from "./spec-file";
export { gatherHostFacts } from "./host-facts";
