/**
 * The cgroupfs file work: write the resource files (resources.ts decides what) into the
 * container's own directories, freeze and thaw. Only below the container's cgroup, except
 * cgroup.subtree_control of the v2 parents berth itself created (a v2 controller must be
 * enabled in every parent for a child to get its files).
 *
 * Which version gets the limits: a unified host, v2; a legacy host, v1; a hybrid host (v1
 * controllers beside a cgroup2 mount that usually has none), v1 for the converted fields, and
 * the cgroup2 directory only for `unified` keys whose controller it has. The freezer is
 * cgroup2's wherever there is a cgroup2 directory (hybrid hosts have one), else v1's.
 */
import { existsSync, readFileSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Resources } from "../spec";
import type { CgroupLayout } from "./detect";
import {
  controllersOf,
  deviceFilterRules,
  ResourceError,
  v1DeviceWrites,
  v1Writes,
  v2Writes,
  type CgroupWrite,
  type DeviceFilterRule,
} from "./resources";

/** A container's cgroup directories: one per v1 controller, and the cgroup2 one. */
export interface CgroupSet {
  mode: CgroupLayout["mode"];
  /** v1 controller name -> the container's directory in that hierarchy. */
  v1: Record<string, string>;
  unified?: string;
  /** v2 directories berth created (subtree_control may be written there), deepest first. */
  created?: string[];
}

export function cgroupSetFor(layout: CgroupLayout, path: string, created: readonly string[] = []): CgroupSet {
  const v1: Record<string, string> = {};
  for (const [controller, mountPoint] of Object.entries(layout.v1Mounts)) v1[controller] = join(mountPoint, path);
  return { mode: layout.mode, v1, unified: layout.v2Mount ? join(layout.v2Mount, path) : undefined, created: [...created] };
}

/** A write that failed: the field, the file and the system's reason. */
export class CgroupWriteError extends Error {
  constructor(
    readonly field: string,
    readonly value: string,
    readonly file: string,
    readonly code: string,
  ) {
    super(`${field}: write ${file}: ${code}`);
  }
}

/** What to write where, decided for this host; throws ResourceError for what it cannot take. */
export function planWrites(set: CgroupSet, res: Resources | undefined): { path: string; write: CgroupWrite }[] {
  const out: { path: string; write: CgroupWrite }[] = [];
  // Device rules go to the v1 devices controller where there is one; without it (a pure
  // cgroup v2 host) they become an eBPF program on the cgroup2 directory: deviceFilterFor.
  if (set.v1.devices) {
    for (const w of v1DeviceWrites(res?.devices)) out.push({ path: join(set.v1.devices, w.file), write: w });
  }
  if (!res) return out;
  if (set.mode === "unified") {
    if (!set.unified) throw new ResourceError("linux.resources", undefined, "this host has no cgroup2 directory for the container");
    for (const w of v2Writes(res)) out.push({ path: join(set.unified, w.file), write: w });
    return out;
  }
  const { unified, ...v1Only } = res;
  for (const w of v1Writes(v1Only)) {
    const dir = set.v1[w.controller];
    if (!dir) throw new ResourceError(w.field, w.value, `needs the ${w.controller} cgroup controller, which this host does not mount`);
    out.push({ path: join(dir, w.file), write: w });
  }
  if (unified && Object.keys(unified).length) {
    const writes = v2Writes({ unified });
    const have = set.unified ? readControllers(join(set.unified, "..")) : [];
    for (const w of writes) {
      const controller = controllersOf([w])[0]!;
      if (!set.unified || !have.includes(controller)) {
        throw new ResourceError(
          w.field,
          w.value,
          `invalid configuration for this host: the ${controller} controller is not enabled in this host's cgroup2 hierarchy (its limits are set through cgroup v1 here)`,
        );
      }
      out.push({ path: join(set.unified, w.file), write: w });
    }
  }
  return out;
}

