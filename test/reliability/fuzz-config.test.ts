/**
 * config.json fuzzed: structure-aware mutants of the seed corpus (fuzz-corpus/) through
 * `berth check` -- in-process through the CLI's own main() for the bulk, and a sample through
 * bin/berth -- and a sample through `berth create` (and runc create, for comparison).
 *
 * Every case must: exit 0 or 1, print no stack trace and no "internal error", and locate every
 * error at a field (a config field path, or the file itself when it is not JSON). A refused
 * create must leave nothing; an accepted one is deleted with `delete --force`, which must
 * leave nothing either.
 *
 * Each case is one seed: BERTH_FUZZ_SEED=<n> replays the run from there (a failure prints its
 * seed and what the mutator did).
 *
 * What create is given is limited to what cannot touch the host outside this test's own
 * directories: the cgroup is pinned under a parent of this test's (a cgroupsPath of "/" would
 * put the container in, and delete --force would kill, the host's root cgroup) and the
 * container must have a mount namespace of its own. check gets every mutant.
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import checkVerb from "../../src/cli/check";
import { Logger } from "../../src/cli/log";
import { main } from "../../src/cli/main";
import { reportError } from "../../src/cli/report";
import { busyboxRootfs } from "../helpers/bundle";
import { berth } from "../helpers/cli";
import { Entries, mutate, Rng } from "../helpers/fuzz";
import { hostSnapshot, leftBehind, recordNumbers, scale, type HostSnapshot } from "../helpers/reliability";

jest.setTimeout(scale(120_000, 3_600_000));

const CASES = scale(800, 20_000); // in-process check
const MAIN_EVERY = 10; // ... every MAIN_EVERY-th through main(), yargs included
const CLI_EVERY = scale(75, 40); // ... and every CLI_EVERY-th through bin/berth check
const CREATE_CASES = scale(16, 400); // create-safe mutants through bin/berth create (and runc create)
const firstSeed = Number(process.env.BERTH_FUZZ_SEED ?? 1);

const corpusDir = join(__dirname, "fuzz-corpus");
const corpus = readdirSync(corpusDir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({ name: f, config: JSON.parse(readFileSync(join(corpusDir, f), "utf8")) as Record<string, unknown> }));

const cgParent = `berth-fuzz-${process.pid}`;
const hasRunc = spawnSync("runc", ["--version"]).status === 0;

let base: string;
let rootfs: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "berth-fuzz-config-"));
  rootfs = join(base, "rootfs");
  // A private copy: create makes mount points in the rootfs, and a hostile config aims there.
  cpSync(busyboxRootfs(), rootfs, { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(base, "state"));
  mkdirSync(join(base, "runc"));
});

/** Mount points under `dir`, as this process sees them, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

afterAll(() => {
  if (!base) return;
  // Never rm -rf through a mount a container left behind (a bind of / would take the host with it).
  for (const m of mountsUnder(base)) spawnSync("umount", ["-l", m]);
  if (mountsUnder(base).length === 0) rmSync(base, { recursive: true, force: true });
  // The cgroup parents this test's containers were pinned under, if empty (nothing else uses them).
  for (const h of ["", ...readdirSync("/sys/fs/cgroup")]) {
    for (const p of [cgParent, `${cgParent}-runc`]) {
      const dir = join("/sys/fs/cgroup", h, p);
      if (!existsSync(dir)) continue;
      // runc's leaves, if it left any (berth's are counted as leftovers by the test).
      const children = p === cgParent ? [] : readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
      for (const d of [...children.map((e) => join(dir, e.name)), dir]) {
        try {
          rmdirSync(d);
        } catch {
          /* not empty: a leftover */
        }
      }
    }
  }
});

// ---- what a well-behaved answer looks like ----

