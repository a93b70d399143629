/**
 * Fault injection, for tests only: BERTH_FAULT="<verb>:<step>" makes the named step of that
 * verb fail as if the system had refused it, so that a test can show what every failure
 * leaves behind (test/reliability/faults.test.ts). Without BERTH_FAULT nothing here does
 * anything but one environment lookup per step.
 *
 * A step is a point in the parent ("create cgroups", "write state") or one op of berth-init's
 * plan ("berth-init op 7"): the parent tells berth-init which op to fail through its
 * environment (BERTH_FAULT_OP, native/init/cmd-run.cc), which berth-init never passes on.
 * BERTH_FAULT_TRACE=<file> appends "<verb>\t<step>" for every step reached, so a test learns
 * the steps of a run before it fails them one by one.
 *
 * Every room may import this file, as it may import errors.ts.
 */
import { appendFileSync } from "node:fs";
import { BerthError } from "./errors";

function parsed(): { verb: string; step: string } | undefined {
  const v = process.env.BERTH_FAULT;
  if (!v) return undefined;
  const colon = v.indexOf(":");
  if (colon < 0) return undefined;
  return { verb: v.slice(0, colon), step: v.slice(colon + 1) };
}

function trace(verb: string, step: string): void {
  const file = process.env.BERTH_FAULT_TRACE;
  if (file) appendFileSync(file, `${verb}\t${step}\n`);
}

/** Whether fault injection or its trace is switched on (so that callers can skip building step names). */
export function faultsActive(): boolean {
  return process.env.BERTH_FAULT !== undefined || process.env.BERTH_FAULT_TRACE !== undefined;
}

/** Mark a step of `verb` (on container `id`): throws when BERTH_FAULT names it. */
export function faultPoint(verb: string, id: string, step: string): void {
  if (!faultsActive()) return;
  trace(verb, step);
  const f = parsed();
  if (f && f.verb === verb && f.step === step)
    throw new BerthError({ op: verb, id, reason: `fault injected at step "${step}" (BERTH_FAULT)` });
}

/** The step name of berth-init's op `index` ("berth-init op 7 mount"). */
export function initOpStep(index: number, name: string): string {
  return `berth-init op ${index} ${name}`;
}

/**
 * The plan ops a launch will run, as steps: `verbOf(i)` says which verb's steps op i counts
 * among (a created container's ops after waitStart run during `start`). Traced, and the index
 * of the op to fail returned when BERTH_FAULT names one of them.
 */
export function faultInitOps(ops: readonly { op: string }[], verbOf: (index: number) => string): number | undefined {
  if (!faultsActive()) return undefined;
  const f = parsed();
  let chosen: number | undefined;
  ops.forEach((o, i) => {
    const verb = verbOf(i);
    const step = initOpStep(i, o.op);
    trace(verb, step);
    if (f && f.verb === verb && f.step === step) chosen = i;
  });
  return chosen;
}
