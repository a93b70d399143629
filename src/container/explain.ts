/**
 * `berth check --explain`: the launch plan a bundle would produce, step by step, each step
 * with the config field it came from. Built exactly as create builds it, minus the launch:
 * fd numbers are the ones create would use with no --preserve-fds; seccomp is the program
 * libseccomp compiles for this host (check.ts explainBundle), or none when it cannot be compiled.
 *
 * Each op's arguments come twice: `args` as the plan holds them (numbers, masks), and `shown`
 * for people: mount flags by name (`MS_BIND|MS_REC`), modes and the umask in octal (`0022`),
 * capability sets by name, rlimits by name, the seccomp program by its size and rules.
 */
import { statfsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { cgroupPathFor, detectCgroups } from "../cgroups";
import { BerthError } from "../errors";
import { buildPlan, childFdLayout, CLONE, hostOpenedBinds, idmappedMountRequests, MOUNT_ATTR, MS, PlanError, SECCOMP_FILTER_FLAG, type LaunchPlan, type PlanOp } from "../plan";
import { capabilityNumbers, rlimitNumbers, type Spec } from "../spec";

export interface Explained {
  cloneFlags: string[];
  joins: LaunchPlan["joins"];
  userns?: LaunchPlan["userns"];
  ops: { index: number; op: string; args: unknown[]; shown: string[]; origin: string }[];
}

/** The seccomp program create would load: compiled by libseccomp (check.ts), with what it came from. */
export interface ExplainSeccomp {
  bpf: Uint8Array;
  flags: number;
}

/** `A|B|C` for the bits of `value` named in `table` (as `prefix` + name), the rest in hex; "0" for none. */
export function bitNames(value: number | bigint, table: Readonly<Record<string, number | bigint>>, prefix = ""): string {
  let rest = BigInt(value);
  const names: string[] = [];
  const bits = Object.entries(table)
    .map(([name, bit]) => [name, BigInt(bit)] as const)
    .filter(([, bit]) => bit !== 0n)
    .sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  for (const [name, bit] of bits) {
    if ((rest & bit) === bit) {
      names.push(prefix + name);
      rest &= ~bit;
    }
  }
  if (rest !== 0n) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join("|") : "0";
}

/** 0o22 -> "0022". */
export const octal = (n: number): string => `0${(n & 0o7777).toString(8).padStart(3, "0")}`;

const capBits = Object.fromEntries(Object.entries(capabilityNumbers).map(([name, n]) => [name, 1n << BigInt(n)]));
const capNames = (mask: unknown) => (BigInt(mask as bigint) === 0n ? "(none)" : bitNames(mask as bigint, capBits));
const rlimitNames = Object.fromEntries(Object.entries(rlimitNumbers).map(([name, n]) => [n, name]));
const limit = (n: unknown) => (n === -1 || n === -1n ? "unlimited" : String(n));
const S_IF: Record<number, string> = { 0o010000: "S_IFIFO", 0o020000: "S_IFCHR", 0o060000: "S_IFBLK", 0o100000: "S_IFREG" };
const SECCOMP_INSTRUCTION_BYTES = 8; // struct sock_filter

/** The arguments of one op as a person reads them. */
export function humanArgs(op: string, args: PlanOp["args"]): string[] {
  const plain = args.map((a) => {
    if (a instanceof Uint8Array) return `<${a.length} bytes>`;
    if (typeof a === "bigint") return `0x${a.toString(16)}`;
    return JSON.stringify(a);
  });
  const n = (i: number) => Number(args[i]);
  switch (op) {
    case "mount":
    case "mountNoFollow":
      plain[3] = bitNames(n(3), MS, "MS_");
      break;
    case "mountPropagation":
      plain[1] = bitNames(n(1), MS, "MS_");
      break;
    case "remountRoot":
      plain[0] = bitNames(n(0), MS, "MS_");
      break;
    case "mountSetattr":
      plain[1] = bitNames(n(1), MOUNT_ATTR, "MOUNT_ATTR_");
      plain[2] = bitNames(n(2), MOUNT_ATTR, "MOUNT_ATTR_");
      break;
    case "mkdirInRoot":
      plain[1] = octal(n(1));
      break;
    case "mknod": {
      const mode = n(1);
      const dev = n(2);
      plain[1] = `${S_IF[mode & 0o170000] ?? `0${(mode & 0o170000).toString(8)}`}|${octal(mode)}`;
      // Linux's new_encode_dev: minor's low 8 bits, major, then minor's upper bits.
      plain[2] = `${(dev >>> 8) & 0xfff}:${(dev & 0xff) | ((dev >>> 12) & 0xfff00)}`;
      break;
    }
    case "umask":
      plain[0] = octal(n(0));
      break;
    case "capBounding":
    case "capAmbient":
      plain[0] = capNames(args[0]);
      break;
    case "capset":
      plain[0] = `effective=${capNames(args[0])}`;
      plain[1] = `permitted=${capNames(args[1])}`;
      plain[2] = `inheritable=${capNames(args[2])}`;
      break;
    case "setrlimit":
      plain[0] = rlimitNames[n(0)] ?? String(args[0]);
      plain[1] = `soft=${limit(args[1])}`;
      plain[2] = `hard=${limit(args[2])}`;
      break;
    case "setns":
      plain[1] = bitNames(n(1), CLONE, "CLONE_");
      break;
    case "personality":
      plain[0] = n(0) === 0x0008 ? "PER_LINUX32" : n(0) === 0 ? "PER_LINUX" : plain[0]!;
      break;
    case "seccompLoad": {
      const bytes = (args[0] as Uint8Array).length;
      plain[0] = bytes === 0 ? "<not compiled: no libseccomp>" : `${bytes / SECCOMP_INSTRUCTION_BYTES} BPF instructions`;
      plain[1] = bitNames(n(1), SECCOMP_FILTER_FLAG, "SECCOMP_FILTER_FLAG_");
      break;
    }
  }
  return plain;
}

function flagNames(flags: number): string[] {
  return Object.entries(CLONE)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => `CLONE_${name}`);
}