function readControllers(dir: string): string[] {
  try {
    return readFileSync(join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

function writeOne(path: string, w: CgroupWrite): void {
  try {
    writeFileSync(path, w.value);
  } catch (err) {
    throw new CgroupWriteError(w.field, w.value, path, (err as NodeJS.ErrnoException).code ?? "EIO");
  }
}

/**
 * On v2, a controller's files appear in a cgroup only when its parent enables it in
 * cgroup.subtree_control, and so on up. Enable what the writes need in the parents berth
 * created; a parent berth did not create must already have it (berth does not change a
 * cgroup it does not own).
 */
function enableV2Controllers(set: CgroupSet, writes: readonly CgroupWrite[]): void {
  if (!set.unified || writes.length === 0) return;
  const needed = controllersOf(writes).filter((c) => c !== "cgroup");
  const created = new Set(set.created ?? []);
  // Parents from the top down: each must offer the controller before its child can enable it.
  const parents: string[] = [];
  for (let dir = join(set.unified, ".."); created.has(dir); dir = join(dir, "..")) parents.unshift(dir);
  const top = parents.length ? join(parents[0]!, "..") : join(set.unified, "..");
  const enabledAtTop = readFileSync(join(top, "cgroup.subtree_control"), "utf8").trim().split(/\s+/);
  for (const c of needed) {
    if (!enabledAtTop.includes(c)) {
      const w = writes.find((x) => controllersOf([x])[0] === c)!;
      throw new CgroupWriteError(
        w.field,
        w.value,
        join(top, "cgroup.subtree_control"),
        `the ${c} controller is not enabled there, and berth does not change cgroups it did not create`,
      );
    }
  }
  for (const dir of parents) {
    for (const c of needed) {
      const file = join(dir, "cgroup.subtree_control");
      try {
        writeFileSync(file, `+${c}`);
      } catch (err) {
        const w = writes.find((x) => controllersOf([x])[0] === c)!;
        throw new CgroupWriteError(w.field, w.value, file, (err as NodeJS.ErrnoException).code ?? "EIO");
      }
    }
  }
}

/**
 * Apply linux.resources. v1 memory and memory+swap must be written in the order that keeps
 * limit <= memsw at every step: raising both, memsw first; lowering, the limit first.
 */
export function applyResources(set: CgroupSet, res: Resources | undefined, warn: (msg: string) => void = () => undefined): void {
  const writes = planWrites(set, res);
  if (!set.v1.devices && !set.unified && res?.devices?.length)
    warn("linux.resources.devices: not enforced: this host has neither the v1 devices controller nor cgroup2");
  if (set.mode === "unified")
    enableV2Controllers(
      set,
      writes.map((x) => x.write),
    );
  const memsw = writes.find((x) => x.write.file === "memory.memsw.limit_in_bytes");
  const current = memsw ? Number(readFileSync(memsw.path, "utf8").trim()) : 0;
  for (const { path, write } of orderMemoryWrites(writes, current)) writeOne(path, write);
}

/**
 * v1 keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every step: when the new
 * memory+swap is above the current one (or unlimited), it must be written before the limit.
 */
export function orderMemoryWrites<T extends { write: CgroupWrite }>(writes: readonly T[], currentMemsw: number): T[] {
  const out = [...writes];
  const memsw = out.findIndex((x) => x.write.file === "memory.memsw.limit_in_bytes");
  const limit = out.findIndex((x) => x.write.file === "memory.limit_in_bytes");
  if (memsw > limit && limit >= 0) {
    const wanted = Number(out[memsw]!.write.value);
    if (wanted === -1 || wanted > currentMemsw) out.splice(limit, 0, out.splice(memsw, 1)[0]!);
  }
  return out;
}

/**
 * The rules of the eBPF device filter the container's cgroup2 directory needs: on a host
 * without the v1 devices controller, always (runc's defaults apply even with no config rules);
 * undefined where the v1 controller enforces them. Throws ResourceError for a malformed rule.
 */
export function deviceFilterFor(set: CgroupSet, res: Resources | undefined): DeviceFilterRule[] | undefined {
  if (set.v1.devices || !set.unified) return undefined;
  return deviceFilterRules(res?.devices);
}

// --- the freezer

function freezerV2(set: CgroupSet): string | undefined {
  return set.unified && existsSync(join(set.unified, "cgroup.freeze")) ? set.unified : undefined;
}

export function isFrozen(set: CgroupSet): boolean {
  const v2 = freezerV2(set);
  try {
    if (v2) return readFileSync(join(v2, "cgroup.freeze"), "utf8").trim() === "1";
    if (set.v1.freezer) return readFileSync(join(set.v1.freezer, "freezer.state"), "utf8").trim() !== "THAWED";
  } catch {
    /* gone */
  }
  return false;
}

/**
 * Whether a cgroup directory is frozen, its own freeze or an ancestor's (a process moved or
 * cloned in stops at once, SIGKILL included on v1): "<file> says <state>", or undefined. v2's
 * cgroup.events says "frozen 1" for an empty cgroup under a frozen parent too; v1 reports
 * FREEZING or FROZEN, inherited from a parent the same way.
 */
export function frozenState(dir: string): string | undefined {
  const read = (file: string) => {
    try {
      return readFileSync(join(dir, file), "utf8");
    } catch {
      return undefined;
    }
  };
  const events = read("cgroup.events");
  if (events !== undefined)
    return /^frozen 1$/m.test(events) || read("cgroup.freeze")?.trim() === "1" ? `${join(dir, "cgroup.events")} says frozen 1` : undefined;
  const state = read("freezer.state")?.trim();
  return state !== undefined && state !== "THAWED" ? `${join(dir, "freezer.state")} says ${state}` : undefined;
}

/**
 * Freeze (or thaw) and wait until the kernel says it is done: v2 reports `frozen 1` in
 * cgroup.events (watched with inotify, no polling sleep); v1 goes FREEZING -> FROZEN.
 */
export async function setFrozen(set: CgroupSet, frozen: boolean, timeoutMs = 10_000): Promise<void> {
  const v2 = freezerV2(set);
  if (v2) {
    writeFileSync(join(v2, "cgroup.freeze"), frozen ? "1" : "0");
    const events = join(v2, "cgroup.events");
    const done = () => readFileSync(events, "utf8").includes(`frozen ${frozen ? 1 : 0}`);
    await until(done, events, timeoutMs, "cgroup.events");
    return;
  }
  const dir = set.v1.freezer;
  if (!dir) throw new Error("this host has neither a cgroup2 freezer nor the v1 freezer controller");
  const file = join(dir, "freezer.state");
  writeFileSync(file, frozen ? "FROZEN" : "THAWED");
  // The v1 freezer has no event file: re-read until it settles, yielding to the event loop.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = readFileSync(file, "utf8").trim();
    if (state === (frozen ? "FROZEN" : "THAWED")) return;
    if (Date.now() > deadline) throw new Error(`${file} still says ${state} after ${timeoutMs} ms`);
    if (frozen && state === "THAWED") writeFileSync(file, "FROZEN");
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Wait until no process is left in `dir` or below it. A cgroup2 directory says so in
 * cgroup.events ("populated 0"), which inotify reports: no polling. A v1 directory has no such
 * event (its notify_on_release runs a host-wide agent), so its cgroup.procs is re-read, each
 * time after yielding to the event loop for a millisecond.
 */
export async function waitCgroupEmpty(dir: string, timeoutMs: number): Promise<boolean> {
  const events = join(dir, "cgroup.events");
  if (existsSync(events)) {
    const empty = () => {
      try {
        return /^populated 0$/m.test(readFileSync(events, "utf8"));
      } catch {
        return true; // the directory is gone: nothing is left in it
      }
    };
    return until(empty, events, timeoutMs, "cgroup.events").then(
      () => true,
      () => false,
    );
  }
  const deadline = Date.now() + timeoutMs;
  const procs = join(dir, "cgroup.procs");
  for (;;) {
    let text: string;
    try {
      text = readFileSync(procs, "utf8");
    } catch {
      return true;
    }
    if (text.trim() === "") return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 1));
  }
}

function until(done: () => boolean, file: string, timeoutMs: number, what: string): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const watcher = watch(file, () => {
      if (done()) finish();
    });
    const timer = setTimeout(() => finish(new Error(`${what} did not change within ${timeoutMs} ms`)), timeoutMs);
    // The change may have landed between the first check and the watch.
    setImmediate(() => done() && finish());
    function finish(err?: Error) {
      clearTimeout(timer);
      watcher.close();
      if (err) reject(err);
      else resolve();
    }
  });
}