/** A field path as berth prints it: `mounts[3].destination`, `linux.sysctl["a.b"]`, `config.json`. */
const FIELD = /^(?:[A-Za-z_$][\w$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])(?:\.[A-Za-z_$][\w$-]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*/;

/** Does a rendered problem (`<field> "<value>": <reason>`) start with a field, or the file? */
function namesField(rest: string, configPath: string): boolean {
  if (rest.startsWith(`${configPath}: `) || rest.startsWith(`${configPath} `)) return true;
  const m = FIELD.exec(rest);
  if (!m) return false;
  const after = rest.slice(m[0].length);
  return after.startsWith(": ") || /^ ["\d[{tfn-]/.test(after);
}

const STACK = /^\s+at |internal error|RangeError|TypeError|ReferenceError|SyntaxError|Maximum call stack/m;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  threw?: string;
}

/** What is wrong with a check outcome (empty: nothing). */
function checkVerdict(o: Outcome, configPath: string, format: "text" | "json"): string[] {
  const bad: string[] = [];
  if (o.threw !== undefined) bad.push(`crash: main() threw: ${o.threw}`);
  if (o.code !== 0 && o.code !== 1) bad.push(`exit code ${o.code}`);
  if (STACK.test(o.stderr) || STACK.test(o.stdout)) bad.push(`stack trace or internal error: ${(o.stderr + o.stdout).slice(0, 300)}`);
  for (const line of o.stderr.split("\n").filter(Boolean)) {
    if (!line.startsWith("berth: check: ")) bad.push(`stderr line without "berth: check: ": ${line.slice(0, 200)}`);
    else if (!namesField(line.slice("berth: check: ".length), configPath)) bad.push(`error without a field: ${line.slice(0, 200)}`);
  }
  let errors = 0;
  if (format === "json" && o.stdout) {
    let report: { valid: boolean; problems: { field?: unknown; severity: string; reason: string }[] };
    try {
      report = JSON.parse(o.stdout);
    } catch {
      return [...bad, `stdout is not JSON: ${o.stdout.slice(0, 200)}`];
    }
    for (const p of report.problems) {
      if (p.severity !== "error") continue;
      errors++;
      if (typeof p.field !== "string" || p.field === "") bad.push(`error without a field: ${JSON.stringify(p).slice(0, 200)}`);
    }
    if (report.valid !== (o.code === 0)) bad.push(`valid ${report.valid} but exit code ${o.code}`);
  } else if (o.stdout) {
    const lines = o.stdout.split("\n").filter(Boolean);
    const summary = lines.pop()!;
    if (!summary.startsWith(`${configPath}: `)) bad.push(`no summary line: ${summary.slice(0, 200)}`);
    for (const line of lines) {
      const m = /^(error  |warning) (.*)$/.exec(line);
      if (!m) bad.push(`unexpected output line: ${line.slice(0, 200)}`);
      else if (m[1] === "error  ") {
        errors++;
        if (!namesField(m[2]!, configPath)) bad.push(`error without a field: ${line.slice(0, 200)}`);
      }
    }
  }
  if (o.code === 1 && errors === 0 && !o.stderr) bad.push("exit code 1 without an error");
  if (o.code === 0 && (errors > 0 || o.stderr)) bad.push("exit code 0 with an error");
  return bad;
}

/**
 * `berth check` in this process. Through main() (yargs and all) costs ~40 ms a call, so most
 * cases call the check verb itself and report a throw as main() does (reportError): the same
 * code from the parsed arguments on, at ~3 ms.
 */
async function checkInProcess(dir: string, format: "text" | "json", viaMain = false): Promise<Outcome> {
  let stdout = "";
  let stderr = "";
  const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t) };
  try {
    let code: number;
    if (viaMain) code = await main(["check", "--format", format, "--bundle", dir], io);
    else {
      const logger = new Logger(undefined, "text", false);
      const argv = { _: ["check"], bundle: dir, format, explain: false };
      const global = { root: "/run/berth", debug: false, logFormat: "text" as const, systemdCgroup: false, rootless: "auto" };
      try {
        code = checkVerb({ global, logger, argv, stdout: io.stdout, verbArgs: ["--format", format, "--bundle", dir] });
      } catch (err) {
        code = reportError(err, "check", logger, false, io);
      }
    }
    return { code, stdout, stderr };
  } catch (err) {
    return { code: null, stdout, stderr, threw: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
}

function checkCli(dir: string, format: "text" | "json"): Outcome {
  const r = berth(["check", "--format", format, "--bundle", dir], { timeoutMs: 60_000 });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

// ---- the host, before and after a create ----

function pidIsOurs(pid: string): boolean {
  for (const link of ["root", "cwd"]) {
    try {
      if (readlinkSync(`/proc/${pid}/${link}`).startsWith(base)) return true;
    } catch {
      /* gone, or not ours to read */
    }
  }
  try {
    return readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(`/${cgParent}`);
  } catch {
    return false;
  }
}

/**
 * A dead process not yet reaped. delete --force kills the init and waits for it to exit; the
 * init's parent, the create that made it, is long gone, so it is reaped by PID 1 -- which here
 * (a firecracker guest's process_api) does so lazily, leaving it a zombie for a while, still
 * listed in the cgroup it left ("(deleted)"). It holds nothing but its pid.
 */
function isZombie(pid: string): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true; // gone
  }
}

