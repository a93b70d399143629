/**
 * The cgroup drivers: everything the lifecycle does to a container's cgroups, behind one
 * interface (docs/architecture.md, "Cgroups"), so that no verb asks which driver it has.
 *
 * - cgroupfs (`fsCgroupDriver`, below): berth makes the directories, writes every limit into
 *   files and removes the directories at delete.
 * - systemd (`systemdCgroupDriver`, systemd-driver.ts, --systemd-cgroup): the same directories,
 *   then a transient scope unit systemd adopts them with; systemd takes the limits it has
 *   properties for, and stops the unit (and so removes its directories) at delete.
 *
 * container/cgroup-driver.ts chooses one per container: from --systemd-cgroup at create, from
 * the record (its systemd unit) for every later verb. A Runtime's `cgroups` is the cgroupfs
 * driver; tests build one over recording fakes with `cgroupfsDriver`.
 */
import { detectCgroups, type CgroupLayout } from "./detect";
import { applyResources, waitCgroupEmpty, type CgroupSet } from "./files";
import {
  cgroupPathFor,
  cgroupPids,
  createCgroupDirs,
  joinCgroups,
  removeCgroupDirs,
  removeCgroupDirsSettled,
  type CgroupPlacement,
} from "./placement";
import type { CgroupRemoveFailure } from "./remove";
import { readStats, type ContainerStats } from "./stats";
import type { Resources } from "../spec";

/** Where a driver registers what create must undo if it fails later (create's undo log). */
export interface UndoSteps {
  push(what: string, fn: () => void | Promise<void>): void;
}

/** The directory work both drivers do the same way (fakes replace these in tests). */
export interface CgroupDirs {
  detect(): CgroupLayout;
  create(layout: CgroupLayout, path: string): CgroupPlacement;
  joinCgroups(placement: CgroupPlacement, pid: number, unified: boolean): void;
  pids(dir: string): number[];
  /**
   * rmdir, deepest first, retrying a directory the kernel still calls busy (EBUSY) once it has
   * emptied, within a short deadline, unless `settle` is false (a directory another container
   * may still use). Resolves to what failed, with the processes still in a busy one.
   */
  remove(dirs: readonly string[], opts?: { settle?: boolean }): Promise<CgroupRemoveFailure[]>;
  /** Resolve true once no process is left in `dir` or below, false at the deadline. */
  waitEmpty(dir: string, timeoutMs: number): Promise<boolean>;
  /** Write linux.resources (and the device rules) into the container's directories. */
  apply(set: CgroupSet, res: Resources | undefined, warn: (msg: string) => void): void;
}

/** What create tells the driver before it makes anything (`prepare`). */
export interface PrepareRequest {
  id: string;
  cgroupsPath: string | undefined;
  resources: Resources | undefined;
  layout: CgroupLayout;
  undo: UndoSteps;
}

/**
 * One container's cgroups from create's `prepare` to its record. Errors are the cgroups
 * room's own (ResourceError, CgroupWriteError, SystemdError, SystemdConnectError);
 * container/cgroup-driver.ts turns them into the user's message.
 */
export interface CgroupLease {
  /** The transient unit systemd made for the container (recorded; delete and update use it). */
  readonly unit?: string;
  /** The part of linux.resources that is written as files. */
  readonly fileResources: Resources | undefined;
  /** Whether directories that were there before may be another berth container's (runc allows a shared cgroupsPath). */
  readonly mayShare: boolean;
  /**
   * The init exists and is in its cgroups (`path`, `placement`): hand it over (systemd:
   * StartTransientUnit with its pid). Registers the reverse in `undo`; `stopInit` kills the init
   * and waits for its death. When the directories berth owns change, `record` hears of them at
   * once (for a create killed from there on) and they are the result; else undefined.
   */
  adopt(req: {
    pid: number;
    path: string;
    placement: CgroupPlacement;
    undo: UndoSteps;
    stopInit: () => Promise<void>;
    warn: (msg: string) => void;
    record: (dirs: string[]) => void;
  }): Promise<string[] | undefined>;
  /** create is done: close what `prepare` opened. */
  close(): void;
}

export interface CgroupDriver extends CgroupDirs {
  readonly kind: "cgroupfs" | "systemd";
  /** linux.cgroupsPath -> the container's path in each hierarchy; an Error for a malformed one. */
  pathFor(cgroupsPath: string | undefined, id: string): string;
  /** create, before any directory is made: split the limits and open what the driver needs. */
  prepare(req: PrepareRequest): Promise<CgroupLease>;
  /** update: new limits for a live container, whose directories are `set` (`unit` from its record). */
  update(target: { id: string; unit?: string; set: CgroupSet }, res: Resources, warn: (msg: string) => void): Promise<void>;
  /** delete, once the processes are gone and before the directories are removed. */
  release(target: { id: string; unit?: string }): Promise<void>;
  /** The container's resource usage (events --stats). */
  stats(set: CgroupSet): ContainerStats;
}

/** A cgroupfs driver over the given directory work (the real one is `fsCgroupDriver`). */
export function cgroupfsDriver(dirs: CgroupDirs): CgroupDriver {
  return {
    ...dirs,
    kind: "cgroupfs",
    pathFor: (cgroupsPath, id) => cgroupPathFor(cgroupsPath, id),
    prepare: async (req) => ({
      fileResources: req.resources,
      mayShare: true,
      adopt: async () => undefined,
      close: () => undefined,
    }),
    update: async (target, res, warn) => dirs.apply(target.set, res, warn),
    release: async () => undefined,
    stats: readStats,
  };
}

/** The cgroupfs driver: plain directories and file writes under the host's mounts. */
export const fsCgroupDriver: CgroupDriver = cgroupfsDriver({
  detect: () => detectCgroups(),
  create: createCgroupDirs,
  apply: applyResources,
  joinCgroups,
  pids: cgroupPids,
  remove: (dirs, opts) => (opts?.settle === false ? Promise.resolve(removeCgroupDirs(dirs)) : removeCgroupDirsSettled(dirs)),
  waitEmpty: waitCgroupEmpty,
});
