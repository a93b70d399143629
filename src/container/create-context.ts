/**
 * What create's steps share (container/create.ts lists them in order): the call, the loaded
 * bundle, the undo log, the record kept up to date from "creating" on, and the fds the parent
 * holds until the launch.
 */
import { closeSync } from "node:fs";
import type { ContainerRecord, ContainerSummary } from "../state";
import type { Spec } from "../spec";
import type { LoadedBundle } from "./bundle";
import type { CreateOptions } from "./create";
import type { Runtime } from "./runtime";
import type { Undo } from "./undo";

export interface CreateContext {
  rt: Runtime;
  opts: CreateOptions;
  id: string;
  bundle: LoadedBundle;
  spec: Spec;
  rootfs: string;
  undo: Undo;
  /** The record of a create in progress ("creating"): what `delete --force` must remove. */
  creating: ContainerRecord;
  /** fds the parent opened for berth-init, closed once it is launched (or create fails). */
  parentFds: ParentFds;
}

export class ParentFds {
  private fds: number[] = [];
  add(fd: number): number {
    this.fds.push(fd);
    return fd;
  }
  closeAll(): void {
    for (const fd of this.fds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
  }
}

/** The record without its config (state.json; config.json was written with the first record). */
export function summaryOf(record: ContainerRecord): ContainerSummary {
  const { config: _config, ...summary } = record;
  return summary;
}
