/**
 * The state root (default /run/berth, or --root): one directory per container holding
 * state.json (written atomically), config.json (the config it was created from, with update's
 * changes), exec.fifo (exists while the container is "created") and a lock file. Commands on
 * one container are serialised with flock(2) on the lock file; the flock primitive comes from
 * the native surface and is passed in, so this room does no syscalls Node cannot.
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  constants,
} from "node:fs";
import { join } from "node:path";
import { BerthError, errnoText } from "../errors";
import type { IdMapping, Spec, State, Status } from "../spec";
import { writeFileAtomic } from "./atomic";
import { readSmallFile } from "./read-small";

/** What berth records about a container: the OCI state plus what it needs to manage it. */
export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /**
   * The status when last written: "created" by create, "running" by start and resume, "paused"
   * by pause. `state` derives the live status (status.ts), which reads this field only to tell
   * a paused container from a running one.
   */
  status: Status;
  pid: number;
  bundle: string;
  annotations?: Record<string, string>;
  /** ISO time of creation (`list` shows it). */
  created: string;
  rootfs: string;
  /** /proc/<pid>/stat field 22: identifies the process beyond its (recyclable) pid. */
  pidStartTime: string;
  /** Cgroup directories berth created for this container, deepest first (delete removes them). */
  cgroupDirs: string[];
  /**
   * Cgroup directories another berth container made that this one joined (a shared
   * cgroupsPath): whichever of them is deleted last removes them, once they are empty.
   */
  cgroupShared?: string[];
  /** The container's cgroup path within each hierarchy (/berth/<id>, or from cgroupsPath). */
  cgroupPath?: string;
  /** The unified (cgroup2) directory, if any: freezer and cgroup.kill. */
  cgroupUnified?: string;
  /** --systemd-cgroup: the transient unit systemd made for the container ("berth-c1.scope"). */
  systemdUnit?: string;
  /** The config the container was created from (hooks at delete, exec defaults). */
  config: Spec;
  /** Plan indexes of the startContainer hooks' runHook ops, in order (start maps a failure back). */
  startHookOps?: number[];
  userns?: { uidMappings: IdMapping[]; gidMappings: IdMapping[] };
  /**
   * A container without a mount namespace of its own: its mounts are in the host's table under
   * `root` (the rootfs, symlinks resolved); `before` are the mount ids there before create,
   * which are not the container's. delete unmounts the others.
   */
  hostMounts?: { root: string; before: number[] };
  owner?: string;
}

/**
 * A record without its config: what state.json holds, and all that `list` reads. The config
 * is most of a record (2.5 KB of 3 for the default spec), so `list` of 500 containers parsed
 * 1.2 MB of JSON it never looked at; it lives in config.json beside, and read() joins the two.
 */
export type ContainerSummary = Omit<ContainerRecord, "config">;

export type Flock = (fd: number, op: "sh" | "ex" | "un", nonblocking?: boolean) => boolean;

/** runc's rule for ids: letters, digits and _ + - . only; no path tricks. */
const validId = /^[\w+.-]+$/;

/** The start of the reason readSummary gives for a state.json that is not a record (delete --force removes such a directory). */
export const UNREADABLE_STATE = "is not a valid state file";

/** A container directory `list` cannot show, why, and whether `delete --force` is the cure. */
export interface BrokenStateDir {
  id: string;
  /** The directory, or its state.json when that is what is wrong. */
  dir: string;
  reason: string;
  removable: boolean;
}

/** state.json's text as a record: JSON, and an object (not null, an array or a number). */
function parseSummary(text: string): ContainerSummary {
  const v = JSON.parse(text) as unknown;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`not a JSON object: ${text.trim().slice(0, 40)}`);
  return v as ContainerSummary;
}

/** An id names a directory under the root: no longer than a file name may be (NAME_MAX). */
const MAX_ID_LENGTH = 255;

