/**
 * linux.resources -> cgroup file writes, for each cgroup version. Pure: what to write where,
 * each write carrying the config field it comes from, so a driver's failure names it. A value
 * this version cannot express is an error here, before anything is written, never a skip.
 *
 * v1 files live in one directory per controller; v2 files in the container's single cgroup2
 * directory. Where the spec speaks in v1 terms and the host is v2, the conversions are runc's
 * (config-linux.md leaves them to the runtime; engines expect runc's numbers):
 *   cpu.shares 2..262144     -> cpu.weight 1..10000      1 + ((shares - 2) * 9999) / 262142
 *   blkio weight 10..1000    -> io.weight 1..10000       1 + ((weight - 10) * 9999) / 990
 *   memory.swap (mem + swap) -> memory.swap.max          swap - limit
 *   cpu quota/period         -> cpu.max "quota period"   ("max" for no quota)
 */
import type { DeviceRule, Resources } from "../spec";

export type CgroupVersion = 1 | 2;

export interface CgroupWrite {
  /** v1: the controller whose directory holds the file ("memory"); v2: "" (the one directory). */
  controller: string;
  file: string;
  value: string;
  /** The config field, e.g. linux.resources.memory.limit. */
  field: string;
}

export class ResourceError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

const F = "linux.resources";

/** A limit where -1 (or, for some, 0) means none; v1 wants -1, v2 wants "max". */
const v2Max = (n: number) => (n < 0 ? "max" : String(n));

export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return Math.floor(1 + ((weight - 10) * 9999) / 990);
}

/** memory.swap in the spec is memory + swap; v2's memory.swap.max is swap alone. */
export function swapToV2(swap: number, limit: number | undefined, field: string): string {
  if (swap === -1) return "max";
  if (limit === undefined || limit === 0)
    throw new ResourceError(field, swap, "cannot be set without memory.limit on cgroup v2 (swap is given as memory + swap)");
  if (limit === -1) throw new ResourceError(field, swap, "cannot be set when memory.limit is -1 (unlimited) on cgroup v2");
  if (swap < limit) throw new ResourceError(field, swap, `must be at least memory.limit (${limit}): it is memory + swap`);
  return String(swap - limit);
}

function dev(d: { major: number; minor: number }): string {
  return `${d.major}:${d.minor}`;
}

interface WeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}
interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}
interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

const throttles = [
  ["throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"],
  ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"],
  ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"],
  ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"],
] as const;

