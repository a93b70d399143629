/**
 * linux.resources -> the properties of a systemd transient unit (pure). With --systemd-cgroup,
 * systemd owns the cgroup files it has properties for: it rewrites them from the unit whenever
 * it realizes the unit (at start, on every SetUnitProperties, after a daemon-reload), so a
 * value berth wrote into memory.max itself would be silently reset to systemd's "max". Those
 * limits therefore go to systemd as properties; everything else (hugetlb, rdma, swappiness,
 * cpu.rt_*, unified keys systemd has no property for, ...) is written as files by the fs
 * driver, which systemd leaves alone. The split is runc's (libcontainer/cgroups/systemd).
 *
 * Which names: on a unified host the v2 ones (MemoryMax, CPUWeight, IOWeight, ...); on a
 * legacy or hybrid host the v1 ones (MemoryLimit, CPUShares, BlockIOWeight), as runc's legacy
 * manager sends: systemd would translate MemoryMax and CPUWeight to v1 itself, but
 * shares -> weight -> shares is lossy (1024 comes back as 399).
 *
 * Devices are not sent (no DevicePolicy / DeviceAllow): berth's own rules stay in force, the
 * eBPF filter on cgroup v2 (systemd attaches no program of its own to a unit whose
 * DevicePolicy is auto and that has no DeviceAllow), the devices.* files on v1, which the
 * driver writes after systemd has realized the unit (systemd writes "a" to devices.allow of
 * such a unit when it realizes it).
 */
import type { Resources } from "../spec";
import type { CgroupLayout } from "./detect";
import { blkioWeightToIoWeight, ResourceError, sharesToWeight, swapToV2 } from "./resources";

/** One unit property: its D-Bus signature and value, and the config field it comes from. */
export interface UnitProperty {
  name: string;
  signature: "t" | "b" | "s" | "ay" | "au" | "as";
  value: bigint | boolean | string | Uint8Array | number[] | string[];
  field?: string;
}

const F = "linux.resources";
/** systemd's "infinity" for limits (UINT64_MAX). */
export const INFINITY = 0xffffffffffffffffn;
/** systemd's default cpu period, and the 1% granularity of CPUQuotaPerSecUSec. */
const DEFAULT_PERIOD_US = 100_000;

/**
 * "slice:prefix:name" -> the slice and the unit. An empty slice is system.slice (runc's
 * default for a root container); a name ending in ".slice" is itself the unit (a slice, not a
 * scope), as runc does. The path checks are in systemdCgroupPath (placement.ts).
 */
export function systemdUnitOf(cgroupsPath: string | undefined, id: string): { slice: string; unit: string } {
  const parts = (cgroupsPath ?? "").split(":");
  if (cgroupsPath && parts.length !== 3) throw new Error(`linux.cgroupsPath "${cgroupsPath}": with --systemd-cgroup it must be slice:prefix:name`);
  const [slice = "", prefix = "berth", name = id] = cgroupsPath ? parts : [];
  const unit = name.endsWith(".slice") ? name : `${prefix ? `${prefix}-` : ""}${name}.scope`;
  return { slice: slice || "system.slice", unit };
}

/**
 * A cpuset list ("0-2,7") as systemd's AllowedCPUs / AllowedMemoryNodes want it: a byte array,
 * bit i of byte n is cpu 8n+i (what systemd's cpu_set_from_dbus reads).
 */
