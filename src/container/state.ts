/** state and list: the OCI state of one container, or of all under the root. */
import type { State } from "../spec";
import { ociState, type BrokenStateDir, type ContainerSummary } from "../state";
import type { Runtime } from "./runtime";
import { liveStatus } from "./status";

/** runc's `state` output: the OCI state plus rootfs, created and owner (engines read them). */
export type StateOutput = State & { rootfs: string; created: string; owner: string };

function output(record: ContainerSummary, status: State["status"]): StateOutput {
  return { ...ociState(record, status), rootfs: record.rootfs, created: record.created, owner: record.owner ?? "" };
}

export function state(rt: Runtime, id: string): StateOutput {
  const record = rt.store.readSummary("state", id);
  return output(record, liveStatus(rt.store, record));
}

/**
 * Every container with a state file; reads only state files (and /proc for liveness). A
 * directory without a valid one is not listed (there is nothing to show for it) but given to
 * `broken` (runc 1.1.5 prints "load container <id>: <error>" to stderr and goes on).
 */
export function list(rt: Runtime, broken: (b: BrokenStateDir) => void = () => undefined): StateOutput[] {
  const scanned = rt.store.scan();
  for (const b of scanned.broken) broken(b);
  return scanned.summaries.map((record) => output(record, liveStatus(rt.store, record)));
}
