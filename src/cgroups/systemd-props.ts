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
 * Devices go to systemd too (unitDeviceProperties, below): DevicePolicy=strict and DeviceAllow
 * from the same rule list berth writes, so that systemd's own writes to devices.* (v1), which
 * it repeats whenever it re-realizes the unit, say what berth's say. berth keeps writing its
 * rules as well (its eBPF filter on v2, the devices.* files on v1): systemd cannot express
 * every rule.
 */
import type { DeviceRule, Resources } from "../spec";
import type { CgroupLayout } from "./detect";
import { blkioWeightToIoWeight, ResourceError, sharesToWeight, swapToV2, v1DeviceWrites, type CgroupWrite } from "./resources";

/** One unit property: its D-Bus signature and value, and the config field it comes from. */
export interface UnitProperty {
  name: string;
  signature: "t" | "b" | "s" | "ay" | "au" | "as" | "a(ss)";
  value: bigint | boolean | string | Uint8Array | number[] | string[] | [string, string][];
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
  if (cgroupsPath && parts.length !== 3)
    throw new Error(`linux.cgroupsPath "${cgroupsPath}": with --systemd-cgroup it must be slice:prefix:name`);
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
  if (period !== undefined && period !== 0)
    out.push({ name: "CPUQuotaPeriodUSec", signature: "t", value: BigInt(period), field: `${F}.cpu.period` });
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
export function unitResourceProperties(
  res: Resources | undefined,
  mode: CgroupLayout["mode"],
): { props: UnitProperty[]; rest: Resources | undefined } {
  if (!res) return { props: [], rest: undefined };
  const props: UnitProperty[] = [];
  const rest: Resources = structuredClone(res);
  const v2 = mode === "unified";
  const mem = res.memory;
  if (mem) {
    if (mem.limit !== undefined && mem.limit !== 0)
      props.push({ name: v2 ? "MemoryMax" : "MemoryLimit", signature: "t", value: limit(mem.limit), field: `${F}.memory.limit` });
    if (v2 && mem.reservation !== undefined && mem.reservation !== 0)
      props.push({ name: "MemoryLow", signature: "t", value: limit(mem.reservation), field: `${F}.memory.reservation` });
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
      props.push(
        v2
          ? { name: "CPUWeight", signature: "t", value: BigInt(sharesToWeight(cpu.shares)), field: `${F}.cpu.shares` }
          : { name: "CPUShares", signature: "t", value: BigInt(cpu.shares), field: `${F}.cpu.shares` },
      );
    }
    props.push(...cpuQuotaProperties(cpu.quota, cpu.period));
    delete rest.cpu!.shares;
    delete rest.cpu!.quota;
    delete rest.cpu!.period;
    // systemd manages cpusets only on cgroup v2; on v1 the files are ours.
    if (v2) {
      if (cpu.cpus)
        props.push({ name: "AllowedCPUs", signature: "ay", value: rangeToBits(cpu.cpus, `${F}.cpu.cpus`), field: `${F}.cpu.cpus` });
      if (cpu.mems)
        props.push({ name: "AllowedMemoryNodes", signature: "ay", value: rangeToBits(cpu.mems, `${F}.cpu.mems`), field: `${F}.cpu.mems` });
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
    props.push(
      v2
        ? { name: "IOWeight", signature: "t", value: BigInt(blkioWeightToIoWeight(weight)), field: `${F}.blockIO.weight` }
        : { name: "BlockIOWeight", signature: "t", value: BigInt(weight), field: `${F}.blockIO.weight` },
    );
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
export function baseUnitProperties(opts: {
  unit: string;
  slice: string;
  id: string;
  pid: number;
  mode: CgroupLayout["mode"];
}): UnitProperty[] {
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

// --- devices: DevicePolicy / DeviceAllow

/** The signature of DeviceAllow: a(ss), [path or class, "rwm"]. */
export type DeviceAllowEntry = [string, string];

/** What the device properties need to know of systemd and the host. */
export interface DeviceHost {
  /** systemd's major version (the Manager's Version property): 240 changed DeviceAllow's syntax. */
  systemdVersion: number;
  /** /proc/devices (only read for systemd < 240, which wants a driver's name for "major:*"). */
  procDevices: () => string;
  /** Whether a path exists (systemd < 240 stat()s "/dev/char/M:m" and drops the rule if it does not). */
  exists: (path: string) => boolean;
}

interface EmulatedRule {
  type: "b" | "c";
  major: number; // -1: any
  minor: number; // -1: any
  access: Set<string>;
  /** The config field of the last rule that granted part of it (for warnings). */
  field: string;
}

/**
 * The device rules as the v1 devices controller ends up holding them after berth's writes in
 * order (v1DeviceWrites: deny-all, the config's rules, the defaults), starting from
 * deny-all as systemd's DevicePolicy=strict does (runc's emulator starts there too). Kernel
 * semantics (security/device_cgroup.c): "a" resets the list and sets the default; a rule of
 * the default's opposite kind adds an exception (access merged per type:major:minor); a rule
 * of the default's kind removes access from the exception with exactly that type:major:minor
 * only (it punches no hole in a wildcard exception).
 */
export function emulateDeviceRules(writes: readonly CgroupWrite[]): { defaultAllow: boolean; exceptions: EmulatedRule[] } {
  let defaultAllow = false;
  let exceptions = new Map<string, EmulatedRule>();
  for (const w of writes) {
    const allow = w.file === "devices.allow";
    if (w.value === "a") {
      defaultAllow = allow;
      exceptions = new Map();
      continue;
    }
    const [type, nums, access] = w.value.split(" ") as ["b" | "c", string, string];
    const [major, minor] = nums.split(":").map((n) => (n === "*" ? -1 : Number(n))) as [number, number];
    const key = `${type} ${major}:${minor}`;
    if (allow !== defaultAllow) {
      const cur = exceptions.get(key) ?? { type, major, minor, access: new Set<string>(), field: w.field };
      for (const a of access) cur.access.add(a);
      cur.field = w.field;
      exceptions.set(key, cur);
    } else {
      const cur = exceptions.get(key);
      if (!cur) continue;
      for (const a of access) cur.access.delete(a);
      if (cur.access.size === 0) exceptions.delete(key);
    }
  }
  return { defaultAllow, exceptions: [...exceptions.values()] };
}

/** /proc/devices: the driver name of a major number of one type ("pts" for c 136). */
export function deviceGroupOf(procDevices: string, type: "b" | "c", major: number): string | undefined {
  let section: "b" | "c" | undefined;
  for (const raw of procDevices.split("\n")) {
    const line = raw.trim();
    if (line === "Character devices:") section = "c";
    else if (line === "Block devices:") section = "b";
    else if (section === type) {
      const m = /^(\d+)\s+(\S+)$/.exec(line);
      if (m && Number(m[1]) === major) return m[2];
    }
  }
  return undefined;
}

/**
 * The device rules as systemd unit properties (runc's libcontainer/cgroups/devices/systemd.go
 * does the same): DevicePolicy=strict and one DeviceAllow entry per rule, so that when systemd
 * applies the unit's device policy -- at start, and again whenever it re-realizes the unit
 * (daemon-reload, a sibling unit starting, ...) -- it writes the rules berth wrote, instead of
 * the allow-all ("a" into devices.allow) of a unit whose policy is auto. An empty DeviceAllow
 * comes first: it clears what the unit had (SetUnitProperties appends otherwise).
 *
 * strict, not closed or auto: those add systemd's own list (/dev/null, ..., /dev/pts rw) to
 * the rules. DeviceAllow syntax (systemd >= 240): "/dev/char/M:m" (parsed, never stat()ed),
 * "char-M" for M:*, "char-*" for any; older systemd wants the driver's name from /proc/devices
 * for M:* and stat()s the path, so a rule for a node that does not exist is left out.
 *
 * What systemd cannot say: "*:m" rules, and a deny list (a default of allow with exceptions).
 * berth still writes those itself (the fs driver on v1, its eBPF filter on v2); the warnings
 * say what systemd will do instead. For a deny list on v1 that is deny-all (runc's choice:
 * when systemd re-applies, the container loses devices rather than gains them); on cgroup2
 * systemd gets DevicePolicy=auto and no DeviceAllow, with which it attaches no program of its
 * own, so berth's filter alone decides, exactly.
 */
export function unitDeviceProperties(
  rules: readonly DeviceRule[] | undefined,
  mode: CgroupLayout["mode"],
  host: DeviceHost,
): { props: UnitProperty[]; warnings: string[] } {
  const warnings: string[] = [];
  const { defaultAllow, exceptions } = emulateDeviceRules(v1DeviceWrites(rules));
  const policy = (p: string): UnitProperty => ({ name: "DevicePolicy", signature: "s", value: p, field: `${F}.devices` });
  const allow = (entries: DeviceAllowEntry[]): UnitProperty => ({
    name: "DeviceAllow",
    signature: "a(ss)",
    value: entries,
    field: `${F}.devices`,
  });
  if (defaultAllow) {
    if (exceptions.length === 0 || mode === "unified") return { props: [allow([]), policy("auto")], warnings };
    warnings.push(
      `${F}.devices: systemd takes only an allow list, and these rules allow every device but some: systemd is given deny-all (DevicePolicy=strict), berth writes the rules; when systemd re-applies the unit's device policy (daemon-reload), the container loses access to every device`,
    );
    return { props: [allow([]), policy("strict")], warnings };
  }
  const entries: DeviceAllowEntry[] = [];
  const sorted = [...exceptions].sort((a, b) => a.major - b.major || a.minor - b.minor || a.type.localeCompare(b.type));
  for (const r of sorted) {
    const access = ["r", "w", "m"].filter((a) => r.access.has(a)).join("");
    const cls = r.type === "c" ? "char" : "block";
    const text = `${r.type} ${r.major < 0 ? "*" : r.major}:${r.minor < 0 ? "*" : r.minor} ${access}`;
    if (r.major < 0 && r.minor >= 0) {
      warnings.push(
        `${r.field}: systemd cannot express the rule "${text}" (any major, one minor): berth writes it, systemd leaves it out${mode === "unified" ? " (so its own filter denies those devices)" : " and drops it when it re-applies the unit's device policy"}`,
      );
      continue;
    }
    let path: string;
    if (r.major < 0) path = `${cls}-*`;
    else if (r.minor < 0) {
      if (host.systemdVersion >= 240) path = `${cls}-${r.major}`;
      else {
        const group = deviceGroupOf(host.procDevices(), r.type, r.major);
        if (!group) {
          warnings.push(
            `${r.field}: systemd ${host.systemdVersion} names "${text}" by its driver, and /proc/devices has none for ${r.type} ${r.major}: berth writes the rule, systemd leaves it out`,
          );
          continue;
        }
        path = `${cls}-${group}`;
      }
    } else {
      path = `/dev/${cls}/${r.major}:${r.minor}`;
      // systemd < 240 stat()s the path; without it, it would drop the entry with a warning.
      if (host.systemdVersion < 240 && !host.exists(path)) continue;
    }
    entries.push([path, access]);
  }
  return { props: [allow([]), policy("strict"), allow(entries)], warnings };
}
