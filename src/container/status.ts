/**
 * The live status of a container, derived each time (runtime.md: state reports the status now,
 * not what was last written): stopped when the recorded process is gone (or its pid now belongs
 * to another process); paused when berth froze its cgroup; created while the exec fifo exists;
 * running otherwise.
 */
import { existsSync } from "node:fs";
import { isFrozen } from "../cgroups";
import type { Status } from "../spec";
import type { ContainerSummary, StateStore } from "../state";
import { cgroupSetOf } from "./cgroup-of";
import { isAlive } from "./proc";

/** As runc decides it: stopped, else paused (frozen, even before start), else created or running. */
export function liveStatus(store: StateStore, record: ContainerSummary): Status {
  // A create in progress, or one that was killed (its berth-init may still wait): "creating"
  // until create writes "created"; `delete` removes it. A killed one whose berth-init is gone
  // (or was never launched: pid 0, then still creating) is stopped.
  if (record.status === "creating") return record.pid === 0 || isAlive(record.pid, record.pidStartTime) ? "creating" : "stopped";
  if (!isAlive(record.pid, record.pidStartTime)) return "stopped";
  // Only a container berth has paused can be frozen; skip the cgroup read otherwise.
  if (record.status === "paused" && isFrozen(cgroupSetOf(record))) return "paused";
  if (existsSync(store.fifoPath(record.id))) return "created";
  return "running";
}
