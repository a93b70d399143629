/**
 * The lifecycle's side of hooks: errors located at the hook's field, and the hooks whose
 * failures are only warnings (poststart, poststop; runtime.md "Lifecycle" steps 9 and 13).
 * The planner and runner are in src/hooks; berth-init runs createContainer and startContainer.
 */
import { join } from "node:path";
import { BerthError } from "../errors";
import { hookState, planHooks, runHooks, type HookFailure, type HookKind, type HookStateInput } from "../hooks";
import type { Runtime } from "./runtime";

/** `berth: create c1: hooks.createRuntime[1] "/bin/false": exit status 1` */
export function hookError(op: string, id: string, f: HookFailure): BerthError {
  return new BerthError({ op, id, field: f.field, value: f.path, reason: f.reason });
}

/** The fifo `start` reads the startContainer hooks' verdict from (see native/init/op-hooks.cc). */
export function startResultPath(containerDir: string): string {
  return join(containerDir, "start.fifo");
}

/** Run hooks whose failures are warnings, each on stderr as `berth: <op> <id>: <field> "<path>": <reason>`. */
export function runWarningHooks(rt: Runtime, op: string, kind: HookKind, input: HookStateInput): void {
  const hooks = input.spec.hooks;
  if (!hooks?.[kind]?.length) return;
  const say = rt.notice ?? rt.warn;
  runHooks(planHooks(kind, hooks, hookState(kind, input)), "warn", (f) => say(hookError(op, input.id, f).message.replace(/^berth: /, "")));
}

export function runPoststop(rt: Runtime, op: string, input: HookStateInput): void {
  runWarningHooks(rt, op, "poststop", input);
}
