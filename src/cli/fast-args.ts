/**
 * The fast path's parser: the command lines engines send constantly (containerd's shim, conmon,
 * podman), `[globals] state|start|delete|kill ID ...`, `list [-q] [--format F]` and
 * `create|run [-d] [--bundle B] [--pid-file P] [--console-socket S] [--no-pivot]
 * [--no-new-keyring] [--preserve-fds N] ID`, recognised without yargs (global flags before or
 * after the verb, as yargs takes them). Loading yargs
 * and the whole CLI costs ~0.3x of Node's own start-up here (bench/results.md); these verbs need
 * neither. This module imports nothing, so the entry point (entry.ts) stays tiny.
 *
 * Only exact, unambiguous shapes are accepted; anything else -- help, version, an unknown or
 * repeated flag, a missing or extra argument, a value that yargs would turn into a number or an
 * array -- returns undefined and the full CLI (main.ts) handles it, errors included. So the
 * fast path never has to reproduce an error message of yargs: it produces the same verb call
 * that main.ts would, or none.
 */

export type FastVerb = "state" | "start" | "delete" | "kill" | "list" | "create" | "run";

export interface FastCall {
  verb: FastVerb;
  /** Index of the verb in args (what main.ts calls `index`). */
  index: number;
  id: string;
  root: string;
  debug: boolean;
  log?: string;
  logFormat: "text" | "json";
  systemdCgroup: boolean;
  rootless: string;
  criu: string;
  force: boolean;
  all: boolean;
  signal?: string | number;
  quiet: boolean;
  format: "table" | "json";
  /** create and run: their flags as given (undefined / false when absent). */
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  detach: boolean;
}

