/**
 * A container's resource usage, read from its cgroup files, in the shape of runc's
 * types/events.go `Stats` (what `runc events --stats` prints and containerd's shim decodes):
 * field names, units (nanoseconds, bytes) and omitempty rules as runc has them. Counters are
 * u64 in the kernel (an unlimited v1 memory.limit_in_bytes is 9223372036854771712), so they
 * are bigints here; `statsJson` prints them as exact JSON integers.
 *
 * v1 files: cpuacct.{usage,usage_percpu,usage_percpu_sys,usage_percpu_user,stat}, cpu.stat,
 * memory.{usage_in_bytes,max_usage_in_bytes,limit_in_bytes,failcnt,stat} and the memsw.,
 * kmem., kmem.tcp. variants, pids.{current,max}, blkio.throttle.*_recursive,
 * hugetlb.<size>.{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}.
 * v2 files: cpu.stat, memory.{current,max,peak,events,stat,swap.current,swap.max},
 * pids.{current,max}, io.stat, hugetlb.<size>.{current,max,events}.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CgroupSet } from "./files";

export type U64 = bigint;

export interface MemoryEntry {
  limit: U64;
  usage?: U64;
  max?: U64;
  failcnt: U64;
}

export interface BlkioEntry {
  major?: U64;
  minor?: U64;
  op?: string;
  value?: U64;
}

export interface ContainerStats {
  cpu: {
    usage: { total?: U64; percpu?: U64[]; percpu_kernel?: U64[]; percpu_user?: U64[]; kernel: U64; user: U64 };
    throttling: { periods?: U64; throttledPeriods?: U64; throttledTime?: U64 };
  };
  memory: { cache?: U64; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw?: Record<string, U64> };
  pids: { current?: U64; limit?: U64 };
  blkio: Record<string, BlkioEntry[]>;
  hugetlb: Record<string, { usage?: U64; max?: U64; failcnt: U64 }>;
}

const MAX_U64 = (1n << 64n) - 1n;
/** USER_HZ: cpuacct.stat counts in clock ticks of 1/100 s on every Linux ABI we run on. */
const NS_PER_TICK = 10_000_000n;

function read(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return readFileSync(join(dir, file), "utf8");
  } catch {
    return undefined;
  }
}

function u64(text: string | undefined): U64 | undefined {
  const t = text?.trim();
  if (t === undefined || t === "") return undefined;
  if (t === "max") return MAX_U64;
  return /^\d+$/.test(t) ? BigInt(t) : undefined;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, oom_control) -> map. */
export function keyValues(text: string | undefined): Record<string, U64> {
  const out: Record<string, U64> = {};
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = BigInt(v);
  }
  return out;
}

/** Go's omitempty for a number: zero is left out. */
function nz(v: U64 | undefined): U64 | undefined {
  return v === undefined || v === 0n ? undefined : v;
}

function list(text: string | undefined): U64[] | undefined {
  const parts = (text ?? "").trim().split(/\s+/).filter(Boolean);
  return parts.length ? parts.map((p) => BigInt(p)) : undefined;
}

function entry(dir: string | undefined, prefix: string): MemoryEntry {
  return {
    limit: u64(read(dir, `${prefix}.limit_in_bytes`)) ?? 0n,
    usage: nz(u64(read(dir, `${prefix}.usage_in_bytes`))),
    max: nz(u64(read(dir, `${prefix}.max_usage_in_bytes`))),
    failcnt: u64(read(dir, `${prefix}.failcnt`)) ?? 0n,
  };
}

/** v1 blkio "8:0 Read 123" lines; "Total N" lines carry no device and are skipped (as runc). */
function blkioV1(text: string | undefined): BlkioEntry[] | undefined {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    const [maj, min] = f[0]!.split(":");
    out.push({ major: nz(BigInt(maj ?? "0")), minor: nz(BigInt(min ?? "0")), op: f[1], value: nz(BigInt(f[2]!)) });
  }
  return out.length ? out : undefined;
}

function hugepageSizes(dir: string | undefined, suffix: string): string[] {
  if (!dir) return [];
  try {
    return readdirSync(dir)
      .map((f) => new RegExp(`^hugetlb\\.([^.]+)\\.${suffix.replace(/\./g, "\\.")}$`).exec(f)?.[1])
      .filter((s): s is string => s !== undefined);
  } catch {
    return [];
  }
}