/**
 * What this test's containers left: other test files run beside this one, and their
 * containers' processes, memfds and mounts are not this test's. A process or memfd counts when
 * its process is in this test's cgroup parent or has its root or cwd in this test's directory;
 * a mount when it is under that directory or names this test's ids.
 */
function ours(before: HostSnapshot, after: HostSnapshot): Record<string, string[]> {
  const left = leftBehind(before, after, ["ownFds"]);
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(left) as [keyof HostSnapshot, string[]][]) {
    let kept = v;
    if (k === "processes" || k === "memfds") kept = v.filter((e) => pidIsOurs(e.split(/[ /]/)[0]!) && !isZombie(e.split(/[ /]/)[0]!));
    if (k === "mounts") kept = v.filter((e) => e.startsWith(base) || e.includes(`fz${process.pid}-`));
    if (kept.length) out[k] = kept;
  }
  return out;
}

/** Entries of / and of the test's directory's parent: where an escaping path would land. */
function canary(): string[] {
  return [...readdirSync("/").map((e) => `/${e}`), ...readdirSync(join(base, "rootfs", "..")).map((e) => `${base}/${e}`)].sort();
}

interface RuncOutcome {
  accepted: boolean;
  panic: boolean;
  signal: boolean;
  timeout: boolean;
}

function runcCreate(dir: string, id: string): RuncOutcome {
  const root = join(base, "runc");
  // stderr to a file: the container's init inherits it, and a pipe would stay open with it.
  const errFile = join(base, "runc-stderr");
  const err = openSync(errFile, "w+");
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync("runc", ["--root", root, "create", "--bundle", dir, id], {
      stdio: ["ignore", "ignore", err],
      timeout: 20_000,
      killSignal: "SIGKILL",
    });
  } finally {
    closeSync(err);
  }
  const stderr = readFileSync(errFile, "utf8");
  const out: RuncOutcome = {
    accepted: r.status === 0,
    panic: /goroutine \d+|^panic:|fatal error:/m.test(stderr),
    signal: r.signal !== null && !(r.error as NodeJS.ErrnoException | undefined)?.code,
    timeout: (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT",
  };
  // Whatever runc made (also half-made, after a refusal): gone before the next case.
  spawnSync("runc", ["--root", root, "delete", "--force", id], { stdio: "ignore", timeout: 20_000, killSignal: "SIGKILL" });
  return out;
}

// ---- the run ----

interface Figures {
  checkCases: number;
  checkCliCases: number;
  createCases: number;
  createAccepted: number;
  createRefused: number;
  fixedCases: number;
  crashes: number;
  stackTraces: number;
  errorsWithoutField: number;
  badExitCodes: number;
  cliDisagreements: number;
  leftovers: number;
  runc: { cases: number; accepted: number; refused: number; panics: number; signals: number; timeouts: number } | "not installed";
}

const figures: Figures = {
  checkCases: 0,
  checkCliCases: 0,
  createCases: 0,
  createAccepted: 0,
  createRefused: 0,
  fixedCases: 0,
  crashes: 0,
  stackTraces: 0,
  errorsWithoutField: 0,
  badExitCodes: 0,
  cliDisagreements: 0,
  leftovers: 0,
  runc: hasRunc ? { cases: 0, accepted: 0, refused: 0, panics: 0, signals: 0, timeouts: 0 } : "not installed",
};