export function checkId(op: string, id: string): void {
  if (!validId.test(id) || id === "." || id === "..") {
    // Shown quoted when it would not read as one word: an id "a\nb" made a second line of the
    // message (found by the CLI fuzzer), and an empty one vanished from it.
    const shown = id === "" || /[\u0000-\u0020\u007f-\u009f]/.test(id) ? JSON.stringify(id) : id;
    throw new BerthError({ code: "invalid-argument", op, id: shown, reason: "invalid container id: use letters, digits and _ + - . only" });
  }
  if (id.length > MAX_ID_LENGTH) {
    throw new BerthError({
      code: "invalid-argument",
      op,
      id: `${id.slice(0, 32)}...`,
      reason: `invalid container id: ${id.length} characters, at most ${MAX_ID_LENGTH}`,
    });
  }
}

export class StateStore {
  /**
   * The root with one trailing slash. The paths below are concatenated, not path.join()ed:
   * ids are checked names (never "." or ".."), and join's normalising was 6 ms of `list` of 500.
   */
  private readonly prefix: string;
  /** Lock fds createDir made and locked for this process's create, for its lock() to take over. */
  private readonly made = new Map<string, number>();

  constructor(
    readonly root: string,
    private readonly flock: Flock,
  ) {
    this.prefix = join(root, "/");
  }

  dir(id: string): string {
    return this.prefix + id;
  }
  fifoPath(id: string): string {
    return `${this.prefix}${id}/exec.fifo`;
  }
  statePath(id: string): string {
    return `${this.prefix}${id}/state.json`;
  }

