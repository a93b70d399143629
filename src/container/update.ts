/**
 * update: change a live container's resources (runc's `update`). The new values are merged
 * into the ones it was created with, checked against what this host can apply, written, and
 * recorded, so a later `update` or `state` starts from them. With memory.checkBeforeUpdate
 * (runtime-spec 1.2) a memory limit below the current usage is refused instead of triggering
 * the OOM killer.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CgroupWriteError, memoryPressure, memoryUsageText, planWrites, v1DeviceWrites, type CgroupSet } from "../cgroups";
import { BerthError } from "../errors";
import type { Resources } from "../spec";
import { readFdToEnd } from "../state";
import { cgroupSetOf } from "./cgroup-of";
import { cgroupDriverOf, cgroupErrors, cgroupErrorsAsync } from "./cgroup-driver";
import type { LifecycleNative, Runtime } from "./runtime";
import { liveStatus } from "./status";

type Plain = Record<string, unknown>;

/** Deep merge of plain objects; arrays and scalars in `patch` replace. */
export function mergeResources(base: Resources | undefined, patch: Resources): Resources {
  const merge = (a: unknown, b: unknown): unknown => {
    if (b === undefined) return a;
    if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
      const out: Plain = { ...(a as Plain) };
      for (const [k, v] of Object.entries(b as Plain)) out[k] = merge(out[k], v);
      return out;
    }
    return b;
  };
  return merge(base ?? {}, patch) as Resources;
}

/** Only the parts `patch` touches, with what they need from the merged whole to be written. */
function toWrite(merged: Resources, patch: Resources): Resources {
  const out: Resources = {};
  if (patch.memory)
    out.memory = {
      ...patch.memory,
      limit: merged.memory?.limit,
      ...(patch.memory.swap !== undefined || patch.memory.limit !== undefined ? { swap: merged.memory?.swap } : {}),
    };
  if (patch.cpu) {
    out.cpu = { ...patch.cpu };
    // cgroup v2 writes quota and period together (cpu.max).
    if (patch.cpu.quota !== undefined || patch.cpu.period !== undefined)
      Object.assign(out.cpu, { quota: merged.cpu?.quota, period: merged.cpu?.period });
  }
  for (const key of ["pids", "blockIO", "hugepageLimits", "network", "rdma", "unified"] as const) {
    if (patch[key] !== undefined) (out as Plain)[key] = merged[key];
  }
  return out;
}

/**
 * `--memory -1` (or a limit of -1 in --resources) with no memory+swap given: both unlimited, as
 * runc does (libcontainer's fs setMemoryAndSwap, fs2's ConvertMemorySwapToCgroupV2Value; a swap
 * of 0 is "not given" there too). Without it, v1 refuses a limit above the memory+swap already
 * in place (EINVAL, so a container created with memory+swap could never be made unlimited), and
 * v2 cannot derive swap alone (memory.swap.max) from an unlimited limit. `swapAccounted`: the
 * host has the swap file to write (v1 memory.memsw.limit_in_bytes, v2 memory.swap.max).
 */
export function unlimitedMemoryPatch(patch: Resources, swapAccounted: boolean): Resources {
  const m = patch.memory;
  if (!m || m.limit !== -1 || (m.swap !== undefined && m.swap !== 0) || !swapAccounted) return patch;
  return { ...patch, memory: { ...m, swap: -1 } };
}

/**
 * Pure: what an update writes and records. `patch` is the request with runc's -1 rule applied,
 * `merged` the container's resources afterwards (recorded), `writes` the part to write now.
 *
 * Device rules in the request are checked as create checks them (v1DeviceWrites: an access of
 * r, w and m in any order, not empty), then neither written nor recorded: the container keeps
 * the device cgroup it was created with (deny-all, its config's rules, runc's defaults), as
 * with runc 1.1.5, whose update sets SkipDevices and ignores the request's devices. Engines
 * send their whole LinuxResources, device rules included, to change a memory limit (the CRI's
 * UpdateContainerResources, podman update), and a device plugin (GPUs) may have added rules of
 * its own since create: rewriting the list would take those away, and on v1 it would start
 * from deny-all under a running process. `devicesIgnored`: the request asked for rules other
 * than the recorded ones (worth a warning in the log).
 */
export function planUpdate(
  current: Resources | undefined,
  requested: Resources,
  swapAccounted: boolean,
): { patch: Resources; merged: Resources; writes: Resources; devicesIgnored: boolean } {
  const { devices, ...rest } = requested;
  let devicesIgnored = false;
  if (devices !== undefined) {
    const text = (rules: Resources["devices"]) => v1DeviceWrites(rules).map((w) => `${w.file} ${w.value}`);
    devicesIgnored = text(devices).join("\n") !== text(current?.devices).join("\n");
  }
  const patch = unlimitedMemoryPatch(rest, swapAccounted);
  const merged = mergeResources(current, patch);
  return { patch, merged, writes: toWrite(merged, patch), devicesIgnored };
}