function tally(bad: string[]): void {
  if (bad.some((b) => b.startsWith("crash") || b.startsWith("exit code null"))) figures.crashes++;
  if (bad.some((b) => b.startsWith("stack trace"))) figures.stackTraces++;
  if (bad.some((b) => b.startsWith("error without a field"))) figures.errorsWithoutField++;
  if (bad.some((b) => /^exit code (?!0 |1 )/.test(b))) figures.badExitCodes++;
}

const failures: string[] = [];
function fail(what: string, bad: string[]): void {
  tally(bad);
  if (failures.length < 30) failures.push(`${what}\n  ${bad.join("\n  ")}`);
}

/** The configs the create sample starts from: runnable on this host's busybox rootfs. */
function forCreate(config: Record<string, unknown>): Record<string, unknown> {
  const c = structuredClone(config) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  c.root = { ...c.root, path: rootfs };
  c.process = { ...c.process, terminal: false, args: ["sh", "-c", "sleep 5"] };
  return c;
}

/** Safe for create: the cgroup is the one pinned, and the container has its own mount namespace. */
function createSafe(bytes: Buffer, cgroupsPath: string): boolean {
  let c: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    c = JSON.parse(bytes.toString("utf8"));
  } catch {
    return true; // refused before anything is made
  }
  if (c === null || typeof c !== "object" || Array.isArray(c)) return true;
  const linux = c.linux;
  if (linux === null || typeof linux !== "object") return false;
  if (linux.cgroupsPath !== cgroupsPath) return false;
  const ns = linux.namespaces;
  return (
    Array.isArray(ns) &&
    ns.some(
      (n: unknown) =>
        n !== null && typeof n === "object" && (n as { type?: unknown }).type === "mount" && (n as { path?: unknown }).path === undefined,
    )
  );
}

