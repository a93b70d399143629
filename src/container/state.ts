/** state and list: the OCI state of one container, or of all under the root. */
import type { State } from "../spec";
import { ociState, type ContainerSummary } from "../state";
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

/** Every container with a state file; reads only state files (and /proc for liveness). */
export function list(rt: Runtime): StateOutput[] {
  const out: StateOutput[] = [];
  for (const id of rt.store.ids()) {
    const record = rt.store.tryReadSummary(id);
    if (record) out.push(output(record, liveStatus(rt.store, record)));
  }
  return out;
}
