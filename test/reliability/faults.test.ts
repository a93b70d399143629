/**
 * Fault injection at every step, on real containers (src/fault.ts): each step of create,
 * start, exec and delete is made to fail in turn, in the parent (cgroup placement, state
 * writes, hooks, sync messages) and in berth-init (every op of the plan). For each one the
 * command fails with an error naming that step, and the host is left as it was: no state
 * directory, cgroup, mount, process or memfd of berth (test/helpers/reliability.ts).
 *
 * The steps are not listed here: a traced run of each bundle says what they are, so a step
 * added to berth is covered without touching this file.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { makeBundle, type TestBundle } from "../helpers/bundle";
import { hostSnapshot, removeCgroupTree, recordNumbers, settledLeftBehind, type HostSnapshot } from "../helpers/reliability";
import { until } from "../helpers/until";

jest.setTimeout(600_000);

const cgroupParent = `berth-faults-${process.pid}`;
const id = `faults-${process.pid}`;

interface Variant {
  name: string;
  bundle: TestBundle;
  /** Extra create flags. */
  createArgs: string[];
}

const variants: Variant[] = [];
const figures: Record<string, { steps: number; failedAsInjected: number; leftNothing: number }> = {};

function count(verb: string, ok: boolean, clean: boolean): void {
  const f = (figures[verb] ??= { steps: 0, failedAsInjected: 0, leftNothing: 0 });
  f.steps++;
  if (ok) f.failedAsInjected++;
  if (clean) f.leftNothing++;
}

beforeAll(() => {
  // The default bundle, and one with every kind of parent step: hooks at each stage, a pid
  // file, a seccomp filter, and a sync message for each.
  const plain = makeBundle(["sleep", "1000"], (c) => {
    c.linux.cgroupsPath = `/${cgroupParent}/${id}`;
  });
  variants.push({ name: "default", bundle: plain, createArgs: [] });
  const full = makeBundle(["sleep", "1000"], (c) => {
    c.linux.cgroupsPath = `/${cgroupParent}/${id}`;
    const hook = { path: "/bin/true" };
    c.hooks = {
      prestart: [hook],
      createRuntime: [hook],
      createContainer: [hook],
      startContainer: [hook],
      poststart: [hook],
      poststop: [hook],
    };
    c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mknodat"], action: "SCMP_ACT_ERRNO" }] };
    c.linux.resources = { pids: { limit: 100 }, memory: { limit: 256 * 1024 * 1024 } };
  });
  variants.push({ name: "hooks, seccomp, limits, pid file", bundle: full, createArgs: ["--pid-file", join(full.dir, "pid")] });
});

afterAll(() => {
  for (const v of variants) {
    berth(["--root", v.bundle.root, "delete", "--force", id]);
    v.bundle.cleanup();
  }
  removeCgroupTree(cgroupParent);
  recordNumbers("faults", { verbs: figures });
});

const cli = (v: Variant, args: string[], fault?: string, trace?: string) =>
  berth(["--root", v.bundle.root, ...args], {
    cwd: v.bundle.dir,
    env: { ...process.env, ...(fault ? { BERTH_FAULT: fault } : {}), ...(trace ? { BERTH_FAULT_TRACE: trace } : {}) },
  });

/** A traced lifecycle of the bundle: the steps of each verb, in order, without repeats. */
function traceSteps(v: Variant): Record<string, string[]> {
  const file = join(v.bundle.dir, "trace");
  writeFileSync(file, "");
  expect(cli(v, ["create", ...v.createArgs, id], undefined, file).exitCode).toBe(0);
  expect(cli(v, ["start", id], undefined, file).exitCode).toBe(0);
  expect(cli(v, ["exec", id, "true"], undefined, file).exitCode).toBe(0);
  expect(cli(v, ["delete", "--force", id], undefined, file).exitCode).toBe(0);
  rmSync(join(v.bundle.dir, "pid"), { force: true });
  // Every parent step and every op of the plan, in CI too (about a minute per bundle).
  const steps: Record<string, string[]> = {};
  for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
    const [verb, step] = line.split("\t") as [string, string];
    const list = (steps[verb] ??= []);
    if (!list.includes(step)) list.push(step);
  }
  return steps;
}

const snapshot = (v: Variant): HostSnapshot => hostSnapshot(v.bundle.root, cgroupParent);
const injected = (step: string) => `fault injected at step "${step}"`;

function containerStatus(v: Variant): string | undefined {
  const r = cli(v, ["state", id]);
  if (r.exitCode !== 0) {
    expect(r.stderr).toContain("container does not exist");
    return undefined;
  }
  return (JSON.parse(r.stdout) as { status: string }).status;
}

