/** The state room: container state directories, atomic writes, locks (lifecycle issue). */
export { writeFileAtomic } from "./atomic";