export function readStatsV1(v1: Record<string, string>): ContainerStats {
  const cpuacct = v1.cpuacct;
  const stat = keyValues(read(cpuacct, "cpuacct.stat"));
  const cpuStat = keyValues(read(v1.cpu, "cpu.stat"));
  const mem = v1.memory;
  const raw = keyValues(read(mem, "memory.stat"));
  const blkio: Record<string, BlkioEntry[]> = {};
  const files: [string, string][] = [
    ["ioServiceBytesRecursive", "blkio.throttle.io_service_bytes_recursive"],
    ["ioServicedRecursive", "blkio.throttle.io_serviced_recursive"],
  ];
  for (const [key, file] of files) {
    const e = blkioV1(read(v1.blkio, file));
    if (e) blkio[key] = e;
  }
  const hugetlb: ContainerStats["hugetlb"] = {};
  for (const size of hugepageSizes(v1.hugetlb, "usage_in_bytes")) {
    hugetlb[size] = {
      usage: nz(u64(read(v1.hugetlb, `hugetlb.${size}.usage_in_bytes`))),
      max: nz(u64(read(v1.hugetlb, `hugetlb.${size}.max_usage_in_bytes`))),
      failcnt: u64(read(v1.hugetlb, `hugetlb.${size}.failcnt`)) ?? 0n,
    };
  }
  const pidsMax = read(v1.pids, "pids.max")?.trim();
  return {
    cpu: {
      usage: {
        total: nz(u64(read(cpuacct, "cpuacct.usage"))),
        percpu: list(read(cpuacct, "cpuacct.usage_percpu")),
        percpu_kernel: list(read(cpuacct, "cpuacct.usage_percpu_sys")),
        percpu_user: list(read(cpuacct, "cpuacct.usage_percpu_user")),
        kernel: (stat.system ?? 0n) * NS_PER_TICK,
        user: (stat.user ?? 0n) * NS_PER_TICK,
      },
      throttling: {
        periods: nz(cpuStat.nr_periods),
        throttledPeriods: nz(cpuStat.nr_throttled),
        throttledTime: nz(cpuStat.throttled_time),
      },
    },
    memory: {
      cache: nz(raw.cache),
      usage: entry(mem, "memory"),
      swap: entry(mem, "memory.memsw"),
      kernel: entry(mem, "memory.kmem"),
      kernelTCP: entry(mem, "memory.kmem.tcp"),
      raw: Object.keys(raw).length ? raw : undefined,
    },
    // pids.max "max" means no limit: runc reports 0 (left out).
    pids: { current: nz(u64(read(v1.pids, "pids.current"))), limit: pidsMax === "max" ? undefined : nz(u64(pidsMax)) },
    blkio,
    hugetlb,
  };
}