/** The writes for a cgroup v1 host (one directory per controller). */
export function v1Writes(res: Resources | undefined): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (!res) return out;
  const w = (controller: string, file: string, value: string | number, field: string) =>
    out.push({ controller, file, value: String(value), field: `${F}.${field}` });

  const m = res.memory;
  if (m) {
    // Order: with swap, the driver decides between limit-first and swap-first (see fs-v1).
    if (m.limit !== undefined) w("memory", "memory.limit_in_bytes", m.limit, "memory.limit");
    if (m.swap !== undefined) w("memory", "memory.memsw.limit_in_bytes", m.swap, "memory.swap");
    if (m.reservation !== undefined) w("memory", "memory.soft_limit_in_bytes", m.reservation, "memory.reservation");
    if (m.kernel !== undefined) w("memory", "memory.kmem.limit_in_bytes", m.kernel, "memory.kernel");
    if (m.kernelTCP !== undefined) w("memory", "memory.kmem.tcp.limit_in_bytes", m.kernelTCP, "memory.kernelTCP");
    if (m.swappiness !== undefined) {
      if (m.swappiness < 0 || m.swappiness > 100)
        throw new ResourceError(`${F}.memory.swappiness`, m.swappiness, "must be between 0 and 100");
      w("memory", "memory.swappiness", m.swappiness, "memory.swappiness");
    }
    if (m.disableOOMKiller) w("memory", "memory.oom_control", 1, "memory.disableOOMKiller");
  }

  const c = res.cpu;
  if (c) {
    if (c.shares !== undefined) w("cpu", "cpu.shares", c.shares, "cpu.shares");
    // The period first: a quota is checked against the period already in place.
    if (c.period !== undefined) w("cpu", "cpu.cfs_period_us", c.period, "cpu.period");
    if (c.quota !== undefined) w("cpu", "cpu.cfs_quota_us", c.quota, "cpu.quota");
    if (c.burst !== undefined) w("cpu", "cpu.cfs_burst_us", c.burst, "cpu.burst");
    // The period before the runtime, for the same reason.
    if (c.realtimePeriod !== undefined) w("cpu", "cpu.rt_period_us", c.realtimePeriod, "cpu.realtimePeriod");
    if (c.realtimeRuntime !== undefined) w("cpu", "cpu.rt_runtime_us", c.realtimeRuntime, "cpu.realtimeRuntime");
    if (c.idle !== undefined) w("cpu", "cpu.idle", c.idle, "cpu.idle");
    if (c.cpus) w("cpuset", "cpuset.cpus", c.cpus, "cpu.cpus");
    if (c.mems) w("cpuset", "cpuset.mems", c.mems, "cpu.mems");
  }

  if (res.pids) w("pids", "pids.max", res.pids.limit > 0 ? res.pids.limit : "max", "pids.limit");

  const b = res.blockIO as BlockIO | undefined;
  if (b) {
    if (b.weight !== undefined) w("blkio", "blkio.weight", b.weight, "blockIO.weight");
    if (b.leafWeight !== undefined) w("blkio", "blkio.leaf_weight", b.leafWeight, "blockIO.leafWeight");
    (b.weightDevice ?? []).forEach((d, i) => {
      if (d.weight !== undefined) w("blkio", "blkio.weight_device", `${dev(d)} ${d.weight}`, `blockIO.weightDevice[${i}]`);
      if (d.leafWeight !== undefined) w("blkio", "blkio.leaf_weight_device", `${dev(d)} ${d.leafWeight}`, `blockIO.weightDevice[${i}]`);
    });
    for (const [key, file] of throttles) (b[key] ?? []).forEach((d, i) => w("blkio", file, `${dev(d)} ${d.rate}`, `blockIO.${key}[${i}]`));
  }

  (res.hugepageLimits ?? []).forEach((h, i) => w("hugetlb", `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit, `hugepageLimits[${i}]`));

  if (res.network) {
    if (res.network.classID !== undefined) w("net_cls", "net_cls.classid", res.network.classID, "network.classID");
    (res.network.priorities ?? []).forEach((p, i) =>
      w("net_prio", "net_prio.ifpriomap", `${p.name} ${p.priority}`, `network.priorities[${i}]`),
    );
  }

  for (const [device, limit] of Object.entries(res.rdma ?? {})) out.push(...rdma(device, limit));

  const unified = Object.keys(res.unified ?? {});
  if (unified.length) {
    const key = unified[0]!;
    throw new ResourceError(
      `${F}.unified[${JSON.stringify(key)}]`,
      res.unified![key],
      "invalid configuration for this host: a cgroup v2 file, and this host's cgroup limits are v1",
    );
  }
  return out;

  function rdma(device: string, limit: { hcaHandles?: number; hcaObjects?: number }): CgroupWrite[] {
    const parts = [
      limit.hcaHandles !== undefined ? `hca_handle=${limit.hcaHandles}` : "",
      limit.hcaObjects !== undefined ? `hca_object=${limit.hcaObjects}` : "",
    ].filter(Boolean);
    return parts.length
      ? [{ controller: "rdma", file: "rdma.max", value: `${device} ${parts.join(" ")}`, field: `${F}.rdma[${JSON.stringify(device)}]` }]
      : [];
  }
}

/** The writes for a cgroup v2 directory. */
export function v2Writes(res: Resources | undefined): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (!res) return out;
  const w = (file: string, value: string | number, field: string) =>
    out.push({ controller: "", file, value: String(value), field: field.startsWith(F) ? field : `${F}.${field}` });
  const refuse = (field: string, value: unknown, why: string) => {
    throw new ResourceError(`${F}.${field}`, value, why);
  };

  const m = res.memory;
  if (m) {
    if (m.limit !== undefined) w("memory.max", m.limit === 0 ? "max" : v2Max(m.limit), "memory.limit");
    if (m.swap !== undefined) w("memory.swap.max", swapToV2(m.swap, m.limit, `${F}.memory.swap`), "memory.swap");
    if (m.reservation !== undefined) w("memory.low", m.reservation === 0 ? 0 : v2Max(m.reservation), "memory.reservation");
    if (m.kernel !== undefined && m.kernel !== 0)
      refuse("memory.kernel", m.kernel, "has no cgroup v2 equivalent (kernel memory is part of memory.max)");
    if (m.kernelTCP !== undefined && m.kernelTCP !== 0)
      refuse("memory.kernelTCP", m.kernelTCP, "has no cgroup v2 equivalent (kernel memory is part of memory.max)");
    if (m.swappiness !== undefined) refuse("memory.swappiness", m.swappiness, "has no cgroup v2 equivalent");
    if (m.disableOOMKiller) refuse("memory.disableOOMKiller", true, "has no cgroup v2 equivalent");
  }

  const c = res.cpu;
  if (c) {
    if (c.shares !== undefined && c.shares !== 0) {
      if (c.shares < 2 || c.shares > 262144) refuse("cpu.shares", c.shares, "must be between 2 and 262144");
      w("cpu.weight", sharesToWeight(c.shares), "cpu.shares");
    }
    if (c.quota !== undefined || c.period !== undefined) {
      const quota = c.quota === undefined || c.quota <= 0 ? "max" : String(c.quota);
      w("cpu.max", c.period ? `${quota} ${c.period}` : quota, c.quota !== undefined ? "cpu.quota" : "cpu.period");
    }
    if (c.burst !== undefined) w("cpu.max.burst", c.burst, "cpu.burst");
    if (c.realtimeRuntime || c.realtimePeriod)
      refuse(
        c.realtimeRuntime ? "cpu.realtimeRuntime" : "cpu.realtimePeriod",
        c.realtimeRuntime ?? c.realtimePeriod,
        "realtime scheduling limits exist on cgroup v1 only",
      );
    if (c.idle !== undefined) w("cpu.idle", c.idle, "cpu.idle");
    if (c.cpus) w("cpuset.cpus", c.cpus, "cpu.cpus");
    if (c.mems) w("cpuset.mems", c.mems, "cpu.mems");
  }

  if (res.pids) w("pids.max", res.pids.limit > 0 ? res.pids.limit : "max", "pids.limit");

  const b = res.blockIO as BlockIO | undefined;
  if (b) {
    if (b.weight !== undefined && b.weight !== 0) w("io.weight", `default ${blkioWeightToIoWeight(b.weight)}`, "blockIO.weight");
    if (b.leafWeight) refuse("blockIO.leafWeight", b.leafWeight, "has no cgroup v2 equivalent");
    (b.weightDevice ?? []).forEach((d, i) => {
      if (d.weight !== undefined) w("io.weight", `${dev(d)} ${blkioWeightToIoWeight(d.weight)}`, `blockIO.weightDevice[${i}]`);
    });
    for (const [key, , v2key] of throttles)
      (b[key] ?? []).forEach((d, i) => w("io.max", `${dev(d)} ${v2key}=${d.rate === 0 ? "max" : d.rate}`, `blockIO.${key}[${i}]`));
  }

  (res.hugepageLimits ?? []).forEach((h, i) => w(`hugetlb.${h.pageSize}.max`, v2Max(h.limit), `hugepageLimits[${i}]`));

  if (res.network && (res.network.classID !== undefined || res.network.priorities?.length)) {
    refuse("network", res.network, "net_cls and net_prio exist on cgroup v1 only");
  }

  for (const [device, limit] of Object.entries(res.rdma ?? {})) {
    const parts = [
      limit.hcaHandles !== undefined ? `hca_handle=${limit.hcaHandles}` : "",
      limit.hcaObjects !== undefined ? `hca_object=${limit.hcaObjects}` : "",
    ].filter(Boolean);
    if (parts.length) w("rdma.max", `${device} ${parts.join(" ")}`, `rdma[${JSON.stringify(device)}]`);
  }

  // unified: written as given, after the converted values, so it has the last word (as runc).
  for (const [key, value] of Object.entries(res.unified ?? {})) {
    const field = `${F}.unified[${JSON.stringify(key)}]`;
    if (!/^[a-z_]+\.[a-zA-Z0-9_.]+$/.test(key) || key.includes(".."))
      throw new ResourceError(field, key, "must name a cgroup interface file, such as memory.high");
    if (key.startsWith("cgroup.")) throw new ResourceError(field, key, "cgroup.* files are the runtime's, not the config's");
    w(key, value, field);
  }
  return out;
}

/** The controllers a set of writes needs (v2: the file name's prefix). */
export function controllersOf(writes: readonly CgroupWrite[]): string[] {
  return [...new Set(writes.map((x) => x.controller || x.file.split(".")[0]!))];
}

/**
 * The devices every container may use, whatever its rules say: runc's list (libcontainer/
 * specconv AllowedDevices, runc 1.1.5), appended after the config's rules as runc does:
 * mknod of any node (opening is what the rules guard), null, random, full, tty, zero, urandom,
 * the pty slaves and master, and /dev/net/tun. Not /dev/console (c 5:1): the console is a pty
 * slave bound over it, which c 136:* covers.
 */
export const defaultAllowedDevices: readonly DeviceRule[] = [
  { allow: true, type: "c", access: "m" },
  { allow: true, type: "b", access: "m" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // null
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" }, // random
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // full
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // tty
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // zero
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }, // urandom
  { allow: true, type: "c", major: 136, access: "rwm" }, // pts/*
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // ptmx
  { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, // net/tun
];

/**
 * A rule's access as the kernel lists it: the set of r, w and m, in that order, whatever the
 * order or the repeats the config gives ("mr" -> "rm", "wr" -> "rw", "rwmm" -> "rwm"), as
 * runc 1.1.5 reads it (its devices.Permissions is a set: on this host runc lists "c 1:11 rm"
 * for "mr" and "c 1:11 rwm" for "rwmm", where the kernel itself would take at most three
 * letters). Empty is refused, as runc refuses it ("device access at N field cannot be empty").
 * Any other letter is refused too, where runc drops it silently (it reads "r w" as "rw", and
 * "x" as no access, which then fails its own final check with no field named).
 */
export function deviceAccess(access: string, field: string): string {
  if (access === "") throw new ResourceError(field, access, "must not be empty: give some of r, w and m");
  if (!/^[rwm]+$/.test(access)) throw new ResourceError(field, access, "must be made of r, w and m");
  return ["r", "w", "m"].filter((a) => access.includes(a)).join("");
}

/** "c 1:3 rwm", with * for a missing number; type "a" is every device. */
export function deviceRuleText(r: DeviceRule): string {
  const type = r.type ?? "a";
  if (type === "a") return "a";
  return `${type} ${r.major ?? "*"}:${r.minor ?? "*"} ${r.access ?? "rwm"}`;
}

/** One rule of the cgroup v2 device filter (native deviceFilterAttach): final, -1 = any number. */
export interface DeviceFilterRule {
  allow: boolean;
  type: "a" | "b" | "c";
  major: number;
  minor: number;
  access: string;
}

/**
 * The cgroup v2 device filter's rules, in the order v1 would apply them (the same list as
 * v1DeviceWrites: deny-all, the config's rules, the defaults); the program lets the last
 * matching rule decide, and denies what none matches.
 */
export function deviceFilterRules(rules: readonly DeviceRule[] | undefined): DeviceFilterRule[] {
  return v1DeviceWrites(rules).map((w) => {
    const allow = w.file === "devices.allow";
    if (w.value === "a") return { allow, type: "a", major: -1, minor: -1, access: "rwm" };
    const [type, nums, access] = w.value.split(" ") as ["b" | "c", string, string];
    const [major, minor] = nums.split(":").map((n) => (n === "*" ? -1 : Number(n))) as [number, number];
    return { allow, type, major, minor, access };
  });
}

/**
 * v1 devices controller writes, in order: deny-all, the config's rules, then the defaults
 * above. A rule whose type or access is not one the kernel knows is an error at its field.
 *
 * Security (issue 15, a bypass of the config's deny-all): linux.devices is NOT a source of
 * rules. A node the config creates is created, but opening it takes a rule of
 * linux.resources.devices (or a default), as with runc; adding an allow for each node after
 * the config's rules made `{"allow": false, "access": "rwm"}` powerless against them.
 * And the list starts from deny-all whatever the config says, as runc's device emulator does:
 * a new v1 cgroup inherits its parent's list (at the root: "a *:* rwm"), so a config without
 * a deny-all rule would otherwise leave every device open (and on cgroup v2 the filter denies
 * what no rule allows, so both versions now mean the same). The deny-all is left out when the
 * config's first rule already resets the list (type "a", allow or deny).
 */
export function v1DeviceWrites(rules: readonly DeviceRule[] | undefined): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const add = (r: DeviceRule, field: string) => {
    if (r.type !== undefined && !["a", "b", "c"].includes(r.type))
      throw new ResourceError(`${field}.type`, r.type, 'must be "a", "b" or "c"');
    const access = r.access === undefined ? undefined : deviceAccess(r.access, `${field}.access`);
    out.push({ controller: "devices", file: r.allow ? "devices.allow" : "devices.deny", value: deviceRuleText({ ...r, access }), field });
  };
  const first = rules?.[0];
  if (!first || (first.type ?? "a") !== "a") add({ allow: false, type: "a" }, "(default device rules)");
  (rules ?? []).forEach((r, i) => add(r, `${F}.devices[${i}]`));
  defaultAllowedDevices.forEach((r) => add(r, "(default device rules)"));
  return out;
}
