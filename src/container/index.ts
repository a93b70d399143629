/** The container room: the lifecycle and bundle-level verbs. */
export { loadBundle, bundleDir, readConfig, readBoundedFile, MAX_CONFIG_BYTES, type LoadedBundle } from "./bundle";
export { checkBundle, explainBundle, type CheckReport } from "./check";
export { featuresDocument, type FeaturesInfo } from "./features";
export { writeDefaultSpec } from "./spec-file";
export type { Runtime, LifecycleNative } from "./runtime";
export { create, type CreateOptions } from "./create";
export { start } from "./start";
export { state, list, type StateOutput } from "./state";
export { kill } from "./kill";
export { destroy } from "./delete";
export { run, type RunOptions } from "./run";
export { parseSignal } from "./signals";
export { liveStatus } from "./status";
export { defaultRuntime } from "./default-runtime";
export { explainSpec, renderExplained, type Explained } from "./explain";
export { pause, resume } from "./pause";
export { update, mergeResources, planUpdate, readResourcesStdin } from "./update";
export { checkResourcesRequest } from "./resources-request";
export { exec, processFromArgs, type ExecOptions, type ExecArgs, type Execed } from "./exec";
export { ps, containerProcesses, filterPsOutput } from "./ps";
export { events, stats, oomCount, parseInterval, statsJson, type ContainerEvent } from "./events";
export {
  imageLoad,
  imageSave,
  imageRemove,
  imageBundle,
  imageList,
  imageInspect,
  imageHistory,
  layerDiff,
  layerCommit,
  layerExport,
  type ImageSummary,
  type HistoryRow,
  type LoadProgress,
} from "./image";