  /** Make the container's directory; fails if the id is taken (runc: "container with id exists"). */
  createDir(op: string, id: string): string {
    checkId(op, id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const dir = this.dir(id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST")
        throw new BerthError({ code: "container-exists", op, id, reason: `container with id exists: ${id}` });
      throw new BerthError({ op, id, field: dir, reason: "mkdir", errno: (err as NodeJS.ErrnoException).code ?? "EIO", cause: err });
    }
    // The lock file is made with the directory, and only here: the other verbs open it
    // without O_CREAT, so they can never recreate it in a directory being removed. It is locked
    // at once, and create's lock() takes this fd over (see lock): until create has written the
    // state file, a `delete --force` that finds the directory waits, instead of removing it as
    // a crashed create's and letting the next create of the id share the lock with this one.
    let fd: number | undefined;
    try {
      fd = openSync(this.lockPath(id), constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
      this.flock(fd, "ex");
    } catch (err) {
      // Nothing can be locked (the native part is missing, say): take back the lock file and
      // the directory made just above, so that the failed create leaves nothing behind. Both
      // are this call's (mkdir and O_EXCL succeeded), and no other verb can have locked them.
      if (fd !== undefined) closeSync(fd);
      rmSync(this.lockPath(id), { force: true });
      try {
        rmdirSync(dir);
      } catch {
        // Not empty or gone: not ours to remove further.
      }
      throw err;
    }
    this.made.set(id, fd);
    return dir;
  }

  lockPath(id: string): string {
    return `${this.prefix}${id}/lock`;
  }

  /** Exclusive lock on one container for the life of `fn`; released by close even on a crash. */
  withLock<T>(op: string, id: string, fn: () => T): T {
    const fd = this.lock(op, id);
    try {
      return fn();
    } finally {
      closeSync(fd);
    }
  }

  async withLockAsync<T>(op: string, id: string, fn: () => Promise<T>): Promise<T> {
    const fd = this.lock(op, id);
    try {
      return await fn();
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Open and flock the lock file. Whoever held it before us may have removed the container
   * (delete, a failed create) and a new create may have made another directory with the same
   * id meanwhile: a lock on the old, unlinked file serialises with nobody. So once locked,
   * the path must still name the file we hold; otherwise look again.
   */
  private lock(op: string, id: string): number {
    checkId(op, id);
    const path = this.lockPath(id);
    for (;;) {
      // The lock createDir took for this create: if its directory is no longer the one at the
      // path (removed by someone who locked it first, between its open and its flock), the
      // container this create was making is gone; another one with the id is not its to fill.
      const mine = this.made.get(id);
      this.made.delete(id);
      let fd: number;
      try {
        fd = mine ?? openSync(path, constants.O_RDWR);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT")
          throw new BerthError({ code: "container-not-found", op, id, reason: "container does not exist" });
        throw err;
      }
      let current = false;
      try {
        if (mine === undefined) this.flock(fd, "ex");
        const held = fstatSync(fd);
        const now = statSync(path, { throwIfNoEntry: false });
        current = now !== undefined && now.ino === held.ino && now.dev === held.dev;
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      if (current) return fd;
      closeSync(fd);
      if (mine !== undefined) throw new BerthError({ code: "container-not-found", op, id, reason: "container does not exist" });
    }
  }

  configPath(id: string): string {
    return `${this.prefix}${id}/config.json`;
  }

  /**
   * Write the whole record: config.json, then state.json, each replaced atomically (temp file,
   * fsync, rename: a reader or a crash never sees half of one). state.json last, because it is
   * what makes the container exist for `state` and `list`. No directory fsync: see atomic.ts
   * (the state of a container does not outlive a crash that would lose the rename).
   */
  write(record: ContainerRecord, durable = true): void {
    const { config, ...summary } = record;
    writeFileAtomic(this.configPath(record.id), JSON.stringify(config) + "\n", 0o600, { syncFile: durable, syncDir: false });
    writeFileAtomic(this.statePath(record.id), JSON.stringify(summary) + "\n", 0o600, { syncFile: durable, syncDir: false });
  }

  /**
   * state.json alone, atomically, not fsynced: create's "creating" records as it goes (what a
   * delete needs to find if create is killed), and the status changes below. See writeStatus
   * for why no fsync is needed.
   */
  writeSummary(summary: ContainerSummary): void {
    writeFileAtomic(this.statePath(summary.id), JSON.stringify(summary) + "\n", 0o600, { syncFile: false, syncDir: false });
  }

  /**
   * Replace the status of a record that create already wrote durably (start, pause, resume):
   * state.json only, still temp + rename, so a reader sees the old record or the new one, never
   * half of either; not fsynced. The status matters only while the container's processes live,
   * and no crash that could lose the write leaves them alive (after one, `state` derives
   * "stopped" from the dead pid whatever the file says). ext4 flushes a file renamed over an
   * existing one at the rename (auto_da_alloc), and the usual root, /run, is a tmpfs. An fsync
   * here cost 1-25 ms per start on this host's ext4 under load (bench/results.md).
   * `summary`: as readSummary returned it, so that a record written whole by an older berth
   * keeps its config (it has no config.json); not a record read() joined.
   */
  writeStatus(summary: ContainerSummary, status: Status): void {
    this.writeSummary({ ...summary, status });
  }

  /** The record, or a "container does not exist" error (runc's wording, which engines match). */
  read(op: string, id: string): ContainerRecord {
    return this.withConfig(op, this.readSummary(op, id));
  }

  /** state.json alone (`state` needs no config), or "container does not exist". */
  readSummary(op: string, id: string): ContainerSummary {
    checkId(op, id);
    let text: string;
    try {
      text = readSmallFile(this.statePath(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new BerthError({ code: "container-not-found", op, id, reason: "container does not exist" });
      throw err;
    }
    try {
      return parseSummary(text);
    } catch (err) {
      throw new BerthError({
        op,
        id,
        field: this.statePath(id),
        reason: `${UNREADABLE_STATE} (${(err as Error).message.replace(/\s+/g, " ")}): \`berth delete --force ${id}\` removes it`,
        cause: err,
      });
    }
  }

  /** The summary's config joined to it (a record written whole, before config.json, has it). */
  withConfig(op: string, summary: ContainerSummary): ContainerRecord {
    if ("config" in summary) return summary as ContainerRecord;
    const path = this.configPath(summary.id);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "EIO";
      throw new BerthError({ op, id: summary.id, field: path, reason: "read", errno: code, cause: err });
    }
    return { ...summary, config: JSON.parse(text) as Spec };
  }

  /** Ids with a state file (a directory without one is a create in progress or a crash). */
  ids(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    return names.filter((n) => validId.test(n)).sort();
  }

  /** state.json alone (no config), or undefined when there is none or it is not whole. */
  tryReadSummary(id: string): ContainerSummary | undefined {
    try {
      return parseSummary(readSmallFile(this.statePath(id)));
    } catch {
      return undefined;
    }
  }

  /**
   * For `list`: every container's state.json, and the directories that have no readable one
   * although nobody is working on them (a create that crashed before writing it, a file
   * damaged by hand or by the disk), with the reason. A directory whose lock is held is a create
   * or a delete under way, and not a problem: skipped, as is anything at the root that is not
   * a directory. Only a directory without a valid state.json costs more than reading it.
   */
  scan(): { summaries: ContainerSummary[]; broken: BrokenStateDir[] } {
    const summaries: ContainerSummary[] = [];
    const broken: BrokenStateDir[] = [];
    for (const id of this.ids()) {
      const dir = this.dir(id);
      const path = this.statePath(id);
      let text: string;
      try {
        text = readSmallFile(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOTDIR") continue; // a file beside the containers: not one
        if (code === "ENOENT") {
          if (!this.busy(id) && statSync(dir, { throwIfNoEntry: false })?.isDirectory())
            broken.push({ id, dir, reason: "has no state.json", removable: true });
          continue;
        }
        broken.push({ id, dir: path, reason: `read: ${errnoText(code ?? "EIO")}`, removable: false });
        continue;
      }
      try {
        summaries.push(parseSummary(text));
      } catch (err) {
        broken.push({ id, dir: path, reason: `${UNREADABLE_STATE} (${(err as Error).message.replace(/\s+/g, " ")})`, removable: true });
      }
    }
    return { summaries, broken };
  }

  /** Whether a create or delete holds the container's lock now (a shared, non-blocking try). */
  private busy(id: string): boolean {
    let fd: number;
    try {
      fd = openSync(this.lockPath(id), constants.O_RDWR);
    } catch {
      return false; // no lock file: not a create (it makes one with the directory) nor a delete
    }
    try {
      return !this.flock(fd, "sh", true);
    } catch {
      return false;
    } finally {
      closeSync(fd);
    }
  }

  /** The cgroup directories the containers of this root made or joined (cgroupDirs, cgroupShared), but `except`'s. */
  cgroupDirsInUse(except?: string): Set<string> {
    const dirs = new Set<string>();
    for (const id of this.ids()) {
      if (id === except) continue;
      const s = this.tryReadSummary(id);
      for (const d of [...(s?.cgroupDirs ?? []), ...(s?.cgroupShared ?? [])]) dirs.add(d);
    }
    return dirs;
  }

  /**
   * Remove the container's directory. state.json goes first, in one unlink: from then on
   * `state` and `list` say the container does not exist, instead of reading a half-removed
   * directory.
   */
  remove(id: string): void {
    checkId("delete", id);
    // A create undone before its lock() took over the lock createDir made.
    const mine = this.made.get(id);
    if (mine !== undefined) {
      this.made.delete(id);
      closeSync(mine);
    }
    try {
      unlinkSync(this.statePath(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}

/** The OCI state document (runtime.md "State") for a record and a live status. */
export function ociState(record: ContainerSummary, status: Status): State {
  const state: State = { ociVersion: record.ociVersion, id: record.id, status, bundle: record.bundle };
  // runtime.md: pid is REQUIRED when status is created or running on Linux; runc prints 0 once stopped.
  state.pid = status === "stopped" ? 0 : record.pid;
  if (record.annotations && Object.keys(record.annotations).length) state.annotations = record.annotations;
  return state;
}