/** yargs-parser's isNumber (plus anything close to it): such a value would reach the verb as a number. */
function numberLike(x: string): boolean {
  return /^0x[0-9a-f]+$/i.test(x) || /^[-]?(?:\d+(?:\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(x);
}

/** A plain word: not a flag, not empty, not something yargs would coerce. */
function plain(x: string | undefined): x is string {
  return x !== undefined && x !== "" && !x.startsWith("-") && !numberLike(x);
}

const valueFlags = new Set(["root", "log", "log-format", "rootless", "criu"]);
const verbs = new Set<string>(["state", "start", "delete", "kill", "list", "create", "run"]);
/** create's and run's flags that take a value (all strings for yargs, but --preserve-fds). */
const launchValues: Record<string, string> = {
  bundle: "bundle",
  b: "bundle",
  "pid-file": "pid-file",
  "console-socket": "console-socket",
  "preserve-fds": "preserve-fds",
};
const launchBools = new Set(["no-pivot", "no-new-keyring"]);

/** A value yargs would take as given: not empty, not a flag, not a number. */
function value(v: string | undefined): v is string {
  return v !== undefined && v !== "" && !v.startsWith("-") && !numberLike(v);
}

/**
 * A global flag at args[i] into g. Returns the index of its last token, or -1 if args[i] is not
 * a global flag the fast path takes (then the caller decides), or -2 to give up (the full CLI).
 */
function globalFlag(args: string[], i: number, g: Record<string, string | boolean>): number {
  const a = args[i]!;
  if (!a.startsWith("--")) return -1;
  const eq = a.indexOf("=");
  const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
  if (valueFlags.has(name)) {
    if (name in g) return -2; // repeated: yargs makes an array
    const v = eq < 0 ? args[++i] : a.slice(eq + 1);
    if (!value(v)) return -2;
    g[name] = v;
    return i;
  }
  if (name === "debug" || name === "systemd-cgroup") {
    if (name in g || eq >= 0) return -2;
    g[name] = true;
    return i;
  }
  return -1;
}

export function parseFast(args: string[]): FastCall | undefined {
  const g: Record<string, string | boolean> = {};
  let i = 0;
  for (; i < args.length; i++) {
    const j = globalFlag(args, i, g);
    if (j === -2) return undefined;
    if (j === -1) {
      if (args[i]!.startsWith("--")) return undefined;
      break;
    }
    i = j;
  }
  const verb = args[i];
  if (verb === undefined || !verbs.has(verb)) return undefined;
  const index = i;
  const launch = verb === "create" || verb === "run";
  let force = false;
  let all = false;
  let quiet = false;
  let format: string | undefined;
  const lv: Record<string, string> = {};
  const lb = new Set<string>();
  const pos: string[] = [];
  for (i++; i < args.length; i++) {
    const a = args[i]!;
    if (launch) {
      // yargs takes global flags after the verb too
      const j = globalFlag(args, i, g);
      if (j === -2) return undefined;
      if (j >= 0) {
        i = j;
        continue;
      }
      const long = a.startsWith("--");
      const eq = long ? a.indexOf("=") : -1;
      const name = long ? (eq < 0 ? a.slice(2) : a.slice(2, eq)) : a.startsWith("-") && a.length === 2 ? a.slice(1) : "";
      const key = launchValues[name];
      if (key && (long || name === "b")) {
        if (key in lv) return undefined;
        const v = eq < 0 ? args[++i] : a.slice(eq + 1);
        if (key === "preserve-fds" ? v === undefined || !/^(0|[1-9][0-9]{0,5})$/.test(v) : !value(v)) return undefined;
        lv[key] = v;
      } else if (long && eq < 0 && (launchBools.has(name) || (verb === "run" && name === "detach"))) {
        if (lb.has(name)) return undefined;
        lb.add(name);
      } else if (a === "-d" && verb === "run") {
        if (lb.has("detach")) return undefined;
        lb.add("detach");
      } else if (plain(a)) pos.push(a);
      else return undefined;
      continue;
    }
    if (verb === "list") {
      if ((a === "-q" || a === "--quiet") && !quiet) quiet = true;
      else if ((a === "-f" || a === "--format") && format === undefined) {
        format = args[++i];
        if (format === undefined) return undefined; // no value: the full CLI says so
      } else if (a.startsWith("--format=") && format === undefined) format = a.slice(9);
      else return undefined;
      if (format !== undefined && format !== "table" && format !== "json") return undefined;
      continue;
    }
    if (verb === "delete" && (a === "-f" || a === "--force") && !force) force = true;
    else if (verb === "kill" && (a === "-a" || a === "--all") && !all) all = true;
    else if (plain(a)) pos.push(a);
    else if (verb === "kill" && pos.length === 1 && /^(?:0|[1-9][0-9]?)$/.test(a)) pos.push(a);
    else return undefined;
  }
  if (verb === "list" ? pos.length !== 0 : pos.length !== 1 && !(verb === "kill" && pos.length === 2)) return undefined;
  const logFormat = g["log-format"] ?? "text";
  if (logFormat !== "text" && logFormat !== "json") return undefined;
  const sig = pos[1];
  return {
    verb: verb as FastVerb,
    index,
    id: pos[0] ?? "",
    root: (g.root as string | undefined) ?? "/run/berth",
    debug: g.debug === true,
    log: g.log as string | undefined,
    logFormat,
    systemdCgroup: g["systemd-cgroup"] === true,
    rootless: (g.rootless as string | undefined) ?? "auto",
    criu: (g.criu as string | undefined) ?? "criu",
    force,
    all,
    // yargs hands a numeric signal over as a number
    signal: sig !== undefined && /^\d+$/.test(sig) ? Number(sig) : sig,
    quiet,
    format: format === "json" ? "json" : "table",
    bundle: lv.bundle,
    pidFile: lv["pid-file"],
    consoleSocket: lv["console-socket"],
    noPivot: lb.has("no-pivot"),
    noNewKeyring: lb.has("no-new-keyring"),
    preserveFds: lv["preserve-fds"] === undefined ? 0 : Number(lv["preserve-fds"]),
    detach: lb.has("detach"),
  };
}
