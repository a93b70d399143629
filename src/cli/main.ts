/**
 * berth's command line: runc's global flags and subcommands (see commands.ts), parsed by yargs,
 * then one verb module, loaded only when its verb runs (start-up cost is paid per verb).
 *
 * Exit codes: 0 success; 1 any error (user errors print one line per problem and no stack;
 * internal errors add a stack under --debug); a verb may return another code (run, exec).
 */
import yargs from "yargs";
import { BerthError } from "../errors";
import { commands, globalOptions, positionals, type CommandDef } from "./commands";
import { mainHelp, verbHelp } from "./docs";
import type { CliContext, GlobalOptions, Verb } from "./context";
import { Logger } from "./log";
import { processIo, reportError, type MainIo } from "./report";

import { commit, version } from "./version";

const verbs: Record<string, () => Promise<{ default: Verb }>> = {
  spec: () => import("./spec"),
  check: () => import("./check"),
  features: () => import("./features"),
  create: () => import("./create"),
  start: () => import("./start"),
  state: () => import("./state"),
  list: () => import("./list"),
  kill: () => import("./kill"),
  delete: () => import("./delete"),
  run: () => import("./run"),
  pause: () => import("./pause"),
  resume: () => import("./resume"),
  update: () => import("./update"),
  exec: () => import("./exec"),
  ps: () => import("./ps"),
  events: () => import("./events"),
  image: () => import("./image"),
  bundle: () => import("./bundle"),
  diff: () => import("./diff"),
  commit: () => import("./commit"),
  export: () => import("./export"),
  completion: () => import("./completion"),
};

function versionText(libseccomp: string | undefined): string {
  return [
    `berth version ${version}`,
    `commit: ${commit}`,
    `spec: 1.3.0`,
    `node: ${process.version}`,
    ...(libseccomp ? [`libseccomp: ${libseccomp}`] : []),
  ].join("\n");
}

/** What stands in for a lone "-" argument while yargs parses (see main). */
const DASH = "\u0001-";

/** The verb in argv: the first token that names a command, skipping global flags and values. */
function findVerb(args: string[]): { verb?: CommandDef; index: number } {
  const takesValue = new Set(["--log", "--log-format", "--root", "--criu", "--image-root"]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") break;
    if (a.startsWith("-")) {
      if (takesValue.has(a)) i++;
      continue;
    }
    return { verb: commands.find((c) => c.name === a), index: i };
  }
  return { index: -1 };
}

/**
 * `exec ID cmd -la` and `ps ID -ef`: everything after the container id belongs to the command,
 * as with runc (whose flag parser stops at the first non-flag). Insert "--" after the id.
 */
function protectTrailing(args: string[], def: CommandDef, verbIndex: number): string[] {
  if (def.name !== "exec" && def.name !== "ps") return args;
  for (let i = verbIndex + 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return args;
    if (a.startsWith("-")) {
      const name = a.replace(/^-+/, "").split("=")[0]!;
      const opt = Object.entries(def.options).find(([k, o]) => k === name || o.alias === name);
      if (!a.includes("=") && opt && opt[1].type !== "boolean") i++;
      continue;
    }
    return [...args.slice(0, i + 1), "--", ...args.slice(i + 1)];
  }
  return args;
}

/**
 * Flags neither global nor the verb's. Checked before yargs, which would otherwise take
 * `--bogus c1` as a flag with a value and then complain about a missing container id.
 */
function unknownFlags(args: string[], verb: CommandDef | undefined): string[] {
  const known = new Set<string>(["help", "h"]);
  const add = (opts: Record<string, { alias?: string | readonly string[] }>) => {
    for (const [name, o] of Object.entries(opts)) {
      known.add(name);
      for (const a of [o.alias ?? []].flat()) known.add(a);
    }
  };
  add(globalOptions as Record<string, { alias?: string | readonly string[] }>);
  if (verb) add(verb.options as Record<string, { alias?: string | readonly string[] }>);
  const out: string[] = [];
  for (const a of args) {
    if (a === "--") break;
    if (!a.startsWith("-") || a === "-") continue;
    const name = a.replace(/^-+/, "").split("=")[0]!;
    if (known.has(name)) continue;
    // -fq: a run of single-letter flags.
    if (!a.startsWith("--") && [...name].every((ch) => known.has(ch))) continue;
    if (/^-\d+$/.test(a)) continue; // a negative number is a value (kill ID -9 is not a flag)
    out.push(a.split("=")[0]!);
  }
  return out;
}

