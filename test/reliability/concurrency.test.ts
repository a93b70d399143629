/**
 * Concurrency (issue 16): many CLI processes at once on one container id and on several.
 *
 * (a) 10 parallel `create` of one id: exactly one wins, the others are told it exists, and
 *     after `delete --force` the host is as it was. runc is put through the same, for the record.
 * (b) A storm: workers loop random lifecycle verbs on one shared id and on a pool of ids for a
 *     while (15 s, or 60 s with BERTH_RELIABILITY_LONG=1). The per-container lock must hold: no
 *     command hangs (a timeout counts as a deadlock), no EBUSY and no internal error, every
 *     failure is one of the lifecycle's own refusals, `state` always prints a valid state, and
 *     `delete --force` of every id leaves nothing behind.
 *
 * Containers use a private cgroup parent (/berthsoak-c<pid>) and a private --root, so that the
 * host snapshot sees only this file's containers.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxRootfs } from "../helpers/bundle";
import { berthBin } from "../helpers/cli";
import {
  hostSnapshot,
  removeCgroupTree,
  leftBehind,
  recordNumbers,
  scale,
  spawnCli,
  zombies,
  type HostSnapshot,
  type SpawnedResult,
} from "../helpers/reliability";
import { runcBin } from "../helpers/runc";
import { until } from "../helpers/until";

const parent = `berthsoak-c${process.pid}`;
const runcParent = `${parent}-runc`;
/** A command that takes longer than this is taken for a deadlock. */
const COMMAND_TIMEOUT_MS = 30_000;

let work: string;
const figures: Record<string, unknown> = {};

beforeAll(() => {
  busyboxRootfs();
  work = mkdtempSync(join(tmpdir(), "berth-concurrency-"));
});

afterAll(() => {
  // Only our own parents, and only once empty (a failed test leaves its evidence otherwise).
  for (const p of [parent, runcParent]) removeCgroupTree(p);
  rmSync(work, { recursive: true, force: true });
});

/** A bundle for `id` on the shared busybox rootfs, in a cgroup under `cgParent`. */
function bundleFor(cgParent: string, id: string, args: string[]): string {
  const dir = join(work, "bundles", `${cgParent}-${id}`);
  mkdirSync(dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(busyboxRootfs(), "../config.json"), "utf8"));
  config.root.path = busyboxRootfs();
  config.process.args = args;
  config.process.terminal = false;
  config.linux.cgroupsPath = `/${cgParent}/${id}`;
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

/** Does /proc/<pid>/cgroup put it under /<cgParent>? */
function inParent(pid: string, cgParent: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(`:/${cgParent}/`);
  } catch {
    return false;
  }
}

/**
 * The host snapshot, narrowed to this file's containers: processes and memfd holders in our
 * cgroup parent (or this process). Another test file's containers may come and go meanwhile.
 */
function snapshot(root: string, cgParent = parent): HostSnapshot {
  const s = hostSnapshot(root, cgParent);
  return {
    ...s,
    processes: s.processes.filter((p) => inParent(p.split(" ")[0]!, cgParent)),
    memfds: s.memfds.filter((m) => {
      const pid = m.split("/")[0]!;
      return pid === String(process.pid) || inParent(pid, cgParent);
    }),
  };
}

/**
 * What is left once the host has had a moment to settle (cgroups empty as processes finish
 * exiting). With `keepParent`, the cgroup parent's own directory may stay: the container that
 * made it cannot remove it while others are below it, and it then stays, as runc leaves every
 * parent (src/cgroups/placement.ts removeCgroupDirs); a directory below it may not.
 */
async function settledLeftBehind(
  before: HostSnapshot,
  root: string,
  cgParent = parent,
  keepParent = false,
): Promise<ReturnType<typeof leftBehind>> {
  const diff = () => {
    const left = leftBehind(before, snapshot(root, cgParent), ["ownFds"]);
    if (keepParent && left.cgroups) {
      left.cgroups = left.cgroups.filter((d) => !d.endsWith(`/${cgParent}`));
      if (left.cgroups.length === 0) delete left.cgroups;
    }
    return left;
  };
  let left = diff();
  await until("nothing left behind", () => Object.keys((left = diff())).length === 0, 5_000, 50).catch(() => undefined);
  return left;
}

