/**
 * The command line fuzzed: for every verb, hostile ids (`/`, `..`, `.`, 1,000 characters,
 * control characters, non-UTF-8 bytes), unknown flags, flags without their values, repeated
 * flags, missing and extra arguments -- through bin/berth, and the same arguments through runc
 * where it has the verb.
 *
 * Every case must: exit 0 or 1 (exec's own failures: 255, as runc), print no stack trace and
 * no "internal error", say what went wrong in `berth: <verb> ...` lines, and leave nothing in
 * the state root or the working directory (`spec` aside, which writes config.json there).
 *
 * NUL cannot be tested through argv: exec(2) takes C strings, and Node refuses an argument
 * holding one before anything runs (asserted below).
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth, berthBin } from "../helpers/cli";
import { Rng } from "../helpers/fuzz";
import { recordNumbers, scale } from "../helpers/reliability";

jest.setTimeout(scale(120_000, 3_600_000));

const CASES = scale(50, 3000);
/** The fixed cases run: all (~600) in the long run, every FIXED_STRIDE-th in the short one. */
const FIXED_STRIDE = scale(6, 1);
const firstSeed = Number(process.env.BERTH_FUZZ_SEED ?? 1);
const hasRunc = spawnSync("runc", ["--version"]).status === 0;

const VERBS = [
  "create",
  "start",
  "run",
  "state",
  "kill",
  "delete",
  "pause",
  "resume",
  "exec",
  "ps",
  "list",
  "events",
  "update",
  "spec",
  "features",
  "check",
] as const;
/** berth's own verbs, which runc has not. */
const BERTH_ONLY = new Set(["check"]);

const IDS = [
  "c1",
  "a/b",
  "../x",
  "..",
  ".",
  "/",
  "x".repeat(1000),
  "a\nb",
  "a\tb",
  "\u001b[31mred",
  "-",
  "",
  " ",
  "é",
  "\ud800",
  "$(id)",
  "*",
  "a b",
  "123",
  "-1",
  "0x10",
  "1e999",
  "--",
  "c1\r",
];
const UNKNOWN_FLAGS = ["--bogus", "-Z", "--bogus=1", "---", "--=", "-", "--no-debug", "--Root", "--root-", "-root"];
/** Each verb's flags that take a value (a few globals too), to be given without one. */
const VALUE_FLAGS: Record<string, string[]> = {
  create: ["--bundle", "-b", "--pid-file", "--console-socket", "--preserve-fds"],
  run: ["--bundle", "--pid-file", "--console-socket", "--preserve-fds"],
  exec: ["--cwd", "--env", "-e", "--user", "-u", "--process", "-p", "--cap", "--preserve-fds", "--pid-file"],
  kill: [],
  list: ["--format", "-f"],
  ps: ["--format"],
  events: ["--interval"],
  update: ["--resources", "-r", "--memory", "--pids-limit", "--cpu-quota", "--blkio-weight"],
  spec: ["--bundle"],
  check: ["--bundle", "--format"],
};
const GLOBAL_VALUE_FLAGS = ["--root", "--log", "--log-format", "--criu", "--rootless"];
const ODD_VALUES = [
  "",
  "-1",
  "1e999",
  "abc",
  "/dev/zero",
  "/nonexistent/x",
  "..",
  "x".repeat(5000),
  "json",
  "table",
  "yaml",
  "9".repeat(30),
  "0",
  "-",
];

let base: string;
let root: string;
let cwd: string;
let runcRoot: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "berth-fuzz-cli-"));
  root = join(base, "state");
  cwd = join(base, "cwd");
  runcRoot = join(base, "runc");
  for (const d of [root, cwd, runcRoot]) mkdirSync(d);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** One case: the arguments after `--root <root>`. */
function generate(seed: number): string[] {
  const rng = new Rng(seed);
  const verb = rng.pick(VERBS);
  const args: string[] = [];
  if (rng.chance(0.15)) args.push(rng.pick(GLOBAL_VALUE_FLAGS), rng.pick(ODD_VALUES));
  args.push(verb);
  const n = rng.int(4);
  const flags = VALUE_FLAGS[verb] ?? [];
  for (let i = 0; i < n; i++) {
    const kind = rng.int(7);
    if (kind === 0) args.push(rng.pick(IDS));
    else if (kind === 1) args.push(rng.pick(UNKNOWN_FLAGS));
    else if (kind === 2 && flags.length) args.push(rng.pick(flags), rng.pick(ODD_VALUES));
    else if (kind === 3 && flags.length) {
      const f = rng.pick(flags);
      args.push(f, rng.pick(ODD_VALUES), f, rng.pick(ODD_VALUES)); // repeated
    } else if (kind === 4) args.push(rng.pick(GLOBAL_VALUE_FLAGS), rng.pick(ODD_VALUES));
    else if (kind === 5)
      args.push(rng.pick(IDS), rng.pick(IDS)); // an extra argument
    else args.push(rng.pick(IDS));
  }
  // ... and a flag without its value, last, now and then
  if (rng.chance(0.2)) args.push(rng.pick([...flags, ...GLOBAL_VALUE_FLAGS, "--help"]));
  return args;
}