function friendly(msg: string, rawArgs?: string[]): string {
  let m: RegExpExecArray | null;
  if ((m = /^Unknown arguments?: (.*)$/.exec(msg))) {
    // Unknown flags were caught before yargs (unknownFlags): what yargs finds unknown here are
    // positionals the verb does not take (`start c1 c2`), not flags.
    const names = m[1]!.split(", ");
    if (rawArgs && names.every((n) => rawArgs.includes(n)))
      return `unexpected argument${names.length > 1 ? "s" : ""} ${names.map((n) => JSON.stringify(n)).join(", ")}`;
    return `unknown flag ${names.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(", ")}`;
  }
  if ((m = /^Not enough non-option arguments: got (\d+), need at least (\d+)$/.exec(msg))) return "missing the <container-id> argument";
  if ((m = /^Unknown command: (.*)$/.exec(msg))) return `unknown command "${m[1]}"`;
  if ((m = /^Invalid values:\s*Argument: (\S+), Given: (.*), Choices: (.*)$/s.exec(msg)))
    return `--${m[1]} ${m[2]!.trim().replace(/"/g, "")}: must be one of ${m[3]!.trim().replace(/"/g, "")}`;
  if ((m = /^Not enough arguments following: (.*)$/.exec(msg))) return `--${m[1]} needs a value`;
  return msg.charAt(0).toLowerCase() + msg.slice(1);
}

/** Flags yargs gathers into an array when repeated, on purpose: exec's --env, --cap, ... */
const repeatable = new Set(["env", "cap", "cgroup", "additional-gids", "empty-ns"]);