/**
 * Zombies that stay: a berth-init killed before `start` is reparented to the host's pid 1,
 * which reaps when it gets round to it (this host's, about once a second).
 */
async function settledZombies(): Promise<string[]> {
  let z = zombies();
  await until("no zombies", () => (z = zombies()).length === 0, 10_000, 100).catch(() => undefined);
  return z;
}

const cli = (root: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS) => spawnCli(berthBin, ["--root", root, ...args], timeoutMs);

test("10 parallel creates of one id: one wins, nine are told it exists, and delete --force leaves nothing", async () => {
  const root = join(work, "root-same");
  const id = "same";
  const bundle = bundleFor(parent, id, ["sleep", "1000"]);
  const before = snapshot(root);
  const results = await Promise.all(Array.from({ length: 10 }, () => cli(root, ["create", "--bundle", bundle, id])));
  expect(results.filter((r) => r.timedOut)).toEqual([]);
  const winners = results.filter((r) => r.code === 0);
  const losers = results.filter((r) => r.code !== 0);
  expect(winners).toHaveLength(1);
  for (const r of losers) {
    expect(r.code).toBe(1);
    // src/state/store.ts createDir: runc's "container with id exists" wording.
    expect(r.stderr).toBe(`berth: create ${id}: container with id exists: ${id}\n`);
  }
  const state = await cli(root, ["state", id]);
  expect(JSON.parse(state.stdout)).toMatchObject({ id, status: "created" });
  // Exactly one container's processes: the winner's berth-init.
  expect(snapshot(root).processes).toHaveLength(before.processes.length + 1);
  const del = await cli(root, ["delete", "--force", id]);
  expect(del).toMatchObject({ code: 0, stderr: "" });
  const left = await settledLeftBehind(before, root);
  expect(left).toEqual({});
  expect(await settledZombies()).toEqual([]);
  figures.sameIdCreate = {
    berth: {
      parallel: 10,
      succeeded: winners.length,
      refused: losers.length,
      refusal: losers[0]?.stderr.trim(),
      leftBehindAfterDeleteForce: left,
    },
  };
  recordNumbers("concurrency", figures);
});

(runcBin ? test : test.skip)("runc on the same test, for the record (not asserted)", async () => {
  const root = join(work, "root-runc-same");
  const id = "same";
  const bundle = bundleFor(runcParent, id, ["sleep", "1000"]);
  const before = snapshot(root, runcParent);
  const results = await Promise.all(
    Array.from({ length: 10 }, () => spawnCli(runcBin!, ["--root", root, "create", "--bundle", bundle, id], COMMAND_TIMEOUT_MS)),
  );
  const winners = results.filter((r) => r.code === 0);
  const refusals = new Map<string, number>();
  for (const r of results.filter((x) => x.code !== 0)) {
    const msg = (/level=error msg="([^"]*)"/.exec(r.stderr)?.[1] ?? r.stderr.trim()).replace(/\/\S+/g, "<path>");
    refusals.set(msg, (refusals.get(msg) ?? 0) + 1);
  }
  await spawnCli(runcBin!, ["--root", root, "delete", "--force", id], COMMAND_TIMEOUT_MS);
  const left = await settledLeftBehind(before, root, runcParent);
  figures.sameIdCreate = {
    ...(figures.sameIdCreate as object),
    runc: {
      parallel: 10,
      succeeded: winners.length,
      refused: results.length - winners.length,
      refusals: Object.fromEntries(refusals),
      leftBehindAfterDeleteForce: left,
    },
  };
  recordNumbers("concurrency", figures);
  // What runc left (a `runc init` of a losing create, seen with 1.1.5) is ours to remove.
  for (const p of left.processes ?? []) {
    try {
      process.kill(Number(p.split(" ")[0]), "SIGKILL");
    } catch {
      /* gone */
    }
  }
  await until("runc's leftovers gone", () => snapshot(root, runcParent).processes.length === 0, 5_000).catch(() => undefined);
  removeCgroupTree(runcParent);
  rmSync(root, { recursive: true, force: true });
});