export async function update(rt: Runtime, id: string, requested: Resources): Promise<void> {
  await rt.store.withLockAsync("update", id, async () => {
    const record = rt.store.read("update", id);
    if (liveStatus(rt.store, record) === "stopped")
      throw new BerthError({ code: "container-not-running", op: "update", id, reason: "container not running" });
    const linux = record.config.linux ?? {};
    const cgroups = cgroupDriverOf(rt, record);
    const set = cgroupSetOf(record, cgroups.detect());
    const { patch, merged, writes, devicesIgnored } = cgroupErrors("update", id, () =>
      planUpdate(linux.resources, requested, swapAccounted(set)),
    );
    cgroupErrors("update", id, () => planWrites(set, writes));
    if (merged.memory?.checkBeforeUpdate && patch.memory?.limit !== undefined && patch.memory.limit > 0) {
      const usage = memoryUsage(set);
      if (usage !== undefined && usage > patch.memory.limit) {
        throw new BerthError({
          op: "update",
          id,
          field: "linux.resources.memory.limit",
          value: patch.memory.limit,
          reason: `is below the container's current memory usage (${usage} bytes), and memory.checkBeforeUpdate is set`,
        });
      }
    }
    // Devices are not updated (see planUpdate): only the resources the patch names.
    const withoutDevices = { ...set, v1: Object.fromEntries(Object.entries(set.v1).filter(([c]) => c !== "devices")) };
    await cgroupErrorsAsync("update", id, () =>
      memoryBusy(id, set, () => cgroups.update({ id, unit: record.systemdUnit, set: withoutDevices }, writes, () => undefined)),
    );
    rt.store.write({ ...record, config: { ...record.config, linux: { ...linux, resources: merged } } });
    if (devicesIgnored)
      rt.warn(
        `update ${id}: linux.resources.devices: not changed: update leaves the device rules the container was created with (as runc does)`,
      );
  });
}

/**
 * cgroup v1 refuses a memory limit below the usage it cannot reclaim with EBUSY ("resource busy
 * or locked", naming nothing): say that the limit is below the container's usage, and what the
 * usage is, as runc does ("unable to set memory limit to 65536 (current usage: ..., peak usage:
 * ...)"). cgroup v2 takes any limit (the kernel reclaims, then OOM-kills): memory.checkBeforeUpdate.
 */
async function memoryBusy<T>(id: string, set: CgroupSet, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof CgroupWriteError) || err.code !== "EBUSY" || !/(^|\/)memory\.(memsw\.)?limit_in_bytes$/.test(err.file)) throw err;
    const p = memoryPressure(set);
    const usage = p ? memoryUsageText(p) : "";
    const value = /^\d+$/.test(err.value) ? Number(err.value) : err.value;
    throw new BerthError({
      op: "update",
      id,
      field: err.field,
      value,
      reason: `unable to set memory limit to ${err.value}: it is below what the container uses${usage ? ` (${usage})` : ""}`,
      syscall: `write ${err.file}`,
      errno: "EBUSY",
      cause: err,
    });
  }
}

function swapAccounted(set: ReturnType<typeof cgroupSetOf>): boolean {
  if (set.mode === "unified") return !!set.unified && existsSync(join(set.unified, "memory.swap.max"));
  return !!set.v1.memory && existsSync(join(set.v1.memory, "memory.memsw.limit_in_bytes"));
}

function memoryUsage(set: ReturnType<typeof cgroupSetOf>): number | undefined {
  const files =
    set.mode === "unified" && set.unified
      ? [join(set.unified, "memory.current")]
      : set.v1.memory
        ? [join(set.v1.memory, "memory.usage_in_bytes")]
        : [];
  for (const f of files) {
    try {
      return Number(readFileSync(f, "utf8").trim());
    } catch {
      /* not there */
    }
  }
  return undefined;
}

/**
 * `update --resources -`: stdin to its end, also when it is non-blocking (shared with a parent
 * that made it so), where readFileSync(0) fails with EAGAIN: then it waits until stdin is
 * readable (a poll) and reads on.
 */
export function readResourcesStdin(n: Pick<LifecycleNative, "pidfdWait">, maxBytes?: number): string {
  return readFdToEnd(
    0,
    (fd) => {
      // poll(2) on stdin: the addon's pidfdWait polls any fd.
      if (!n.pidfdWait) throw Object.assign(new Error("poll is not available in this build of berth"), { code: "ENOSYS" });
      n.pidfdWait(fd, -1);
    },
    maxBytes,
  );
}
