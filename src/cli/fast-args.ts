/**
 * The fast path's parser: the command lines engines send constantly (containerd's shim, conmon,
 * podman), `[globals] state|start|delete|kill ID ...` and `list [-q] [--format F]`, recognised without yargs. Loading yargs
 * and the whole CLI costs ~0.3x of Node's own start-up here (bench/results.md); these verbs need
 * neither. This module imports nothing, so the entry point (entry.ts) stays tiny.
 *
 * Only exact, unambiguous shapes are accepted; anything else -- help, version, an unknown or
 * repeated flag, a missing or extra argument, a value that yargs would turn into a number or an
 * array -- returns undefined and the full CLI (main.ts) handles it, errors included. So the
 * fast path never has to reproduce an error message of yargs: it produces the same verb call
 * that main.ts would, or none.
 */

export type FastVerb = "state" | "start" | "delete" | "kill" | "list";

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
const verbs = new Set<string>(["state", "start", "delete", "kill", "list"]);

export function parseFast(args: string[]): FastCall | undefined {
  const g: Record<string, string | boolean> = {};
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) break;
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (name in g) return undefined; // repeated: yargs makes an array
    if (valueFlags.has(name)) {
      const v = eq < 0 ? args[++i] : a.slice(eq + 1);
      if (v === undefined || v === "" || v.startsWith("-") || numberLike(v)) return undefined;
      g[name] = v;
    } else if ((name === "debug" || name === "systemd-cgroup") && eq < 0) {
      g[name] = true;
    } else {
      return undefined;
    }
  }
  const verb = args[i];
  if (verb === undefined || !verbs.has(verb)) return undefined;
  const logFormat = g["log-format"] ?? "text";
  if (logFormat !== "text" && logFormat !== "json") return undefined;
  const index = i;
  let force = false;
  let all = false;
  let quiet = false;
  let format: string | undefined;
  const pos: string[] = [];
  for (i++; i < args.length; i++) {
    const a = args[i]!;
    if (verb === "list") {
      if ((a === "-q" || a === "--quiet") && !quiet) quiet = true;
      else if ((a === "-f" || a === "--format") && format === undefined) format = args[++i];
      else if (a.startsWith("--format=") && format === undefined) format = a.slice(9);
      else return undefined;
      if (format !== undefined && format !== "table" && format !== "json") return undefined;
      continue;
    }
    if (verb === "delete" && (a === "-f" || a === "--force") && !force) force = true;
    else if (verb === "kill" && (a === "-a" || a === "--all") && !all) all = true;
    else if (plain(a)) pos.push(a);
    else if (verb === "kill" && pos.length === 1 && /^[1-9][0-9]?$/.test(a)) pos.push(a);
    else return undefined;
  }
  if (verb === "list" ? pos.length !== 0 : pos.length !== 1 && !(verb === "kill" && pos.length === 2)) return undefined;
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
  };
}