/**
 * Every refusal the lifecycle may give when verbs race (src/container/*.ts, src/state/store.ts),
 * keyed by a short name for the counts. Anything else is a failure of the test.
 */
const EXPECTED: [string, RegExp][] = [
  ["does not exist", /^berth: \w+ \S+: container does not exist$/],
  ["exists", /^berth: create (\S+): container with id exists: \1$/],
  ["not running", /^berth: (kill|pause) \S+: container not running$/],
  ["not paused", /^berth: resume \S+: container not paused$/],
  ["start: stopped", /^berth: start \S+: cannot start a container that has stopped$/],
  ["start: already started", /^berth: start \S+: cannot start an already (running|paused) container$/],
  ["start: init gone", /^berth: start \S+: container not running: its init process is gone$/],
  ["delete: not stopped", /^berth: delete (\S+): cannot delete container \1 that is not stopped: (running|paused)$/],
  ["exec: stopped", /^berth: exec \S+: cannot exec in a stopped container$/],
  ["exec: paused", /^berth: exec \S+: cannot exec in a paused container \(use --ignore-paused to override\)$/],
];

/** What must never be seen. */
const FORBIDDEN = /EBUSY|resource busy|internal error|^\s+at /m;

const VERBS = ["create", "start", "delete", "delete -f", "kill", "exec", "pause", "resume", "state"] as const;
type Verb = (typeof VERBS)[number];
/** How often each verb is drawn: create and start more, so that containers exist and run most of the time. */
const WEIGHTS: Record<Verb, number> = { create: 4, start: 3, delete: 1, "delete -f": 1, kill: 1, exec: 2, pause: 2, resume: 2, state: 2 };
const DRAW = VERBS.flatMap((v) => Array<Verb>(WEIGHTS[v]).fill(v));

function argsFor(verb: Verb, id: string, bundle: string): string[] {
  switch (verb) {
    case "create":
      return ["create", "--bundle", bundle, id];
    case "delete -f":
      return ["delete", "--force", id];
    case "kill":
      return ["kill", id, "KILL"];
    case "exec":
      return ["exec", id, "true"];
    default:
      return [verb, id];
  }
}

/** The outcome's name for the counts, or a description of what is wrong with it. */
function classify(verb: Verb, id: string, r: SpawnedResult): { outcome: string; problem?: string } {
  if (r.timedOut) return { outcome: "timeout", problem: `timed out after ${COMMAND_TIMEOUT_MS} ms (deadlock?)` };
  if (FORBIDDEN.test(r.stderr)) return { outcome: "forbidden", problem: `stderr: ${r.stderr.trim()}` };
  if (r.code === 0) {
    if (verb === "state") {
      let s: { id?: string; status?: string } | undefined;
      try {
        s = JSON.parse(r.stdout);
      } catch {
        return { outcome: "bad state", problem: `state printed no JSON: ${JSON.stringify(r.stdout)}` };
      }
      if (s?.id !== id || !["created", "running", "paused", "stopped"].includes(s.status ?? ""))
        return { outcome: "bad state", problem: `state printed ${r.stdout.trim()}` };
      return { outcome: `ok (${s.status})` };
    }
    if (r.stderr !== "") return { outcome: "ok with stderr", problem: `exit 0 but stderr: ${r.stderr.trim()}` };
    return { outcome: "ok" };
  }
  // `exec true` killed with its container (delete -f, kill) ends as SIGKILL's status, silently.
  if (verb === "exec" && r.code === 137 && r.stderr === "") return { outcome: "exec: killed with the container" };
  const lines = r.stderr.trim().split("\n");
  const expectedCode = verb === "exec" ? 255 : 1;
  const match = lines.length === 1 ? EXPECTED.find(([, re]) => re.test(lines[0]!)) : undefined;
  if (!match || r.code !== expectedCode) return { outcome: "unexpected", problem: `exit ${r.code}: ${r.stderr.trim()}` };
  return { outcome: match[0] };
}