function shownArg(a: PlanOp["args"][number]): unknown {
  if (a instanceof Uint8Array) return `<${a.length} bytes>`;
  if (typeof a === "bigint") return `0x${a.toString(16)}`;
  return a;
}

export function explainSpec(spec: Spec, bundleDir: string, compiledSeccomp?: ExplainSeccomp): Explained {
  const rootfs = resolve(bundleDir, spec.root?.path ?? "rootfs");
  const layout = detectCgroups();
  let plan: LaunchPlan;
  try {
    // create's fd table (plan/fd-layout.ts), with no --preserve-fds.
    const slots = childFdLayout({
      inherited: 0,
      startResult: (spec.hooks?.startContainer?.length ?? 0) > 0,
      joined: (spec.linux?.namespaces ?? []).filter((n) => n.path).map((n) => n.type),
      idmapped: idmappedMountRequests(spec, bundleDir).map((r) => r.index),
      bindTrees: hostOpenedBinds(spec, bundleDir).map((r) => r.index),
    });
    const bindTrees = Object.fromEntries(Object.entries(slots.bindTrees).map(([i, fd]) => [i, { fd, flags: 0 }]));
    plan = buildPlan({
      spec,
      rootfs,
      bundle: bundleDir,
      fds: { fifo: slots.fifo, namespaces: slots.namespaces, idmapped: slots.idmapped, bindTrees, startResult: slots.startResult },
      bindSourceIsFile: (i) => {
        try {
          return !statSync(resolve(bundleDir, spec.mounts?.[i]?.source ?? "")).isDirectory();
        } catch {
          return false;
        }
      },
      bindSourceIsProcfs: (i) => {
        try {
          return statfsSync(resolve(bundleDir, spec.mounts?.[i]?.source ?? "")).type === 0x9fa0;
        } catch {
          return false;
        }
      },
      cgroup: {
        mode: layout.mode,
        hierarchies: layout.v1Hierarchies.map((h) => ({ name: h.mountPoint.split("/").pop()!, mountPoint: h.mountPoint, data: h.data })),
        v2Mount: layout.v2Mount,
        path: cgroupPathFor(spec.linux?.cgroupsPath, "<id>"),
        // As for the cgroup2 directory create makes (one that exists already is joined instead).
        intoUnified: layout.v2Mount !== undefined,
      },
      capLastCap: 40,
      // What create does without --no-new-keyring (the id is not known here).
      sessionKeyring: "_ses.<container-id>",
      seccomp: spec.linux?.seccomp ? (compiledSeccomp ?? { bpf: new Uint8Array(0), flags: 0 }) : undefined,
    });
  } catch (err) {
    if (err instanceof PlanError) throw new BerthError({ op: "check", field: err.field, value: err.value, reason: err.reason });
    throw err;
  }
  return {
    cloneFlags: flagNames(plan.cloneFlags),
    joins: plan.joins,
    userns: plan.userns,
    ops: plan.ops.map((o, index) => {
      const shown = humanArgs(o.op, o.args);
      const sc = spec.linux?.seccomp;
      // What the program came from: the config's rule count and default action.
      const rules = sc?.syscalls?.length ?? 0;
      if (o.op === "seccompLoad" && sc) shown.push(`(${rules} rule${rules === 1 ? "" : "s"}, default ${sc.defaultAction})`);
      return { index, op: o.op, args: o.args.map(shownArg), shown, origin: o.origin };
    }),
  };
}

export function renderExplained(e: Explained): string {
  const lines = [`clone3: ${e.cloneFlags.join("|") || "(no new namespaces)"}`];
  for (const j of e.joins) lines.push(`join: ${j.type} namespace ${j.path} (${j.origin})`);
  const rows = e.ops.map((o) => [String(o.index), o.op, o.shown.join(" "), o.origin]);
  const w = [0, 1, 2].map((c) => Math.min(60, Math.max(...rows.map((r) => r[c]!.length))));
  for (const r of rows) lines.push(`${r[0]!.padStart(w[0]!)}  ${r[1]!.padEnd(w[1]!)}  ${r[2]!.padEnd(w[2]!)}  ${r[3]}`);
  return lines.join("\n") + "\n";
}
