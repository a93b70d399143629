/**
 * Crash consistency: the berth CLI killed with SIGKILL at a random moment of create, start,
 * exec and delete. Afterwards `list` works, `state` of the id answers (or says it does not
 * exist), and `delete --force` leaves the host as it was: no container half-made without a
 * record that lets delete find it (create records "creating" before it makes anything).
 * And the state store's atomic write, killed mid-way, leaves the old record or the new one.
 *
 * runc runs the same trials where it can (its own create, start, exec and delete), and the
 * figures of both go to docs/reliability.md.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { berthBin, repoRoot, runCaptured } from "../helpers/cli";
import { makeBundle, type TestBundle } from "../helpers/bundle";
import { hostSnapshot, removeCgroupTree, recordNumbers, scale, settledLeftBehind, type HostSnapshot } from "../helpers/reliability";
import { runcBin } from "../helpers/runc";

jest.setTimeout(900_000);

const cgroupParent = `berth-crash-${process.pid}`;
const trials = scale(8, 100);
const runcTrials = scale(3, 30);

type Verb = "create" | "start" | "exec" | "delete";
const verbs: Verb[] = ["create", "start", "exec", "delete"];

interface Tally {
  trials: number;
  /** What `state` said after the kill: status, "none" (does not exist) or "error: ...". */
  stateAfterKill: Record<string, number>;
  listFailed: number;
  deleteFailed: number;
  leftBehind: number;
  examples: string[];
}
const tallies: Record<string, Tally> = {};

let b: TestBundle;
let pristine: HostSnapshot;

beforeAll(() => {
  b = makeBundle(["sleep", "1000"], (c) => {
    c.linux.cgroupsPath = `/${cgroupParent}/crash`;
  });
  pristine = hostSnapshot(b.root, cgroupParent);
});

afterAll(() => {
  b.cleanup();
  // The parent cgroup runc leaves (berth removes what it made).
  removeCgroupTree(cgroupParent);
  recordNumbers("crash", { killedAt: "a random moment 0-300 ms into the command", runtimes: tallies });
});

/** A runtime under trial: its binary and its state root (berth's is the bundle's, made in beforeAll). */
interface Runtime {
  name: string;
  bin: string;
  root: () => string;
}

/** The commands of a trial, the same for both runtimes: runc's CLI is berth's. */
function commandArgs(rt: Runtime, verb: Verb | "list" | "state", id: string): string[] {
  const root = ["--root", rt.root()];
  switch (verb) {
    case "create":
      return [...root, "create", "--bundle", b.dir, id];
    case "start":
      return [...root, "start", id];
    case "exec":
      return [...root, "exec", id, "sleep", "1000"];
    case "delete":
      return [...root, "delete", "--force", id];
    case "list":
      return [...root, "list", "--format", "json"];
    case "state":
      return [...root, "state", id];
  }
}

const runtimes: Runtime[] = [{ name: "berth", bin: berthBin, root: () => b.root }];
if (runcBin) {
  const runcRoot = mkdtempSync(join(tmpdir(), "berth-crash-runc-"));
  runtimes.push({ name: "runc", bin: runcBin, root: () => runcRoot });
}

/** Output through files, not pipes (cli.ts says why); a timeout is an exit code of null here. */
const run = (rt: Runtime, args: string[]) => runCaptured(rt.bin, args, { cwd: b.dir, spawnErrors: false });

/** Start the command, SIGKILL it after `ms` (if it is still running), wait for it to end. */
function killAfter(rt: Runtime, args: string[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    // The container inherits no pipe of ours: its stdio goes nowhere.
    const child = spawn(rt.bin, args, { stdio: "ignore", cwd: b.dir });
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The same pseudo-random moments on every run (a failure can be replayed). */
function moments(n: number, seed: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % 301;
  });
}