export function readStatsV2(dir: string): ContainerStats {
  const cpuStat = keyValues(read(dir, "cpu.stat"));
  const us = (v: U64 | undefined) => (v === undefined ? undefined : v * 1000n);
  const raw = keyValues(read(dir, "memory.stat"));
  const events = keyValues(read(dir, "memory.events"));
  const current = u64(read(dir, "memory.current"));
  const limit = u64(read(dir, "memory.max")) ?? 0n;
  const swapCurrent = u64(read(dir, "memory.swap.current"));
  const swapMax = u64(read(dir, "memory.swap.max"));
  const sat = (a: U64, b: U64) => (a + b > MAX_U64 ? MAX_U64 : a + b);
  const blkio: Record<string, BlkioEntry[]> = {};
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (read(dir, "io.stat") ?? "").split("\n")) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    if (!dev || !dev.includes(":")) continue;
    const [maj, min] = dev.split(":").map((n) => BigInt(n));
    const kv = Object.fromEntries(
      kvs
        .map((p) => p.split("="))
        .filter((p) => p.length === 2 && /^\d+$/.test(p[1]!))
        .map(([k, v]) => [k, BigInt(v!)]),
    );
    const add = (to: BlkioEntry[], op: string, v: U64 | undefined) =>
      v !== undefined && to.push({ major: nz(maj), minor: nz(min), op, value: nz(v) });
    add(bytes, "Read", kv.rbytes);
    add(bytes, "Write", kv.wbytes);
    add(ios, "Read", kv.rios);
    add(ios, "Write", kv.wios);
  }
  if (bytes.length) blkio.ioServiceBytesRecursive = bytes;
  if (ios.length) blkio.ioServicedRecursive = ios;
  const hugetlb: ContainerStats["hugetlb"] = {};
  for (const size of hugepageSizes(dir, "current")) {
    hugetlb[size] = {
      usage: nz(u64(read(dir, `hugetlb.${size}.current`))),
      failcnt: keyValues(read(dir, `hugetlb.${size}.events`)).max ?? 0n,
    };
  }
  const pidsMax = read(dir, "pids.max")?.trim();
  return {
    cpu: {
      usage: { total: nz(us(cpuStat.usage_usec)), kernel: us(cpuStat.system_usec) ?? 0n, user: us(cpuStat.user_usec) ?? 0n },
      throttling: {
        periods: nz(cpuStat.nr_periods),
        throttledPeriods: nz(cpuStat.nr_throttled),
        throttledTime: nz(us(cpuStat.throttled_usec)),
      },
    },
    memory: {
      cache: nz(raw.file),
      usage: { limit, usage: nz(current), max: nz(u64(read(dir, "memory.peak"))), failcnt: events.max ?? 0n },
      // cgroup v2 counts swap apart; runc reports memory+swap here, as v1's memsw did.
      swap: { limit: swapMax === undefined ? 0n : sat(swapMax, limit), usage: nz(sat(swapCurrent ?? 0n, current ?? 0n)), failcnt: 0n },
      kernel: { limit: 0n, failcnt: 0n },
      kernelTCP: { limit: 0n, failcnt: 0n },
      raw: Object.keys(raw).length ? raw : undefined,
    },
    pids: { current: nz(u64(read(dir, "pids.current"))), limit: pidsMax === "max" ? undefined : nz(u64(pidsMax)) },
    blkio,
    hugetlb,
  };
}

/**
 * Stats from where the controllers are: v1 hierarchies on a legacy or hybrid host (a hybrid
 * host's cgroup2 has none of them), the cgroup2 directory on a unified host.
 */
export function readStats(set: CgroupSet): ContainerStats {
  if (set.mode === "unified" && set.unified) return readStatsV2(set.unified);
  return readStatsV1(set.v1);
}

/** The OOM kill counter: memory.events on v2, memory.oom_control (4.13+) on v1. */
export function oomKills(set: CgroupSet): bigint {
  if (set.mode === "unified" && set.unified) return keyValues(read(set.unified, "memory.events")).oom_kill ?? 0n;
  return keyValues(read(set.v1.memory, "memory.oom_control")).oom_kill ?? 0n;
}

/**
 * The memory controller's state, for the message of a limit set too low: usage now and at its
 * peak, OOM kills, and how often the limit was hit (v1 memory.failcnt, v2 memory.events "max").
 * A file this kernel lacks (v2 memory.peak before 5.19) leaves its field undefined.
 */
export interface MemoryPressure {
  oomKills: U64;
  limitHits: U64;
  usage?: U64;
  peak?: U64;
}

export function memoryPressure(set: CgroupSet): MemoryPressure | undefined {
  if (set.mode === "unified") {
    if (!set.unified) return undefined;
    const events = keyValues(read(set.unified, "memory.events"));
    return {
      oomKills: events.oom_kill ?? 0n,
      limitHits: events.max ?? 0n,
      usage: u64(read(set.unified, "memory.current")),
      peak: u64(read(set.unified, "memory.peak")),
    };
  }
  const dir = set.v1.memory;
  if (!dir) return undefined;
  return {
    oomKills: keyValues(read(dir, "memory.oom_control")).oom_kill ?? 0n,
    limitHits: u64(read(dir, "memory.failcnt")) ?? 0n,
    usage: u64(read(dir, "memory.usage_in_bytes")),
    peak: u64(read(dir, "memory.max_usage_in_bytes")),
  };
}

/** "current usage: N, peak usage: M", as runc words it (a figure this kernel lacks is left out). */
export function memoryUsageText(p: MemoryPressure): string {
  return [p.usage !== undefined && `current usage: ${p.usage}`, p.peak !== undefined && `peak usage: ${p.peak}`].filter(Boolean).join(", ");
}

/** JSON with bigints as exact integers (JSON.stringify cannot print a bigint). */
export function statsJson(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== "bigint") return v;
    marks.push(v.toString());
    return `\u0000${marks.length - 1}`;
  });
  return text.replace(/"\\u0000(\d+)"/g, (_m, i: string) => marks[Number(i)]!);
}
