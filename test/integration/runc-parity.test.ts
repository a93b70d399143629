/**
 * berth and runc side by side on the same bundle: the lifecycle as the CLI shows it (exit
 * codes, output, state JSON, errors engines match on) and what the process inside observes
 * must be the same. Skipped where runc is not installed (CI installs it).
 *
 * Known, deliberate differences, normalised below: on a hybrid host berth also mounts the
 * cgroup2 hierarchy at /sys/fs/cgroup/unified, and makes the /sys/fs/cgroup tmpfs read-only
 * as the mount's "ro" option asks (runc 1.1 leaves the tmpfs writable).
 */
import { readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { runc, runcBin } from "../helpers/runc";
import { detectCgroups } from "../../src/cgroups";
import { cgroupDirsFor, makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";

const maybe = runcBin ? describe : describe.skip;

interface Result {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

// Everything each runtime made, removed after each test.
const parent = `/berthparity-${process.pid}`;
let b: TestBundle | undefined;
const made: { rt: "berth" | "runc"; id: string }[] = [];

afterEach(() => {
  for (const { rt, id } of made.splice(0)) (rt === "berth" ? berth : runc)(["--root", join(b!.dir, `root-${rt}`), "delete", "--force", id]);
  // runc removes a container's own cgroup at delete, not the parent we named for it.
  for (const dir of cgroupDirsFor(parent)) rmdirSync(dir);
  b?.cleanup();
  b = undefined;
});

function cli(rt: "berth" | "runc") {
  const root = join(b!.dir, `root-${rt}`);
  return (args: string[]) => (rt === "berth" ? berth : runc)(["--root", root, ...args]);
}

/** A live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function useBundle(args: string[], id: string): void {
  b = makeBundle(args, (c) => {
    c.linux.cgroupsPath = `${parent}/${id}`;
  });
}

const insideScript = [
  "hostname",
  "id",
  "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status",
  "awk '{print $5, $6}' /proc/self/mountinfo",
  "ls -la /dev | awk '{print $1, $NF}'",
  "ls /proc/self/fd",
  "ulimit -n",
  "umask",
  "pwd",
  "env | sort",
].join("; ");

const normalise = (out: string) =>
  out
    .split("\n")
    .filter((l) => !l.startsWith("/sys/fs/cgroup/unified "))
    .map((l) => (l.startsWith("/sys/fs/cgroup ") ? "/sys/fs/cgroup (tmpfs)" : l))
    .join("\n");

maybe("berth and runc on the same bundle", () => {
  test("the process inside sees the same: ids, capabilities, mounts, devices, fds, limits, env", () => {
    useBundle(["sh", "-c", insideScript], "inside");
    const seen = (rt: "berth" | "runc") => {
      const id = `t-par-${rt}-${process.pid}`;
      made.push({ rt, id });
      return cli(rt)(["run", "--bundle", b!.dir, id]);
    };
    const fromRunc = seen("runc");
    const fromBerth = seen("berth");
    expect(fromRunc.exitCode).toBe(0);
    expect({ ...fromBerth, stdout: normalise(fromBerth.stdout) }).toEqual({ ...fromRunc, stdout: normalise(fromRunc.stdout) });
  });

  test("create, state, start, kill, delete: the same exit codes, output and state", () => {
    useBundle(["sleep", "300"], "life");
    const story = (rt: "berth" | "runc") => {
      const id = `t-par-${rt}-${process.pid}`;
      made.push({ rt, id });
      const c = cli(rt);
      const steps: Record<string, unknown>[] = [];
      const state = () => {
        const r = c(["state", id]);
        if (r.exitCode !== 0) return { exitCode: r.exitCode, stderr: r.stderr.includes("container does not exist") };
        const s = JSON.parse(r.stdout);
        return { exitCode: 0, keys: Object.keys(s).sort(), status: s.status, id: s.id === id, bundle: s.bundle, pid: s.pid > 0 };
      };
      const step = (name: string, r: Result) =>
        steps.push({ name, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr === "" ? "" : "error" });
      step("create", c(["create", "--bundle", b!.dir, id]));
      steps.push({ name: "state", ...state() });
      step("start", c(["start", id]));
      steps.push({ name: "state", ...state() });
      step("delete while running", c(["delete", id]));
      step("kill", c(["kill", id, "KILL"]));
      for (let i = 0; i < 2000 && (state() as { status?: string }).status !== "stopped"; i++);
      const stopped = state() as Record<string, unknown>;
      steps.push({ name: "state", ...stopped, pid: undefined });
      const again = c(["kill", id, "KILL"]);
      steps.push({ name: "kill stopped", exitCode: again.exitCode === 0 ? 0 : 1 });
      step("delete", c(["delete", id]));
      steps.push({ name: "state", ...state() });
      return steps;
    };
    const fromRunc = story("runc");
    const fromBerth = story("berth");
    expect(fromBerth).toEqual(fromRunc);
    // And what that story is, so a change in both would still be noticed.
    expect(fromBerth.map((s) => [s.name, s.exitCode, s.status])).toEqual([
      ["create", 0, undefined],
      ["state", 0, "created"],
      ["start", 0, undefined],
      ["state", 0, "running"],
      ["delete while running", 1, undefined],
      ["kill", 0, undefined],
      ["state", 0, "stopped"],
      ["kill stopped", 1, undefined],
      ["delete", 0, undefined],
      ["state", 1, undefined],
    ]);
  });

  test("delete of a created container without --force: both succeed, kill the waiting init and leave no cgroup", () => {
    useBundle(["sleep", "300"], "delcreated");
    const story = (rt: "berth" | "runc") => {
      const id = `t-pardc-${rt}-${process.pid}`;
      made.push({ rt, id });
      const c = cli(rt);
      const create = c(["create", "--bundle", b!.dir, id]);
      const pid = Number(JSON.parse(c(["state", id]).stdout).pid);
      const before = { alive: alive(pid), cgroups: cgroupDirsFor(`${parent}/delcreated`).length > 0 };
      const del = c(["delete", id]);
      const after = c(["state", id]);
      return {
        create: create.exitCode,
        before,
        delete: del,
        alive: alive(pid),
        cgroups: cgroupDirsFor(`${parent}/delcreated`),
        state: { exitCode: after.exitCode, stderr: after.stderr.includes("container does not exist") },
      };
    };
    const fromRunc = story("runc");
    const fromBerth = story("berth");
    expect(fromBerth).toEqual(fromRunc);
    expect(fromBerth).toEqual({
      create: 0,
      before: { alive: true, cgroups: true },
      delete: { exitCode: 0, stdout: "", stderr: "" },
      alive: false,
      cgroups: [],
      state: { exitCode: 1, stderr: true },
    });
  });

  test("an unknown capability: both run the container with the known ones and warn on stderr, naming it", () => {
    useBundle(["sh", "-c", "grep -E '^Cap(Bnd|Prm|Eff)' /proc/self/status"], "capunknown");
    b!.config.process.capabilities = {
      bounding: ["CAP_CHOWN", "CAP_UNKNOWN"],
      effective: ["CAP_CHOWN"],
      permitted: ["CAP_CHOWN", "CAP_UNKNOWN"],
    };
    b!.write();
    const seen = (rt: "berth" | "runc") => {
      const id = `t-parcap-${rt}-${process.pid}`;
      made.push({ rt, id });
      return cli(rt)(["run", "--bundle", b!.dir, id]);
    };
    const fromRunc = seen("runc");
    const fromBerth = seen("berth");
    const outcome = (r: Result) => ({
      exitCode: r.exitCode,
      stdout: r.stdout,
      warns: /warning/.test(r.stderr) || /skipped/.test(r.stderr),
      names: r.stderr.includes("CAP_UNKNOWN"),
    });
    expect(outcome(fromBerth)).toEqual(outcome(fromRunc));
    expect(outcome(fromBerth)).toEqual({
      exitCode: 0,
      stdout: "CapPrm:\t0000000000000001\nCapEff:\t0000000000000001\nCapBnd:\t0000000000000001\n",
      warns: true,
      names: true,
    });
    // The texts: runc's logrus line, berth's one line per field.
    expect(fromRunc.stderr).toMatch(/level=warning msg="ignoring unknown or unavailable capabilities: \[CAP_UNKNOWN\]"/);
    expect(fromBerth.stderr).toContain(`process.capabilities.bounding[1] "CAP_UNKNOWN": unknown capability, skipped`);
  });

  test("exec --process without user: both run it as uid 0, gid 0 in a container of uid 1000", () => {
    useBundle(["sleep", "300"], "execnouser");
    b!.config.process.user = { uid: 1000, gid: 1000 };
    b!.write();
    const file = join(b!.dir, "process.json");
    writeFileSync(file, JSON.stringify({ args: ["sh", "-c", "id -u; id -g; id -G"], cwd: "/", env: ["PATH=/bin"] }));
    const seen = (rt: "berth" | "runc") => {
      const id = `t-parnouser-${rt}-${process.pid}`;
      made.push({ rt, id });
      const c = cli(rt);
      expect(c(["run", "-d", "--bundle", b!.dir, id]).exitCode).toBe(0);
      const r = c(["exec", "--process", file, id]);
      c(["delete", "--force", id]);
      return r;
    };
    const fromRunc = seen("runc");
    expect(seen("berth")).toEqual(fromRunc);
    expect(fromRunc).toEqual({ exitCode: 0, stdout: "0\n0\n0\n", stderr: "" });
  });

  test("linux.sysctl kernel.domainname with a UTS namespace: both set it inside (over the domainname field); kernel.hostname both refuse", () => {
    useBundle(["sh", "-c", "cat /proc/sys/kernel/domainname; hostname"], "domainname");
    b!.config.domainname = "field.example";
    b!.config.linux.sysctl = { "kernel.domainname": "sysctl.example" };
    b!.write();
    const seen = (rt: "berth" | "runc", name: string) => {
      const id = `t-par${name}-${rt}-${process.pid}`;
      made.push({ rt, id });
      return cli(rt)(["run", "--bundle", b!.dir, id]);
    };
    const fromRunc = seen("runc", "dom");
    expect(seen("berth", "dom")).toEqual(fromRunc);
    expect(fromRunc).toEqual({ exitCode: 0, stdout: "sysctl.example\nberth\n", stderr: "" });
    b!.config.linux.sysctl = { "kernel.hostname": "other" };
    b!.write();
    const outcome = (r: Result) => ({
      exitCode: r.exitCode,
      stdout: r.stdout,
      names: r.stderr.includes("kernel.hostname") && r.stderr.includes("hostname"),
    });
    const hostRunc = seen("runc", "host");
    expect(outcome(seen("berth", "host"))).toEqual(outcome(hostRunc));
    expect(outcome(hostRunc)).toEqual({ exitCode: 1, stdout: "", names: true });
  });

  test("kill ID 0 and kill --all ID 0: both succeed on a created and a running container, and refuse a stopped or missing one alike", () => {
    useBundle(["sleep", "300"], "sig0");
    const story = (rt: "berth" | "runc") => {
      const id = `t-parsig0-${rt}-${process.pid}`;
      made.push({ rt, id });
      const c = cli(rt);
      const said = (r: Result) => ({
        exitCode: r.exitCode,
        stdout: r.stdout,
        said: ["container not running", "container does not exist"].find((t) => r.stderr.includes(t)) ?? (r.stderr === "" ? "" : r.stderr),
      });
      const steps: Record<string, unknown> = {};
      c(["create", "--bundle", b!.dir, id]);
      steps.created = said(c(["kill", id, "0"]));
      steps.createdAll = said(c(["kill", "--all", id, "0"]));
      c(["start", id]);
      steps.running = said(c(["kill", id, "0"]));
      steps.runningAll = said(c(["kill", "--all", id, "0"]));
      steps.status = JSON.parse(c(["state", id]).stdout).status;
      c(["kill", id, "KILL"]);
      for (let i = 0; i < 2000 && JSON.parse(c(["state", id]).stdout).status !== "stopped"; i++);
      steps.stopped = said(c(["kill", id, "0"]));
      c(["delete", id]);
      steps.missing = said(c(["kill", id, "0"]));
      return steps;
    };
    const fromRunc = story("runc");
    expect(story("berth")).toEqual(fromRunc);
    const ok = { exitCode: 0, stdout: "", said: "" };
    expect(fromRunc).toEqual({
      created: ok,
      createdAll: ok,
      running: ok,
      runningAll: ok,
      status: "running",
      stopped: { exitCode: 1, stdout: "", said: "container not running" },
      missing: { exitCode: 1, stdout: "", said: "container does not exist" },
    });
  });

  test("exec failures end with runc's 255: a missing program, a paused container, an unwritable --pid-file, a missing container", () => {
    useBundle(["sleep", "300"], "exec255");
    const story = (rt: "berth" | "runc") => {
      const id = `t-par255-${rt}-${process.pid}`;
      made.push({ rt, id });
      const c = cli(rt);
      const said = (r: Result, ...texts: string[]) => ({
        exitCode: r.exitCode,
        stdout: r.stdout,
        says: texts.every((t) => r.stderr.includes(t)),
      });
      c(["run", "-d", "--bundle", b!.dir, id]);
      const steps = {
        missing: said(c(["exec", id, "/no/such/program"]), "/no/such/program", "no such file or directory"),
        pidFile: said(
          c(["exec", "--pid-file", join(b!.dir, "no/dir/exec.pid"), id, "sleep", "100002"]),
          join(b!.dir, "no/dir"),
          "no such file or directory",
        ),
        pidFileProcessLeft: processesMentioning("sleep 100002").length,
        paused: {} as ReturnType<typeof said>,
        noContainer: said(c(["exec", `${id}-nope`, "true"]), "container does not exist"),
      };
      c(["pause", id]);
      steps.paused = said(c(["exec", id, "true"]), "cannot exec in a paused container (use --ignore-paused to override)");
      c(["resume", id]);
      c(["delete", "--force", id]);
      return steps;
    };
    const fromRunc = story("runc");
    expect(story("berth")).toEqual(fromRunc);
    const failed = { exitCode: 255, stdout: "", says: true };
    expect(fromRunc).toEqual({ missing: failed, pidFile: failed, pidFileProcessLeft: 0, paused: failed, noContainer: failed });
  });

  // A pure cgroup v2 host takes unified keys.
  (detectCgroups().mode === "unified" ? test.skip : test)(
    "linux.resources.unified on a host whose limits are v1: both refuse it as an invalid configuration, and leave nothing",
    () => {
      useBundle(["true"], "unified");
      b!.config.linux.resources = { unified: { "memory.high": "1M" } };
      b!.write();
      const seen = (rt: "berth" | "runc") => {
        const id = `t-parunified-${rt}-${process.pid}`;
        made.push({ rt, id });
        const r = cli(rt)(["run", "--bundle", b!.dir, id]);
        return {
          exitCode: r.exitCode,
          stdout: r.stdout,
          invalid: r.stderr.includes("invalid configuration"),
          left: cgroupDirsFor(`${parent}/unified`),
          state: cli(rt)(["state", id]).exitCode,
        };
      };
      const fromRunc = seen("runc");
      const fromBerth = seen("berth");
      expect(fromBerth).toEqual(fromRunc);
      expect(fromRunc).toEqual({ exitCode: 1, stdout: "", invalid: true, left: [], state: 1 });
    },
  );
});