describe.each(runtimes.map((r) => [r.name, r] as const))("%s killed with SIGKILL mid-command", (name, rt) => {
  test.each(verbs)("%s: afterwards list works, state answers, delete --force leaves nothing", async (verb) => {
    const n = name === "berth" ? trials : runcTrials;
    const tally: Tally = (tallies[`${name} ${verb}`] = {
      trials: 0,
      stateAfterKill: {},
      listFailed: 0,
      deleteFailed: 0,
      leftBehind: 0,
      examples: [],
    });
    const id = `crash-${verb}`;
    for (const ms of moments(n, verbs.indexOf(verb) + 1)) {
      if (verb !== "create") expect(run(rt, commandArgs(rt, "create", id)).exitCode).toBe(0);
      if (verb === "exec" || verb === "delete") expect(run(rt, commandArgs(rt, "start", id)).exitCode).toBe(0);
      await killAfter(rt, commandArgs(rt, verb, id), ms);
      tally.trials++;
      const list = run(rt, commandArgs(rt, "list", id));
      let listOk = list.exitCode === 0;
      try {
        JSON.parse(list.stdout || "null");
      } catch {
        listOk = false;
      }
      if (!listOk) {
        tally.listFailed++;
        tally.examples.push(`${verb} killed at ${ms} ms: list: exit ${list.exitCode}: ${list.stderr.trim()}`);
      }
      const state = run(rt, commandArgs(rt, "state", id));
      let said: string;
      if (state.exitCode === 0) said = (JSON.parse(state.stdout) as { status: string }).status;
      else if (/does not exist/.test(state.stderr)) said = "none";
      else said = `error: ${state.stderr.trim().split("\n")[0]}`;
      tally.stateAfterKill[said] = (tally.stateAfterKill[said] ?? 0) + 1;
      const del = run(rt, commandArgs(rt, "delete", id));
      if (del.exitCode !== 0) {
        tally.deleteFailed++;
        tally.examples.push(`${verb} killed at ${ms} ms: delete --force: exit ${del.exitCode}: ${del.stderr.trim()}`);
      }
      const left = await settledLeftBehind(pristine, () => hostSnapshot(b.root, cgroupParent), ["ownFds", "state"]);
      // runc never removes a parent cgroup it made (cgroupsPath /<parent>/crash): that is its
      // way, not a crash's doing, and not counted.
      if (left.cgroups) left.cgroups = left.cgroups.filter((d) => !d.endsWith(`/${cgroupParent}`));
      if (left.cgroups?.length === 0) delete left.cgroups;
      if (Object.keys(left).length) {
        tally.leftBehind++;
        tally.examples.push(`${verb} killed at ${ms} ms: left ${JSON.stringify(left)}`);
        // Clear it, so that one trial's leftovers are not counted again by the next.
        for (const p of left.processes ?? []) spawnSync("kill", ["-9", p.split(" ")[0]!]);
        await settledLeftBehind(pristine, () => hostSnapshot(b.root, cgroupParent), ["ownFds", "state"]);
        for (const dir of (left.cgroups ?? []).sort((x, y) => y.length - x.length)) {
          try {
            rmdirSync(dir);
          } catch {
            /* still busy: counted already */
          }
        }
      }
    }
    if (name === "berth") {
      expect(tally.examples).toEqual([]);
      for (const said of Object.keys(tally.stateAfterKill)) expect(said).not.toMatch(/^error/);
      expect(existsSync(join(b.root, id))).toBe(false);
    }
  });
});

test("the state store's atomic write killed mid-way leaves the old record or the new one", async () => {
  // A child process rewrites one state file as fast as it can, alternating two records (one
  // large, so that the write takes a while); it is killed at random moments.
  const dir = mkdtempSync(join(tmpdir(), "berth-atomic-"));
  const script = join(dir, "writer.js");
  buildSync({
    stdin: {
      contents: `import { writeFileAtomic } from ${JSON.stringify(join(repoRoot, "src/state/atomic.ts"))};
        const [path, a, b] = process.argv.slice(2);
        for (let i = 0; ; i++) writeFileAtomic(path, i % 2 ? a : b, 0o600, { syncDir: false });`,
      resolveDir: repoRoot,
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    outfile: script,
    logLevel: "silent",
  });
  const target = join(dir, "state.json");
  const a = JSON.stringify({ id: "a", status: "created", pad: "x".repeat(64 * 1024) });
  const bRecord = JSON.stringify({ id: "b", status: "running" });
  const kills = scale(20, 200);
  let seen = { a: 0, b: 0, none: 0, corrupt: 0 };
  writeFileSync(target, a);
  // Node starts in about 50-100 ms here: the kills fall 0-200 ms into the writing.
  for (const ms of moments(kills, 99).map((m) => 100 + (m % 200))) {
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [script, target, a, bRecord], { stdio: "ignore" });
      setTimeout(() => child.kill("SIGKILL"), ms);
      child.on("exit", () => resolve());
    });
    if (!existsSync(target)) {
      seen.none++;
      continue;
    }
    const text = readFileSync(target, "utf8");
    if (text === a || text === bRecord) seen = { ...seen, [text === a ? "a" : "b"]: seen[text === a ? "a" : "b"] + 1 };
    else seen.corrupt++;
  }
  // Temp files of killed writers may stay; they are never the record (delete removes the directory).
  const strays = readdirSync(dir).filter((f) => f.endsWith(".tmp")).length;
  rmSync(dir, { recursive: true, force: true });
  recordNumbers("atomic-write", { kills, outcomes: seen, strayTempFiles: strays });
  expect(seen.corrupt).toBe(0);
  expect(seen.a + seen.b).toBeGreaterThan(0);
});