describe.each([0, 1])("every step fails in turn (bundle %i)", (which) => {
  let v: Variant;
  // A step that went wrong must not make the next ones fail too.
  afterEach(() => {
    berth(["--root", v.bundle.root, "delete", "--force", id]);
  });
  let steps: Record<string, string[]>;
  let pristine: HostSnapshot;

  beforeAll(() => {
    v = variants[which]!;
    steps = traceSteps(v);
    pristine = snapshot(v);
  });

  test("the traced run covers parent steps and berth-init ops of each verb", () => {
    expect(steps.create).toEqual(
      expect.arrayContaining([
        "create cgroups",
        "launch berth-init",
        "write state",
        expect.stringMatching(/^berth-init op \d+ pivotRoot$/),
      ]),
    );
    expect(steps.start).toEqual(expect.arrayContaining(["write the exec fifo", expect.stringMatching(/^berth-init op \d+ exec$/)]));
    expect(steps.exec).toEqual(expect.arrayContaining(["launch berth-init", expect.stringMatching(/^berth-init op \d+ forkIntoPidns$/)]));
    expect(steps.delete).toEqual(expect.arrayContaining(["remove cgroups"]));
    if (which === 1)
      expect(steps.create).toEqual(
        expect.arrayContaining(["run the createRuntime hooks", "write the pid file", expect.stringMatching(/runHook$/)]),
      );
  });

  test("create: the error names the step, and nothing is left", async () => {
    for (const step of steps.create!) {
      const r = cli(v, ["create", ...v.createArgs, id], `create:${step}`);
      const named = r.exitCode === 1 && r.stderr.includes(injected(step));
      if (!named) throw new Error(`create with a fault at "${step}": exit ${r.exitCode}, stderr ${r.stderr}`);
      expect(containerStatus(v)).toBeUndefined();
      const left = await settledLeftBehind(pristine, () => snapshot(v), ["ownFds"]);
      count("create", named, Object.keys(left).length === 0);
      expect({ step, left }).toEqual({ step, left: {} });
      if (v.createArgs.includes("--pid-file")) expect(existsSync(join(v.bundle.dir, "pid"))).toBe(false);
    }
  });

  test("start: the error names the step (or the container stops with it), and delete --force then leaves nothing", async () => {
    for (const step of steps.start!) {
      // The fault reaches berth-init through create (its ops after "ready" run during start).
      const fault = `start:${step}`;
      // berth-init's own message goes where the container's output goes (here: create's stderr).
      const created = cli(v, ["create", ...v.createArgs, id], fault);
      expect(created.exitCode).toBe(0);
      if (created.stderr !== "") expect(created.stderr).toContain(injected(step));
      const r = cli(v, ["start", id], fault);
      let named = r.exitCode === 1 && r.stderr.includes(injected(step));
      if (!named && step.startsWith("berth-init op")) {
        // An op after "ready" fails in berth-init once start has let it go on, as a failing
        // exec does with runc: start has returned, and the container is stopped.
        await until(`${step}: the container stopped`, () => containerStatus(v) === "stopped");
        named = true;
      }
      if (!named) throw new Error(`start with a fault at "${step}": exit ${r.exitCode}, stderr ${r.stderr}`);
      expect(["running", "stopped", "created"]).toContain(containerStatus(v));
      expect(cli(v, ["delete", "--force", id])).toMatchObject({ exitCode: 0, stderr: "" });
      const left = await settledLeftBehind(pristine, () => snapshot(v), ["ownFds"]);
      count("start", named, Object.keys(left).length === 0);
      expect({ step, left }).toEqual({ step, left: {} });
    }
  });

  test("exec: the error names the step, the container runs on with no process of the exec left", async () => {
    expect(cli(v, ["create", ...v.createArgs, id]).exitCode).toBe(0);
    expect(cli(v, ["start", id]).exitCode).toBe(0);
    const running = snapshot(v);
    for (const step of steps.exec!) {
      const r = cli(v, ["exec", id, "sleep", "1000"], `exec:${step}`);
      const named = r.exitCode === 255 && r.stderr.includes(injected(step));
      if (!named) throw new Error(`exec with a fault at "${step}": exit ${r.exitCode}, stderr ${r.stderr}`);
      expect(containerStatus(v)).toBe("running");
      const left = await settledLeftBehind(running, () => snapshot(v), ["ownFds"]);
      count("exec", named, Object.keys(left).length === 0);
      expect({ step, left }).toEqual({ step, left: {} });
    }
    expect(cli(v, ["delete", "--force", id]).exitCode).toBe(0);
    expect(await settledLeftBehind(pristine, () => snapshot(v), ["ownFds"])).toEqual({});
  });

  test("delete: the error names the step, state still answers, and delete --force then leaves nothing", async () => {
    for (const step of steps.delete!) {
      expect(cli(v, ["create", ...v.createArgs, id]).exitCode).toBe(0);
      expect(cli(v, ["start", id]).exitCode).toBe(0);
      const r = cli(v, ["delete", "--force", id], `delete:${step}`);
      const named = r.exitCode === 1 && r.stderr.includes(injected(step));
      if (!named) throw new Error(`delete with a fault at "${step}": exit ${r.exitCode}, stderr ${r.stderr}`);
      // Half-deleted is still a container: state answers, and delete finishes the job.
      expect(["stopped", "running"]).toContain(containerStatus(v));
      expect(cli(v, ["list"]).exitCode).toBe(0);
      expect(cli(v, ["delete", "--force", id])).toMatchObject({ exitCode: 0, stderr: "" });
      const left = await settledLeftBehind(pristine, () => snapshot(v), ["ownFds"]);
      count("delete", named, Object.keys(left).length === 0);
      expect({ step, left }).toEqual({ step, left: {} });
    }
  });
});

