/**
 * Hooks, runtime-spec 1.3 (config.md "POSIX-platform Hooks", runtime.md "Lifecycle").
 *
 * A pure planner -- which hooks of a kind run, with which argv, env, timeout and state JSON on
 * stdin -- and a runner for the hooks that run on the host (prestart, createRuntime,
 * poststart, poststop). createContainer and startContainer run inside the container, forked by
 * berth-init (plan op runHook, native/init/op-hooks.cc); their state JSON is built into the
 * plan by src/plan/build.ts (status "created", without the pid, which berth-init writes in
 * front once it knows it), not by `hookState` here.
 *
 * Decisions where the spec is silent, as runc 1.1.5 and crun 1.8.1 do (verified on this host
 * with hooks that copy /proc/self/environ and read /proc/self/cwd):
 *   - a hook with `env` gets exactly that environment; a hook without it gets the runtime's
 *     own environment, whole (PATH included: podman's and GPU vendors' hooks rely on it).
 *     For the hooks berth-init runs in the container's namespaces that environment is the
 *     process's (src/plan/build.ts), as runc's init gives them;
 *   - the hooks run here, in the runtime's namespaces (prestart, createRuntime, poststart,
 *     poststop), work in the bundle directory: runc's create chdirs there (crun does for all
 *     four; runc's own poststop gets the cwd `runc delete` was called from, which we do not
 *     copy). A bundle that is gone by then leaves the hook in berth's own cwd rather than
 *     failing it;
 *   - a hook without `args` gets argv = [path];
 *   - the failure reason is "exit status N" (Go's words, which runc prints), "killed by
 *     signal N" or "timed out after N seconds", followed by the start of what the hook wrote
 *     on stderr, if anything.
 */
import type { spawnSync as SpawnSync } from "node:child_process";
import { statSync } from "node:fs";
import type { Hook, Hooks, Spec, State, Status } from "../spec";

export type HookKind = keyof Hooks;

/**
 * The status on a hook's stdin, as runtime.md's lifecycle has it at that point.
 * runtime.md "State": "created" is the status once the runtime has finished creating the
 * environment ("after step 2 in the lifecycle"), and the create-time hooks are steps 3 to 5,
 * so they read "created" (as crun gives them, and runtime-tools' hooks_stdin checks).
 */
export const hookStatus: Record<HookKind, Status> = {
  prestart: "created",
  createRuntime: "created",
  createContainer: "created",
  startContainer: "created",
  poststart: "running",
  poststop: "stopped",
};

export interface HookStateInput {
  spec: Pick<Spec, "ociVersion" | "annotations" | "hooks">;
  id: string;
  bundle: string;
  pid?: number;
}

/** The state (runtime.md "State") a hook of `kind` reads. */
export function hookState(kind: HookKind, input: HookStateInput): State {
  const state: State = { ociVersion: input.spec.ociVersion, id: input.id, status: hookStatus[kind], bundle: input.bundle };
  if (input.pid !== undefined) state.pid = input.pid;
  if (input.spec.annotations && Object.keys(input.spec.annotations).length) state.annotations = input.spec.annotations;
  return state;
}

/** One hook to run: everything decided. */
export interface HookCall {
  /** "hooks.createRuntime[1]" */
  field: string;
  path: string;
  argv: string[];
  /** The hook's `env`, exactly; undefined (no `env`) = the runtime's own environment. */
  env?: string[];
  /** Working directory: the bundle (state.bundle). */
  cwd: string;
  /** Seconds; undefined = no limit. */
  timeout?: number;
  input: string;
}

export function hookArgv(h: Hook): string[] {
  return h.args && h.args.length > 0 ? h.args : [h.path];
}

/** The hooks of `kind` in config order, each with `state` on its stdin, in `state.bundle`. Pure. */
export function planHooks(kind: HookKind, hooks: Hooks | undefined, state: State): HookCall[] {
  const input = JSON.stringify(state);
  return (hooks?.[kind] ?? []).map((h, i) => {
    const call: HookCall = {
      field: `hooks.${kind}[${i}]`,
      path: h.path,
      argv: hookArgv(h),
      cwd: state.bundle,
      timeout: h.timeout !== undefined && h.timeout > 0 ? h.timeout : undefined,
      input,
    };
    if (h.env) call.env = h.env;
    return call;
  });
}

export interface HookFailure {
  field: string;
  path: string;
  reason: string;
}

function envObject(env: string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const e of env) {
    const eq = e.indexOf("=");
    if (eq > 0 && !(e.slice(0, eq) in out)) out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

function firstLines(text: string): string {
  const t = text.trim().replace(/\s*\n\s*/g, " ");
  return t.length > 200 ? `${t.slice(0, 200)}...` : t;
}

/** Run one hook on the host; undefined when it succeeded. */
export function runHook(call: HookCall): HookFailure | undefined {
  const fail = (reason: string, stderr?: string) => {
    const said = stderr ? firstLines(stderr) : "";
    return { field: call.field, path: call.path, reason: said ? `${reason}: ${said}` : reason };
  };
  // node:child_process is required on the first hook only: most containers have none (start-up cost).
  const { spawnSync } = require("node:child_process") as { spawnSync: typeof SpawnSync };
  const r = spawnSync(call.path, call.argv.slice(1), {
    argv0: call.argv[0],
    env: call.env ? envObject(call.env) : process.env,
    cwd: statSync(call.cwd, { throwIfNoEntry: false })?.isDirectory() ? call.cwd : undefined,
    input: call.input,
    stdio: ["pipe", "ignore", "pipe"],
    encoding: "utf8",
    timeout: call.timeout !== undefined ? call.timeout * 1000 : undefined,
    killSignal: "SIGKILL",
    maxBuffer: 1 << 20,
  });
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ETIMEDOUT") return fail(`timed out after ${call.timeout} ${call.timeout === 1 ? "second" : "seconds"}`, r.stderr);
  // EPIPE: the hook did not read its stdin, which is its business.
  if (r.error && code !== "EPIPE") return fail(`exec: ${r.error.message.replace(/^spawnSync \S+ /, "")}`);
  if (r.status === 0) return undefined;
  if (r.status !== null) return fail(`exit status ${r.status}`, r.stderr);
  return fail(`killed by signal ${r.signal ?? "?"}`, r.stderr);
}

/**
 * Run hooks in order. "stop": the first failure ends the run and is returned (prestart,
 * createRuntime); "warn": every hook runs, each failure goes to `warn` (poststart, poststop:
 * runtime.md says the lifecycle continues as if it had succeeded).
 */
export function runHooks(
  calls: HookCall[],
  mode: "stop" | "warn",
  warn: (f: HookFailure) => void = () => undefined,
): HookFailure | undefined {
  for (const call of calls) {
    const failure = runHook(call);
    if (!failure) continue;
    if (mode === "stop") return failure;
    warn(failure);
  }
  return undefined;
}
