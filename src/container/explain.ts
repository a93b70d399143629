/**
 * `berth check --explain`: the launch plan a bundle would produce, step by step, each step
 * with the config field it came from. Built exactly as create builds it, minus the launch:
 * fd numbers are the ones create would use with no --preserve-fds; seccomp is shown as the
 * request libseccomp would compile.
 */
import { resolve } from "node:path";
import { cgroupPathFor, detectCgroups } from "../cgroups";
import { BerthError } from "../errors";
import { buildPlan, CLONE, PlanError, type LaunchPlan, type PlanOp } from "../plan";
import type { Spec } from "../spec";
import { fdLayoutFor } from "./inputs";
import { cgroupPlanInput } from "./launch-plan";
import { bindSources } from "./rootfs";

export interface Explained {
  cloneFlags: string[];
  joins: LaunchPlan["joins"];
  userns?: LaunchPlan["userns"];
  ops: { index: number; op: string; args: unknown[]; origin: string }[];
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

export function explainSpec(spec: Spec, bundleDir: string): Explained {
  const rootfs = resolve(bundleDir, spec.root?.path ?? "rootfs");
  const layout = detectCgroups();
  let plan: LaunchPlan;
  try {
    // create's fd table (plan/fd-layout.ts), with no --preserve-fds.
    const { slots } = fdLayoutFor(spec, bundleDir, 0);
    const bindTrees = Object.fromEntries(Object.entries(slots.bindTrees).map(([i, fd]) => [i, { fd, flags: 0 }]));
    // A source that cannot be looked at is shown as a directory (create would refuse it).
    const binds = bindSources(spec, bundleDir, () => undefined);
    plan = buildPlan({
      spec,
      rootfs,
      bundle: bundleDir,
      fds: { fifo: slots.fifo, namespaces: slots.namespaces, idmapped: slots.idmapped, bindTrees, startResult: slots.startResult },
      bindSourceIsFile: binds.isFile,
      bindSourceIsProcfs: binds.isProcfs,
      // As for the cgroup2 directory create makes (one that exists already is joined instead).
      cgroup: cgroupPlanInput(layout, cgroupPathFor(spec.linux?.cgroupsPath, "<id>"), layout.v2Mount !== undefined),
      capLastCap: 40,
      // What create does without --no-new-keyring (the id is not known here).
      sessionKeyring: "_ses.<container-id>",
      seccomp: spec.linux?.seccomp ? { bpf: new Uint8Array(0), flags: 0 } : undefined,
    });
  } catch (err) {
    if (err instanceof PlanError) throw new BerthError({ op: "check", field: err.field, value: err.value, reason: err.reason });
    throw err;
  }
  return {
    cloneFlags: flagNames(plan.cloneFlags),
    joins: plan.joins,
    userns: plan.userns,
    ops: plan.ops.map((o, index) => ({ index, op: o.op, args: o.args.map(shownArg), origin: o.origin })),
  };
}

export function renderExplained(e: Explained): string {
  const lines = [`clone3: ${e.cloneFlags.join("|") || "(no new namespaces)"}`];
  for (const j of e.joins) lines.push(`join: ${j.type} namespace ${j.path} (${j.origin})`);
  const rows = e.ops.map((o) => [String(o.index), o.op, o.args.map((a) => (typeof a === "number" && a > 9 ? `0x${a.toString(16)}` : JSON.stringify(a))).join(" "), o.origin]);
  const w = [0, 1, 2].map((c) => Math.min(60, Math.max(...rows.map((r) => r[c]!.length))));
  for (const r of rows) lines.push(`${r[0]!.padStart(w[0]!)}  ${r[1]!.padEnd(w[1]!)}  ${r[2]!.padEnd(w[2]!)}  ${r[3]}`);
  return lines.join("\n") + "\n";
}