describe("the library, in this process", () => {
  // The same faults through src/index.ts: what a failed create or exec leaves in the process
  // that embeds berth counts too (its fds: the fifo, sync socket, pidfds, namespace and
  // cgroup fds, memfds).
  test("a create or exec failed at any parent step leaves no fd, and the host as it was", async () => {
    const lib = await import("../../src/index");
    const v = variants[1]!;
    const steps = traceSteps(v);
    const parentSteps = (verb: string) => steps[verb]!.filter((s) => !s.startsWith("berth-init op"));
    const fdsNow = () => hostSnapshot(v.bundle.root, cgroupParent).ownFds;
    const devnull = (await import("node:fs")).openSync("/dev/null", "r+");
    const stdio: [number, number, number] = [devnull, devnull, devnull];
    const pristineHost = snapshot(v);
    const before = fdsNow();
    let checked = 0;
    try {
      for (const step of parentSteps("create")) {
        if (step === "write the pid file") continue; // a CLI flag the library does not take
        process.env.BERTH_FAULT = `create:${step}`;
        await expect(lib.create(id, { root: v.bundle.root, bundle: v.bundle.dir, stdio })).rejects.toThrow(injected(step));
        delete process.env.BERTH_FAULT;
        expect({ fdsAfterAFaultAt: step, extra: fdsNow().filter((f) => !before.includes(f)) }).toEqual({
          fdsAfterAFaultAt: step,
          extra: [],
        });
        expect({ step, left: await settledLeftBehind(pristineHost, () => snapshot(v), ["ownFds"]) }).toEqual({ step, left: {} });
        count("create (library, fds counted)", true, true);
        checked++;
      }
      await lib.create(id, { root: v.bundle.root, bundle: v.bundle.dir, stdio });
      await lib.start(id, { root: v.bundle.root });
      const running = fdsNow();
      for (const step of parentSteps("exec")) {
        process.env.BERTH_FAULT = `exec:${step}`;
        await expect(
          lib.exec(id, {
            root: v.bundle.root,
            process: { args: ["sleep", "1000"], cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 } },
            stdio,
            detach: true,
          }),
        ).rejects.toThrow(injected(step));
        delete process.env.BERTH_FAULT;
        expect({ fdsAfterAFaultAt: step, extra: fdsNow().filter((f) => !running.includes(f)) }).toEqual({
          fdsAfterAFaultAt: step,
          extra: [],
        });
        // No unreaped child either: a zombie in the container's pid namespace would keep its
        // init from finishing its exit, and delete would wait for ever.
        const zombies = (await import("node:child_process"))
          .execFileSync("ps", ["-o", "pid=,stat=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" })
          .split("\n")
          .filter((l) => / Z/.test(l));
        expect({ zombiesAfterAFaultAt: step, zombies }).toEqual({ zombiesAfterAFaultAt: step, zombies: [] });
        count("exec (library, fds counted)", true, true);
        checked++;
      }
    } finally {
      delete process.env.BERTH_FAULT;
      await lib.delete(id, { root: v.bundle.root, force: true }).catch(() => undefined);
      (await import("node:fs")).closeSync(devnull);
    }
    expect(checked).toBeGreaterThan(10);
  });
});