/** The text given for a flag (`--flag V` or `--flag=V`), for messages: yargs turns "abc" into NaN. */
function givenValue(rawArgs: string[], name: string): string | undefined {
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === `--${name}`) return rawArgs[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/**
 * What yargs lets through but a verb cannot take: a flag given twice (yargs makes an array,
 * which reached fs calls as a path: "internal error: The "path" argument must be of type
 * string"), and a --preserve-fds that is not a count of fds (1e999 is Infinity, and create
 * would loop filling its fd table).
 */
function checkFlagValues(def: CommandDef, argv: CliContext["argv"], rawArgs: string[], id: string | undefined): void {
  for (const name of [...Object.keys(globalOptions), ...Object.keys(def.options)]) {
    if (Array.isArray(argv[name]) && !repeatable.has(name))
      throw new BerthError({ op: def.name, id, field: `--${name}`, reason: "given more than once" });
  }
  const fds = argv["preserve-fds"];
  if (fds !== undefined && !(typeof fds === "number" && Number.isInteger(fds) && fds >= 0 && fds <= MAX_PRESERVE_FDS)) {
    throw new BerthError({
      op: def.name,
      id,
      field: "--preserve-fds",
      value: givenValue(rawArgs, "preserve-fds") ?? String(fds),
      reason: `must be a whole number from 0 to ${MAX_PRESERVE_FDS}`,
    });
  }
}

/** Linux's default fs.nr_open: no process has more fds to pass on. */
const MAX_PRESERVE_FDS = 1 << 20;

/** Help text width: the terminal's, at most 100; 80 when stdout is not a terminal. */
const helpWidth = (): number => Math.min(100, process.stdout.columns || 80);

/**
 * `berth help [COMMAND]`, and `--help`/`-h` anywhere before a "--" (exec's command keeps its
 * own -h: protectTrailing put a "--" before it): the text to print, or undefined.
 */
function helpAsked(rawArgs: string[], args: string[], verb: CommandDef | undefined, verbIndex: number): string | undefined {
  if (verb?.name === "help") {
    const topics = rawArgs.slice(verbIndex + 1).filter((a) => !a.startsWith("-"));
    if (topics.length > 1)
      throw new BerthError({
        op: "help",
        reason: `unexpected argument${topics.length > 2 ? "s" : ""} ${topics
          .slice(1)
          .map((t) => JSON.stringify(t))
          .join(", ")}`,
      });
    if (topics.length === 0)
      return rawArgs.includes("--help") || rawArgs.includes("-h") ? verbHelp(verb, helpWidth()) : mainHelp(helpWidth());
    const def = commands.find((c) => c.name === topics[0]);
    if (!def) throw new BerthError({ op: "help", reason: `unknown command "${topics[0]}"` });
    return verbHelp(def, helpWidth());
  }
  const end = args.indexOf("--");
  const before = end < 0 ? args : args.slice(0, end);
  if (!before.includes("--help") && !before.includes("-h")) return undefined;
  return verb ? verbHelp(verb, helpWidth()) : mainHelp(helpWidth());
}

export type { MainIo } from "./report";

export async function main(rawArgs: string[], io: MainIo = processIo): Promise<number> {
  const { verb, index } = findVerb(rawArgs);
  // A lone "-" is an argument (an id, update's --resources "-" for stdin), which yargs would
  // read as an empty flag and make `true`: it goes through as a stand-in, put back below.
  const args = (verb ? protectTrailing(rawArgs, verb, index) : rawArgs).map((a) => (a === "-" ? DASH : a));
  const op = verb?.name ?? "";
  let logger = new Logger(undefined, "text", false);
  let debug = rawArgs.includes("--debug");
  let selected: { def: CommandDef; argv: CliContext["argv"] } | undefined;

  try {
    if (index >= 0 && !verb) throw new BerthError({ op, reason: `unknown command "${rawArgs[index]}"` });
    const help = helpAsked(rawArgs, args, verb, index);
    if (help !== undefined) {
      io.stdout(help);
      return 0;
    }
    const unknown = unknownFlags(args, verb);
    if (unknown.length > 0) throw new BerthError({ op, reason: `unknown flag ${unknown.join(", ")}` });
    const parser = yargs(args)
      .scriptName("berth")
      .usage("berth [global options] <command> [command options]\n\nberth is an OCI runtime: it runs containers from OCI bundles.")
      .version(false)
      .options(globalOptions)
      // An id is a string as typed: `0x10` or `1e3` is a name, not a number (yargs would make them 16 and 1000).
      .parserConfiguration({ "strip-dashed": false, "boolean-negation": false, "parse-numbers": false, "parse-positional-numbers": false })
      .strict()
      // Help is answered before yargs (helpAsked, docs.ts): its wrapper cut words in two.
      .help(false)
      .exitProcess(false)
      .fail((msg, err) => {
        // yargs' own complaints (a YError: a flag without its value, ...) are the user's.
        if (err && err.name !== "YError") throw err;
        const missing = /^Not enough arguments following: (.+)$/.exec(msg ?? err?.message ?? "");
        if (missing) throw new BerthError({ op, field: `${missing[1]!.length === 1 ? "-" : "--"}${missing[1]}`, reason: "needs a value" });
        throw new BerthError({ op, reason: friendly(msg ?? err?.message ?? "", rawArgs) });
      });
    for (const def of commands) {
      const cmd = positionals[def.name] ? `${def.name} ${positionals[def.name]}` : def.name;
      parser.command(
        cmd,
        def.describe,
        (y) => y.usage(`berth ${def.usage}\n\n${def.describe}`).options(def.options),
        (argv) => {
          selected = { def, argv: argv as CliContext["argv"] };
        },
      );
    }
    const argv = (await parser.parseAsync()) as Record<string, unknown>;
    for (const o of selected ? [argv, selected.argv as Record<string, unknown>] : [argv]) {
      for (const [k, v] of Object.entries(o)) {
        if (v === DASH) o[k] = "-";
        else if (Array.isArray(v)) o[k] = v.map((x) => (x === DASH ? "-" : x));
      }
    }
    if (argv.help) return 0;
    debug = argv.debug === true;
    logger = new Logger(argv.log as string | undefined, argv["log-format"] as "text" | "json", debug);

    if (!selected) {
      if (argv.version) {
        let libseccomp: string | undefined;
        try {
          const native = await import("../native");
          const v = native.seccompVersion();
          libseccomp = `${v.major}.${v.minor}.${v.micro}`;
        } catch {
          libseccomp = undefined; // the native part is not built: say nothing rather than guess
        }
        io.stdout(versionText(libseccomp) + "\n");
        return 0;
      }
      io.stdout(mainHelp(helpWidth()));
      return 0;
    }

    const global: GlobalOptions = {
      root: argv.root as string,
      debug,
      log: argv.log as string | undefined,
      logFormat: argv["log-format"] as "text" | "json",
      systemdCgroup: argv["systemd-cgroup"] === true,
      rootless: argv.rootless as string,
      criu: argv.criu as string | undefined,
      imageRoot: argv["image-root"] as string,
    };
    const { def } = selected;
    const id = selected.argv["container-id"] as string | undefined;
    // Words after a "--" reach argv._; only exec and ps take them (their command and ps's args).
    const extra = selected.argv._.slice(1).map(String);
    if (extra.length > 0 && def.name !== "exec" && def.name !== "ps") {
      throw new BerthError({
        op: def.name,
        reason: `unexpected argument${extra.length > 1 ? "s" : ""} ${extra.map((a) => JSON.stringify(a)).join(", ")}`,
      });
    }
    checkFlagValues(def, selected.argv, rawArgs, id);
    logger.debug(`${def.name}${id ? ` ${id}` : ""}: ${JSON.stringify(rawArgs)}`);
    const load = verbs[def.name];
    if (!def.built || !load) {
      throw new BerthError({ op: def.name, id, reason: "not implemented in this build of berth yet" });
    }
    const run = (await load()).default;
    const code = await run({ global, logger, argv: selected.argv, stdout: io.stdout, verbArgs: rawArgs.slice(index + 1) });
    return typeof code === "number" ? code : 0;
  } catch (err) {
    return reportError(err, op, logger, debug, io);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`berth: internal error: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