export function rangeToBits(list: string, field: string): Uint8Array {
  const bits: number[] = [];
  for (const part of list.split(",").map((p) => p.trim())) {
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ResourceError(field, list, `"${part}" is not a cpu number or range`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new ResourceError(field, list, `range "${part}" ends before it starts`);
    if (hi >= 1 << 20) throw new ResourceError(field, list, `${hi} is too large`);
    for (let i = lo; i <= hi; i++) bits.push(i);
  }
  if (bits.length === 0) throw new ResourceError(field, list, "is empty");
  const out = new Uint8Array(Math.floor(Math.max(...bits) / 8) + 1);
  for (const b of bits) out[b >> 3]! |= 1 << (b & 7);
  return out;
}

/**
 * cpu quota/period -> CPUQuotaPerSecUSec (+ CPUQuotaPeriodUSec). systemd keeps the quota as
 * a percentage of one cpu, so a quota that is not a whole 1% is rounded up to one (runc does
 * the same, so the limit is never tighter than asked).
 */
export function cpuQuotaProperties(quota: number | undefined, period: number | undefined): UnitProperty[] {
  const out: UnitProperty[] = [];
  if (period !== undefined && period !== 0) out.push({ name: "CPUQuotaPeriodUSec", signature: "t", value: BigInt(period), field: `${F}.cpu.period` });
  if ((quota !== undefined && quota !== 0) || (period !== undefined && period !== 0)) {
    let perSec = INFINITY;
    if (quota !== undefined && quota > 0) {
      const p = period || DEFAULT_PERIOD_US;
      let us = Math.floor((quota * 1_000_000) / p);
      if (us % 10_000 !== 0) us = (Math.floor(us / 10_000) + 1) * 10_000;
      perSec = BigInt(us);
    }
    out.push({ name: "CPUQuotaPerSecUSec", signature: "t", value: perSec, field: `${F}.cpu.quota` });
  }
  return out;
}

const limit = (n: number): bigint => (n < 0 ? INFINITY : BigInt(n));

/** unified keys systemd has a property for (v2 only); the rest are written as files. */
const UNIFIED_PROPS: Record<string, string> = {
  "memory.min": "MemoryMin",
  "memory.low": "MemoryLow",
  "memory.high": "MemoryHigh",
  "memory.max": "MemoryMax",
  "memory.swap.max": "MemorySwapMax",
  "pids.max": "TasksMax",
  "cpu.weight": "CPUWeight",
  "io.weight": "IOWeight",
};

/**
 * The unit properties for linux.resources on this host, and what is left for the fs driver.
 * Throws ResourceError for a value neither can take.
 */
export function unitResourceProperties(res: Resources | undefined, mode: CgroupLayout["mode"]): { props: UnitProperty[]; rest: Resources | undefined } {
  if (!res) return { props: [], rest: undefined };
  const props: UnitProperty[] = [];
  const rest: Resources = structuredClone(res);
  const v2 = mode === "unified";
  const mem = res.memory;
  if (mem) {
    if (mem.limit !== undefined && mem.limit !== 0) props.push({ name: v2 ? "MemoryMax" : "MemoryLimit", signature: "t", value: limit(mem.limit), field: `${F}.memory.limit` });
    if (v2 && mem.reservation !== undefined && mem.reservation !== 0) props.push({ name: "MemoryLow", signature: "t", value: limit(mem.reservation), field: `${F}.memory.reservation` });
    if (v2 && mem.swap !== undefined && mem.swap !== 0) {
      const swap = swapToV2(mem.swap, mem.limit, `${F}.memory.swap`);
      props.push({ name: "MemorySwapMax", signature: "t", value: swap === "max" ? INFINITY : BigInt(swap), field: `${F}.memory.swap` });
    }
    delete rest.memory!.limit;
    if (v2) {
      delete rest.memory!.reservation;
      delete rest.memory!.swap;
    }
  }
  const cpu = res.cpu;
  if (cpu) {
    if (cpu.shares !== undefined && cpu.shares !== 0) {
      props.push(v2 ? { name: "CPUWeight", signature: "t", value: BigInt(sharesToWeight(cpu.shares)), field: `${F}.cpu.shares` } : { name: "CPUShares", signature: "t", value: BigInt(cpu.shares), field: `${F}.cpu.shares` });
    }
    props.push(...cpuQuotaProperties(cpu.quota, cpu.period));
    delete rest.cpu!.shares;
    delete rest.cpu!.quota;
    delete rest.cpu!.period;
    // systemd manages cpusets only on cgroup v2; on v1 the files are ours.
    if (v2) {
      if (cpu.cpus) props.push({ name: "AllowedCPUs", signature: "ay", value: rangeToBits(cpu.cpus, `${F}.cpu.cpus`), field: `${F}.cpu.cpus` });
      if (cpu.mems) props.push({ name: "AllowedMemoryNodes", signature: "ay", value: rangeToBits(cpu.mems, `${F}.cpu.mems`), field: `${F}.cpu.mems` });
      delete rest.cpu!.cpus;
      delete rest.cpu!.mems;
    }
  }
  if (res.pids?.limit !== undefined) {
    // systemd does not take TasksMax=0; 1 is the nearest it has (runc's choice too).
    const n = res.pids.limit;
    props.push({ name: "TasksMax", signature: "t", value: n < 0 ? INFINITY : BigInt(n === 0 ? 1 : n), field: `${F}.pids.limit` });
    delete rest.pids;
  }
  const weight = res.blockIO?.weight as number | undefined;
  if (weight !== undefined && weight !== 0) {
    props.push(v2 ? { name: "IOWeight", signature: "t", value: BigInt(blkioWeightToIoWeight(weight)), field: `${F}.blockIO.weight` } : { name: "BlockIOWeight", signature: "t", value: BigInt(weight), field: `${F}.blockIO.weight` });
    delete rest.blockIO!.weight;
  }
  if (v2 && res.unified) {
    for (const [key, value] of Object.entries(res.unified)) {
      const name = UNIFIED_PROPS[key];
      if (!name) continue;
      const field = `${F}.unified.${key}`;
      const v = value.trim();
      let n: bigint;
      if (v === "max" && name !== "CPUWeight" && name !== "IOWeight") n = INFINITY;
      else if (/^\d+$/.test(v)) n = BigInt(v);
      else throw new ResourceError(field, value, `is not a number${name === "CPUWeight" || name === "IOWeight" ? "" : ' or "max"'}`);
      props.push({ name, signature: "t", value: n, field });
      delete rest.unified![key];
    }
  }
  // A later property of the same name wins in systemd; keep the last one only.
  const last = new Map(props.map((p) => [p.name, p]));
  return { props: [...last.values()], rest: prune(rest) };
}

/** Drop the objects the split emptied, so the fs driver sees only what is left. */
function prune(res: Resources): Resources | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(res)) {
    if (v === undefined) continue;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.values(v).every((x) => x === undefined)) continue;
    out[k] = v;
  }
  return Object.keys(out).length ? (out as Resources) : undefined;
}

/** The properties every unit berth starts has, before the resource ones (runc's set). */
export function baseUnitProperties(opts: { unit: string; slice: string; id: string; pid: number; mode: CgroupLayout["mode"] }): UnitProperty[] {
  const isSlice = opts.unit.endsWith(".slice");
  const v2 = opts.mode === "unified";
  return [
    { name: "Description", signature: "s", value: `berth container ${opts.id}` },
    isSlice ? { name: "Wants", signature: "as", value: [opts.slice] } : { name: "Slice", signature: "s", value: opts.slice },
    // The container manages its own sub-cgroups (exec --cgroup, nested engines).
    ...(isSlice ? [] : [{ name: "Delegate", signature: "b" as const, value: true }]),
    ...(isSlice ? [] : [{ name: "PIDs", signature: "au" as const, value: [opts.pid] }]),
    { name: "MemoryAccounting", signature: "b", value: true },
    { name: "CPUAccounting", signature: "b", value: true },
    { name: v2 ? "IOAccounting" : "BlockIOAccounting", signature: "b", value: true },
    { name: "TasksAccounting", signature: "b", value: true },
    // A container is not part of the boot transaction, nor stopped at shutdown before others.
    { name: "DefaultDependencies", signature: "b", value: false },
  ];
}
