/** The state room: container state directories, atomic writes, locks. */
export { writeFileAtomic } from "./atomic";
export { StateStore, checkId, ociState, type ContainerRecord, type Flock } from "./store";
