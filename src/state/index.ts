/** The state room: container state directories, atomic writes, locks. */
export { PID_FILE_WRITE, writeFileAtomic, type AtomicOptions } from "./atomic";
export {
  StateStore,
  checkId,
  ociState,
  UNREADABLE_STATE,
  type BrokenStateDir,
  type ContainerRecord,
  type ContainerSummary,
  type Flock,
} from "./store";
export { readFdToEnd, readSmallFile } from "./read-small";
