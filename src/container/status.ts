/**
 * The live status of a container, derived each time (runtime.md: state reports the status now,
 * not what was last written): stopped when the recorded process is gone (or its pid now belongs
 * to another process); created while the exec fifo exists; paused when its cgroup is frozen;
 * running otherwise.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Status } from "../spec";
import type { ContainerRecord, StateStore } from "../state";
import { isAlive } from "./proc";

function frozen(record: ContainerRecord): boolean {
  if (!record.cgroupUnified) return false;
  try {
    return readFileSync(join(record.cgroupUnified, "cgroup.freeze"), "utf8").trim() === "1";
  } catch {
    return false;
  }
}

export function liveStatus(store: StateStore, record: ContainerRecord): Status {
  if (!isAlive(record.pid, record.pidStartTime)) return "stopped";
  if (existsSync(store.fifoPath(record.id))) return "created";
  return frozen(record) ? "paused" : "running";
}