const STACK = /^\s+at |internal error|RangeError|TypeError|ReferenceError|Maximum call stack|std::|terminate called/m;

interface Outcome {
  code: number | null;
  signal: string | null;
  stderr: string;
  timedOut: boolean;
}

/** Run a program with files for stdout and stderr (a container would keep a pipe open). */
function run(bin: string, args: string[]): Outcome {
  const out = openSync(join(base, "out"), "w+");
  const err = openSync(join(base, "err"), "w+");
  try {
    const r = spawnSync(bin, args, { cwd, stdio: ["ignore", out, err], timeout: 20_000, killSignal: "SIGKILL" });
    return {
      code: r.status,
      signal: r.signal,
      stderr: readFileSync(join(base, "err"), "utf8"),
      timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT",
    };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/** What is wrong with berth's answer to `args` (empty: nothing). */
function verdict(args: string[], o: Outcome): string[] {
  const bad: string[] = [];
  if (o.timedOut) bad.push("hung (20 s)");
  else if (o.signal) bad.push(`killed by ${o.signal}`);
  const verb = args.find((a) => (VERBS as readonly string[]).includes(a));
  const okCodes = verb === "exec" ? [0, 1, 255] : [0, 1];
  if (o.code !== null && !okCodes.includes(o.code)) bad.push(`exit code ${o.code}`);
  if (STACK.test(o.stderr)) bad.push(`stack trace or internal error: ${o.stderr.slice(0, 300)}`);
  if (o.code !== 0 && !o.stderr && !args.includes("--help")) bad.push("failed without a word");
  for (const line of o.stderr.split("\n").filter(Boolean)) {
    if (line.startsWith("time=") || line.startsWith("{")) continue; // a --debug log line
    if (!line.startsWith("berth")) bad.push(`stderr line not from berth: ${line.slice(0, 200)}`);
  }
  // The first line names the verb (run's config errors are create's: run is create and start).
  const first = o.stderr.split("\n")[0] ?? "";
  if (
    o.code !== 0 &&
    verb &&
    first.startsWith("berth: ") &&
    !first.startsWith(`berth: ${verb}`) &&
    !(verb === "run" && first.startsWith("berth: create"))
  ) {
    // ... unless a global flag or the verb itself was the mistake, before any verb was known
    if (!/^berth: (unknown command|--|-\w: |unknown flag|unexpected)/.test(first) && !/^berth: \S+: /.test(first))
      bad.push(`does not name the verb ${verb}: ${first.slice(0, 200)}`);
  }
  return bad;
}

/** What berth left in the state root and the working directory (spec's config.json aside), then cleared. */
function leftovers(): string[] {
  const left = readdirSync(root).map((e) => `state/${e}`);
  for (const e of readdirSync(cwd)) {
    if (e !== "config.json") left.push(`cwd/${e}`);
  }
  clear();
  return left;
}

function clear(): void {
  for (const dir of [root, cwd, runcRoot]) for (const e of readdirSync(dir)) rmSync(join(dir, e), { recursive: true, force: true });
}

const figures = {
  cases: 0,
  fixedCases: 0,
  crashes: 0,
  stackTraces: 0,
  hangs: 0,
  badExitCodes: 0,
  silentFailures: 0,
  leftovers: 0,
  runc: hasRunc ? { cases: 0, panics: 0, signals: 0, hangs: 0, otherExitCodes: 0 } : ("not installed" as const),
};
const failures: string[] = [];

function tally(bad: string[]): void {
  if (bad.some((b) => b.startsWith("killed") || b.startsWith("exit code 13"))) figures.crashes++;
  if (bad.some((b) => b.startsWith("stack trace"))) figures.stackTraces++;
  if (bad.some((b) => b.startsWith("hung"))) figures.hangs++;
  if (bad.some((b) => b.startsWith("exit code"))) figures.badExitCodes++;
  if (bad.some((b) => b.startsWith("failed without"))) figures.silentFailures++;
  if (bad.some((b) => b.startsWith("left"))) figures.leftovers++;
}

function runCase(what: string, args: string[]): void {
  const full = ["--root", root, ...args];
  const o = run(berthBin, full);
  const bad = verdict(args, o);
  // A --log file is asked for: berth writes it (a relative name, in the working directory).
  const logs = args.flatMap((a, i) =>
    a === "--log" && args[i + 1] ? [`cwd/${args[i + 1]}`] : a.startsWith("--log=") ? [`cwd/${a.slice(6)}`] : [],
  );
  const left = leftovers().filter((e) => !logs.includes(e));
  if (left.length) bad.push(`left ${left.join(", ")}`);
  if (bad.length) {
    tally(bad);
    if (failures.length < 30) failures.push(`${what} ${JSON.stringify(args).slice(0, 300)}\n  ${bad.join("\n  ")}`);
  }
  const verb = args.find((a) => (VERBS as readonly string[]).includes(a));
  if (hasRunc && typeof figures.runc === "object" && verb && !BERTH_ONLY.has(verb)) {
    const r = run("runc", ["--root", runcRoot, ...args.filter((a) => a !== root)]);
    figures.runc.cases++;
    if (/goroutine \d+|^panic:|fatal error:/m.test(r.stderr)) figures.runc.panics++;
    if (r.timedOut) figures.runc.hangs++;
    else if (r.signal) figures.runc.signals++;
    else if (r.code !== 0 && r.code !== 1) figures.runc.otherExitCodes++;
    clear(); // runc's leftovers (`--log create` writes ./create) are not counted
  }
}

test("NUL cannot reach berth through argv: Node refuses it before exec", () => {
  expect(() => spawnSync(berthBin, ["state", "a\u0000b"])).toThrow(/null bytes/);
});

test("fixed cases: every verb with hostile ids, unknown flags, missing values, repeated flags, missing and extra arguments", () => {
  const takesId = new Set(["create", "start", "run", "state", "kill", "delete", "pause", "resume", "exec", "ps", "events", "update"]);
  for (const verb of VERBS) {
    const cases: string[][] = [[verb], [verb, "--bogus"], [verb, "-Z", "c1"], [verb, "c1", "extra", "more"]];
    if (takesId.has(verb)) for (const id of IDS) cases.push(verb === "exec" ? [verb, id, "true"] : [verb, id]);
    for (const f of VALUE_FLAGS[verb] ?? []) cases.push([verb, "c1", f], [verb, f, "x", f, "y", "c1"]);
    for (const g of GLOBAL_VALUE_FLAGS) cases.push([g, verb], [verb, "c1", g]);
    cases.forEach((args, i) => {
      if (i % FIXED_STRIDE !== VERBS.indexOf(verb) % FIXED_STRIDE) return;
      figures.fixedCases++;
      runCase("fixed", args);
    });
  }
  // Non-UTF-8 bytes in an id and a flag value: through bash, since Node's argv is UTF-8.
  for (const verb of ["state", "create", "delete", "kill", "exec"]) {
    for (const bytes of ["\\xff", "\\xc3", "\\xed\\xa0\\x80", "a\\x80b"]) {
      const o = run("bash", ["-c", `exec "$0" --root "$1" ${verb} $'${bytes}' ${verb === "exec" ? "true" : ""}`, berthBin, root]);
      figures.fixedCases++;
      const bad = verdict([verb], o);
      if (!/invalid container id/.test(o.stderr)) bad.push(`not refused as an invalid id: ${o.stderr.slice(0, 200)}`);
      const left = leftovers();
      if (left.length) bad.push(`left ${left.join(", ")}`);
      if (bad.length) {
        tally(bad);
        failures.push(`non-UTF-8 ${verb} ${bytes}\n  ${bad.join("\n  ")}`);
      }
    }
  }
  expect(failures).toEqual([]);
});

test("random argument lists, every verb: exit 0 or 1, no stack, a berth: line, nothing left", () => {
  for (let i = 0; i < CASES; i++) {
    const seed = firstSeed + i;
    figures.cases++;
    runCase(`seed ${seed}`, generate(seed));
  }
  expect(failures).toEqual([]);
});

test("the regressions found: named in one line each", () => {
  expect(berth(["--root", root, "update", "--resources", "/dev/zero", "c1"]).stderr).toBe(
    'berth: update c1: --resources "/dev/zero": must be a regular file\n',
  );
  expect(berth(["--root", root, "state", "c1", "--root", "/b"]).stderr).toBe("berth: state c1: --root: given more than once\n");
  expect(berth(["--root", root, "run", "--preserve-fds", "1e999", "c1"]).stderr).toBe(
    'berth: run c1: --preserve-fds "1e999": must be a whole number from 0 to 1048576\n',
  );
  expect(berth(["--root", root, "start", "c1", "c2"]).stderr).toBe('berth: start: unexpected argument "c2"\n');
  // The long run, seed 810: an id with a newline split the message over two lines.
  expect(berth(["--root", root, "kill", "a\nb", "a b"]).stderr).toBe('berth: kill a\\nb: signal "a b": unknown signal\n');
  // The long run, seed 1275 on: an id that looks like a number (`0x10`, `1e3`) was the number
  // yargs made of it (16, 1000), and a message about it crashed.
  expect(berth(["--root", root, "start", "0x10"]).stderr).toBe("berth: start 0x10: container does not exist\n");
  expect(berth(["--root", root, "delete", "1e3"]).stderr).toBe("berth: delete 1e3: container does not exist\n");
  expect(berth(["--root", root, "list", "--format"])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: "berth: list: --format: needs a value\n",
  });
});

afterAll(() => {
  recordNumbers("fuzz-cli", { ...figures, firstSeed, failures: failures.length });
});