test("mutated configs through check (in-process and bin/berth): exit 0 or 1, no stack, every error at a field", async () => {
  const dir = join(base, "check");
  mkdirSync(dir);
  const configPath = join(dir, "config.json");
  const started = Date.now();
  for (let i = 0; i < CASES; i++) {
    const seed = firstSeed + i;
    const seedConfig = corpus[seed % corpus.length]!;
    const m = mutate(seedConfig.config, seed);
    writeFileSync(configPath, m.bytes);
    const format = seed % 2 === 0 ? "text" : "json";
    const o = await checkInProcess(dir, format, i % MAIN_EVERY === 0);
    figures.checkCases++;
    const bad = checkVerdict(o, configPath, format);
    if (bad.length) fail(`seed ${seed} (${seedConfig.name}: ${m.log.join("; ")}) in-process`, bad);
    if (i % CLI_EVERY === 0) {
      const c = checkCli(dir, format);
      figures.checkCliCases++;
      const cbad = checkVerdict(c, configPath, format);
      if (c.code !== o.code || c.stdout !== o.stdout) {
        figures.cliDisagreements++;
        cbad.push(`bin/berth and main() disagree: exit ${c.code} vs ${o.code}`);
      }
      if (cbad.length) fail(`seed ${seed} (${seedConfig.name}: ${m.log.join("; ")}) bin/berth`, cbad);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  (figures as unknown as Record<string, unknown>).checkSeconds = Math.round(seconds * 10) / 10;
  expect(failures).toEqual([]);
});

test("fixed hostile configs: 100 MB, just under the bound, deep nesting, not JSON, not a file", async () => {
  const dir = join(base, "fixed");
  mkdirSync(dir);
  const configPath = join(dir, "config.json");
  const spec = corpus.find((c) => c.name === "spec.json")!.config;
  const withField = (field: string, raw: string) => JSON.stringify({ ...spec, [field]: "@@" }).replace('"@@"', raw);
  const cases: [string, () => void, RegExp | undefined][] = [
    // 100 MB of annotations: refused by its size, before it is read.
    [
      "100 MB config",
      () => {
        const fd = openSync(configPath, "w");
        const head = JSON.stringify({ ...spec, annotations: "@@" }).split('"@@"');
        writeFileSync(fd, head[0] + "{");
        const chunk = Array.from({ length: 10_000 }, (_, i) => `"k${i}-%":"${"v".repeat(80)}"`).join(",");
        for (let n = 0; n < 110; n++) writeFileSync(fd, (n ? "," : "") + chunk.replace(/%/g, String(n)));
        writeFileSync(fd, "}" + head[1]);
        closeSync(fd);
      },
      /^berth: check: \S+config\.json: is \d{9} bytes: more than berth reads \(16777216\)\n$/,
    ],
    [
      "just under 16 MiB: a huge env",
      () =>
        writeFileSync(
          configPath,
          JSON.stringify({
            ...spec,
            process: { ...(spec.process as object), env: Array.from({ length: 150_000 }, (_, i) => `VAR_${i}=${"x".repeat(90)}`) },
          }),
        ),
      undefined,
    ],
    [
      "100,000 nested arrays in an extension field",
      () => writeFileSync(configPath, withField("extension", "[".repeat(100_000) + "]".repeat(100_000))),
      /levels deep/,
    ],
    [
      "100,000 nested objects in annotations",
      () => writeFileSync(configPath, withField("annotations", '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000))),
      /levels deep/,
    ],
    ["100,000 unclosed arrays", () => writeFileSync(configPath, "[".repeat(100_000)), /invalid JSON/],
    [
      "100,000 nested arrays closed by a brace",
      () => writeFileSync(configPath, "[".repeat(100_000) + "]".repeat(99_999) + "}"),
      /invalid JSON/,
    ],
    ["empty file", () => writeFileSync(configPath, ""), /invalid JSON/],
    ["null", () => writeFileSync(configPath, "null"), /config\.json/],
    ["a string", () => writeFileSync(configPath, '"x"'), /config\.json/],
    ["1e999", () => writeFileSync(configPath, "1e999"), /config\.json/],
    [
      "invalid UTF-8 in process.cwd and a key",
      () => {
        const [a, b, c] = JSON.stringify({
          ...spec,
          process: { ...(spec.process as object), cwd: "/@@" },
          annotations: { "@@": "x" },
        }).split("@@");
        writeFileSync(
          configPath,
          Buffer.concat([Buffer.from(a!), Buffer.from([0xff, 0xc3]), Buffer.from(b!), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(c!)]),
        );
      },
      undefined,
    ],
    ["a symlink to /dev/zero", () => symlinkSync("/dev/zero", configPath), /must be a regular file/],
    ["a directory", () => mkdirSync(configPath), /must be a regular file/],
  ];
  for (const [name, make, expected] of cases) {
    rmSync(configPath, { recursive: true, force: true });
    make();
    for (const format of ["text", "json"] as const) {
      const o = await checkInProcess(dir, format, format === "json");
      figures.fixedCases++;
      const bad = checkVerdict(o, configPath, format);
      if (expected && !expected.test(o.stderr + o.stdout)) bad.push(`expected ${expected}: ${(o.stderr + o.stdout).slice(0, 300)}`);
      if (bad.length) fail(`fixed case "${name}" (${format})`, bad);
    }
    const c = checkCli(dir, "text");
    figures.checkCliCases++;
    const cbad = checkVerdict(c, configPath, "text");
    if (cbad.length) fail(`fixed case "${name}" bin/berth`, cbad);
  }
  rmSync(configPath, { recursive: true, force: true });
  expect(failures).toEqual([]);
});

test("mutated configs through create: a refused create leaves nothing, an accepted one is deleted and leaves nothing", () => {
  const dir = join(base, "create");
  mkdirSync(dir);
  const stateRoot = join(base, "state");
  const seeds = corpus.map((c) => ({ name: c.name, config: forCreate(c.config) }));
  const rng = new Rng(firstSeed * 7919);
  let tried = 0;
  for (let seed = firstSeed + 1_000_000; figures.createCases < CREATE_CASES && tried < CREATE_CASES * 20; seed++) {
    tried++;
    const id = `fz${process.pid}-${seed}`;
    const cgroupsPath = `/${cgParent}/${id}`;
    const seedConfig = seeds[seed % seeds.length]!;
    // A quarter of the sample unmutated but for the pin, so that creates are accepted too.
    const pin = (t: unknown) => {
      const linux = t !== null && typeof t === "object" ? (t as Record<string, unknown>).linux : undefined;
      if (linux !== null && typeof linux === "object" && !Array.isArray(linux) && !(linux instanceof Entries))
        (linux as Record<string, unknown>).cgroupsPath = cgroupsPath;
    };
    const m = rng.chance(0.25)
      ? {
          bytes: Buffer.from(JSON.stringify({ ...seedConfig.config, linux: { ...(seedConfig.config.linux as object), cgroupsPath } })),
          log: ["(unmutated)"],
        }
      : mutate(seedConfig.config, seed, { pin, maxMutations: 2 });
    if (!createSafe(m.bytes, cgroupsPath)) continue;
    writeFileSync(join(dir, "config.json"), m.bytes);
    figures.createCases++;
    const what = `create seed ${seed} (${seedConfig.name}: ${m.log.join("; ")})`;
    const before = hostSnapshot(stateRoot, cgParent);
    const beforeFiles = canary();
    const r = berth(["--root", stateRoot, "create", "--bundle", dir, id], { timeoutMs: 60_000 });
    const bad: string[] = [];
    if (r.exitCode !== 0 && r.exitCode !== 1) bad.push(`exit code ${r.exitCode}`);
    if (STACK.test(r.stderr)) bad.push(`stack trace or internal error: ${r.stderr.slice(0, 300)}`);
    if (r.exitCode === 0) {
      figures.createAccepted++;
      const d = berth(["--root", stateRoot, "delete", "--force", id], { timeoutMs: 60_000 });
      if (d.exitCode !== 0) bad.push(`delete --force: exit ${d.exitCode}: ${d.stderr.slice(0, 300)}`);
    } else {
      figures.createRefused++;
      for (const line of r.stderr.split("\n").filter(Boolean)) {
        if (!line.startsWith(`berth: create ${id}: `)) bad.push(`stderr line without "berth: create ${id}: ": ${line.slice(0, 200)}`);
        else if (
          !namesField(line.slice(`berth: create ${id}: `.length), join(dir, "config.json")) &&
          !line.slice(`berth: create ${id}: `.length).startsWith("/")
        ) {
          bad.push(`error without a field: ${line.slice(0, 200)}`);
        }
      }
    }
    const left = ours(before, hostSnapshot(stateRoot, cgParent));
    const escaped = canary().filter((f) => !beforeFiles.includes(f));
    if (escaped.length) left.files = escaped;
    if (Object.keys(left).length) {
      figures.leftovers++;
      bad.push(`left behind (${r.exitCode === 0 ? "accepted, deleted" : "refused"}): ${JSON.stringify(left).slice(0, 500)}`);
      // Clean up what can be, so that one leftover does not count against every later case.
      berth(["--root", stateRoot, "delete", "--force", id]);
    }
    if (bad.length) fail(what, bad);
    if (hasRunc && typeof figures.runc === "object") {
      // runc gets the same config, in a cgroup of its own.
      writeFileSync(
        join(dir, "config.json"),
        Buffer.from(m.bytes.toString("latin1").split(`/${cgParent}/`).join(`/${cgParent}-runc/`), "latin1"),
      );
      const ro = runcCreate(dir, id.replace(/^fz/, "rc"));
      figures.runc.cases++;
      if (ro.accepted) figures.runc.accepted++;
      else figures.runc.refused++;
      if (ro.panic) figures.runc.panics++;
      if (ro.signal) figures.runc.signals++;
      if (ro.timeout) figures.runc.timeouts++;
    }
  }
  expect(figures.createCases).toBe(CREATE_CASES);
  expect(failures).toEqual([]);
});

afterAll(() => {
  recordNumbers("fuzz-config", { ...figures, corpus: corpus.map((c) => c.name), firstSeed, failures: failures.length });
});