test(
  "a storm of create/start/delete/kill/exec/pause/resume/state on one id and on many: no deadlock, no EBUSY, only the lifecycle's own refusals, nothing left",
  async () => {
    const root = join(work, "root-storm");
    const durationMs = scale(15_000, 60_000);
    const workers = scale(4, 6);
    const ids = ["shared", "p0", "p1", "p2"];
    const bundles = new Map(ids.map((id) => [id, bundleFor(parent, id, ["sleep", "1000"])]));
    const before = snapshot(root);
    const counts: Record<string, Record<string, number>> = {};
    const times: Record<string, number[]> = {};
    const problems: string[] = [];
    const deadline = Date.now() + durationMs;
    let running = 0;
    let total = 0;
    // A fixed sequence of draws per worker (the interleaving still varies from run to run).
    const rng = (seed: number) => () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const worker = async (w: number) => {
      const random = rng(w + 1);
      running++;
      try {
        while (Date.now() < deadline) {
          const id = random() < 0.5 ? "shared" : ids[1 + Math.floor(random() * (ids.length - 1))]!;
          const verb = DRAW[Math.floor(random() * DRAW.length)]!;
          const r = await cli(root, argsFor(verb, id, bundles.get(id)!));
          const { outcome, problem } = classify(verb, id, r);
          (counts[verb] ??= {})[outcome] = (counts[verb]![outcome] ?? 0) + 1;
          (times[verb] ??= []).push(r.ms);
          total++;
          if (problem) problems.push(`${verb} ${id}: ${problem}`);
        }
      } finally {
        running--;
      }
    };
    const all = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
    // An `exec` that joined a container just before another worker paused it waits, frozen,
    // until a resume (as with runc): once the others have stopped, nobody would resume it.
    // While the last workers finish, resume every id (what an engine would do at the end).
    const drain = (async () => {
      let drains = 0;
      while (running > 0) {
        await new Promise((r) => setTimeout(r, 250));
        if (Date.now() > deadline + 2_000 && running > 0) {
          drains++;
          await Promise.all(ids.map((id) => cli(root, ["resume", id])));
        }
      }
      return drains;
    })();
    await all;
    const drains = await drain;

    const cleanup = await Promise.all(ids.map((id) => cli(root, ["delete", "--force", id])));
    for (const [i, r] of cleanup.entries()) {
      if (r.code !== 0 || r.stderr !== "") problems.push(`final delete --force ${ids[i]}: exit ${r.code}: ${r.stderr.trim()}`);
    }
    const left = await settledLeftBehind(before, root, parent, true);
    const z = await settledZombies();
    figures.storm = {
      durationMs,
      workers,
      ids: ids.length,
      operations: total,
      resumeDrains: drains,
      byVerb: counts,
      msByVerb: Object.fromEntries(
        Object.entries(times).map(([v, ms]) => [v, { median: ms.sort((x, y) => x - y)[Math.floor(ms.length / 2)], max: Math.max(...ms) }]),
      ),
      problems: problems.slice(0, 50),
      leftBehind: left,
      zombies: z,
    };
    recordNumbers("concurrency", figures);
    expect(problems).toEqual([]);
    expect(left).toEqual({});
    expect(z).toEqual([]);
    // The storm did make containers, not only refusals (how many of each verb succeeded
    // depends on the machine's speed and load: recorded, not asserted).
    expect(counts.create?.ok ?? 0).toBeGreaterThan(0);
  },
  scale(120_000, 600_000),
);
