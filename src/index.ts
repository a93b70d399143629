/**
 * berth as a library, for Node programs. The lifecycle functions (create, start, state, kill,
 * delete, run) arrive with the lifecycle issue; what is here works today.
 */
export { BerthError, type Problem } from "./errors";
export { validateConfig, validateProcess, defaultSpec, type Spec, type Process, type State } from "./spec";
export { checkBundle, featuresDocument, loadBundle, type CheckReport } from "./container";
