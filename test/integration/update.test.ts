/**
 * `update` as engines and people use it, side by side with runc 1.1.5 where it is installed
 * (issue 15, "update"): the same requests to a berth container and a runc container made from
 * the same bundle, and the same exit codes, output and cgroup files afterwards, on this hybrid
 * host (limits through the v1 controllers). The pure part (what is written on either cgroup
 * version) is test/unit/update-plan.test.ts.
 *
 * Every cgroup here is under /berthtest-<pid>-...: the containers' own and the "pod" parents the
 * tests make themselves; all are removed after each test.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { detectCgroups } from "../../src/cgroups";
import { makeBundle, type TestBundle } from "../helpers/bundle";
import { berth, type CliResult } from "../helpers/cli";
import { runc, runcBin, RUNC_DEFAULT_DEVICE_RULES } from "../helpers/runc";

const layout = detectCgroups();
const v1Host = layout.mode === "hybrid" || layout.mode === "legacy";
const maybe = v1Host ? describe : describe.skip;
type Rt = "berth" | "runc";
/** berth always; runc beside it where it is installed. */
const runtimes: Rt[] = runcBin ? ["runc", "berth"] : ["berth"];

const base = `/berthtest-${process.pid}-upd`;
let b: TestBundle | undefined;
const made: { rt: Rt; id: string }[] = [];
/** Cgroup paths to remove after the test, in every hierarchy, deepest first. */
const paths: string[] = [];

const hierarchies = () => [...new Set([...layout.v1Hierarchies.map((h) => h.mountPoint), ...(layout.v2Mount ? [layout.v2Mount] : [])])];

afterEach(() => {
  for (const { rt, id } of made.splice(0)) cli(rt)(["delete", "--force", id]);
  // runc leaves the parents it made for a container (and the pod is the test's own).
  for (const p of paths.splice(0).sort((x, y) => y.length - x.length)) {
    for (const h of hierarchies()) if (existsSync(join(h, p))) rmdirSync(join(h, p));
  }
  b?.cleanup();
  b = undefined;
});

function cli(rt: Rt) {
  const root = join(b!.dir, `root-${rt}`);
  return (args: string[], input?: string) =>
    rt === "berth" ? berth(["--root", root, ...args], { input }) : runc(["--root", root, ...args], input);
}

/** A detached container of `rt` in cgroup `path`; returns the update runner and its cgroup file reader. */
function started(rt: Rt, name: string, path: string) {
  const id = `t-upd-${name}-${rt}-${process.pid}`;
  b!.config.linux.cgroupsPath = path;
  b!.write();
  paths.push(...ancestors(path));
  const c = cli(rt);
  const r = c(["run", "-d", "--bundle", b!.dir, id]);
  made.push({ rt, id });
  expect({ rt, ...r }).toEqual({ rt, exitCode: 0, stdout: "", stderr: "" });
  return {
    update: (args: string[], input?: string) => c(["update", ...args, id], input),
    file: (controller: string, file: string) => readFileSync(join(layout.v1Mounts[controller]!, path, file), "utf8").trim(),
    pid: () => JSON.parse(c(["state", id]).stdout).pid as number,
  };
}

/** "/a/b/c" -> ["/a", "/a/b", "/a/b/c"]. */
function ancestors(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}

/** Only what differs between the runtimes by nature is dropped (runc's log lines). */
const outcome = (r: CliResult) => ({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr === "" ? "" : "error" });

maybe("update: -1 means unlimited", () => {
  const UNLIMITED = "9223372036854771712"; // v1's -1, as the kernel reads it back (page-aligned)

  test("--memory -1 (with and without --resources), --memory-swap, --memory-reservation, --cpu-quota, --pids-limit -1: the files runc writes", () => {
    b = makeBundle(["sleep", "300"], (c) => {
      c.linux.resources = {
        ...c.linux.resources,
        memory: { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20 },
        cpu: { quota: 10000, period: 100000 },
        pids: { limit: 100 },
      };
    });
    const story = (rt: Rt) => {
      const c = started(rt, "neg", `${base}/${rt}-neg`);
      const files = () => ({
        limit: c.file("memory", "memory.limit_in_bytes"),
        memsw: c.file("memory", "memory.memsw.limit_in_bytes"),
        soft: c.file("memory", "memory.soft_limit_in_bytes"),
        quota: c.file("cpu", "cpu.cfs_quota_us"),
        pids: c.file("pids", "pids.max"),
      });
      const steps: Record<string, unknown>[] = [];
      const step = (name: string, r: CliResult) => steps.push({ name, ...outcome(r), ...files() });
      // A container made with memory+swap: -1 for the limit alone is both unlimited (runc), not EINVAL.
      step("--memory -1", c.update(["--memory", "-1"]));
      step("--memory 64m --memory-swap 128m", c.update(["--memory", "64m", "--memory-swap", "128m"]));
      step("--resources {memory.limit: -1}", c.update(["--resources", "-"], JSON.stringify({ memory: { limit: -1 } })));
      step("--memory=48m --memory-swap=96m", c.update(["--memory=48m", "--memory-swap=96m"]));
      step("--memory-swap -1", c.update(["--memory-swap", "-1"]));
      step(
        "--memory-reservation -1 --cpu-quota -1 --pids-limit -1",
        c.update(["--memory-reservation", "-1", "--cpu-quota", "-1", "--pids-limit", "-1"]),
      );
      step(
        "--resources (back to limits)",
        c.update(
          ["--resources", "-"],
          JSON.stringify({
            memory: { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20 },
            cpu: { quota: 20000 },
            pids: { limit: 50 },
          }),
        ),
      );
      step(
        "--resources (all -1)",
        c.update(
          ["--resources", "-"],
          JSON.stringify({ memory: { limit: -1, swap: -1, reservation: -1 }, cpu: { quota: -1 }, pids: { limit: -1 } }),
        ),
      );
      return steps;
    };
    const seen = Object.fromEntries(runtimes.map((rt) => [rt, story(rt)]));
    if (seen.runc) expect(seen.berth).toEqual(seen.runc);
    const M = String(1 << 20);
    const mib = (n: number) => String(n * Number(M));
    expect(seen.berth).toEqual([
      {
        name: "--memory -1",
        exitCode: 0,
        stdout: "",
        stderr: "",
        limit: UNLIMITED,
        memsw: UNLIMITED,
        soft: mib(32),
        quota: "10000",
        pids: "100",
      },
      {
        name: "--memory 64m --memory-swap 128m",
        exitCode: 0,
        stdout: "",
        stderr: "",
        limit: mib(64),
        memsw: mib(128),
        soft: mib(32),
        quota: "10000",
        pids: "100",
      },
      {
        name: "--resources {memory.limit: -1}",
        exitCode: 0,
        stdout: "",
        stderr: "",
        limit: UNLIMITED,
        memsw: UNLIMITED,
        soft: mib(32),
        quota: "10000",
        pids: "100",
      },
      {
        name: "--memory=48m --memory-swap=96m",
        exitCode: 0,
        stdout: "",
        stderr: "",
        limit: mib(48),
        memsw: mib(96),
        soft: mib(32),
        quota: "10000",
        pids: "100",
      },
      {
        name: "--memory-swap -1",
        exitCode: 0,
        stdout: "",
        stderr: "",
        limit: mib(48),
        memsw: UNLIMITED,
        soft: mib(32),
        quota: "10000",
        pids: "100",
      },
      {
        name: "--memory-reservation -1 --cpu-quota -1 --pids-limit -1",
        exitCode: 0,
        stdout: "",
        stderr: "",
        limit: mib(48),
        memsw: UNLIMITED,
        soft: UNLIMITED,
        quota: "-1",
        pids: "max",
      },
      {
        name: "--resources (back to limits)",
        exitCode: 0,
        stdout: "",
        stderr: "",
        limit: mib(64),
        memsw: mib(128),
        soft: mib(32),
        quota: "20000",
        pids: "50",
      },
      {
        name: "--resources (all -1)",
        exitCode: 0,
        stdout: "",
        stderr: "",
        limit: UNLIMITED,
        memsw: UNLIMITED,
        soft: UNLIMITED,
        quota: "-1",
        pids: "max",
      },
    ]);
  });
});

maybe("update --resources: device rules with runc's access strings", () => {
  /** The container's devices.list, sorted (the runtimes write their rules in different orders). */
  const devicesList = (path: string) =>
    readFileSync(join(layout.v1Mounts.devices!, path, "devices.list"), "utf8")
      .trim()
      .split("\n")
      .sort();
  const rule = (type: string, major: number, minor: number, access: string) => ({ allow: true, type, major, minor, access });

  test("create takes r, w and m in any order or number and lists them as the kernel does; update leaves the device rules as they are, as runc does", () => {
    b = makeBundle(["sleep", "300"], (c) => {
      c.linux.resources = {
        devices: [
          { allow: false, access: "rwm" },
          rule("c", 1, 11, "rwmm"),
          rule("c", 1, 12, "mr"),
          rule("c", 1, 4, "wr"),
          rule("b", 7, 0, "mwr"),
        ],
        pids: { limit: 100 },
      };
    });
    const story = (rt: Rt) => {
      const path = `${base}/${rt}-dev`;
      const c = started(rt, "dev", path);
      const atCreate = devicesList(path);
      // An engine's whole LinuxResources (the device rules included) to change a limit, then a
      // request that would open another device (c 10:229, fuse).
      const same = c.update(["--resources", "-"], JSON.stringify({ ...b!.config.linux.resources, pids: { limit: 42 } }));
      const other = c.update(
        ["--resources", "-"],
        JSON.stringify({ devices: [rule("c", 10, 229, "wr"), rule("c", 1, 11, "mr")], pids: { limit: 43 } }),
      );
      // runc drops the rules it does not apply silently; berth says so on stderr (issue 18:
      // warnings reach stderr without --log), in one line naming the field.
      const otherSaid = other.stderr;
      return {
        atCreate,
        same: outcome(same),
        other: rt === "berth" ? { ...outcome(other), stderr: "" } : outcome(other),
        afterUpdates: devicesList(path),
        pids: c.file("pids", "pids.max"),
        otherSaid: rt === "berth" ? otherSaid : "",
      };
    };
    const seen = Object.fromEntries(runtimes.map((rt) => [rt, story(rt)]));
    if (seen.runc) expect({ ...seen.berth, otherSaid: "" }).toEqual(seen.runc);
    const defaults = RUNC_DEFAULT_DEVICE_RULES;
    const listed = [...defaults, "c 1:11 rwm", "c 1:12 rm", "c 1:4 rw", "b 7:0 rwm"].sort();
    expect(seen.berth).toEqual({
      atCreate: listed,
      same: { exitCode: 0, stdout: "", stderr: "" },
      other: { exitCode: 0, stdout: "", stderr: "" },
      afterUpdates: listed,
      pids: "43",
      otherSaid: `berth: update t-upd-dev-berth-${process.pid}: linux.resources.devices: not changed: update leaves the device rules the container was created with (as runc does)\n`,
    });
  });

  test("an empty access is refused by both at create; berth names the field", () => {
    b = makeBundle(["true"], (c) => {
      c.linux.resources = { devices: [{ allow: false, access: "rwm" }, rule("c", 1, 11, "")] };
    });
    const seen = Object.fromEntries(
      runtimes.map((rt) => {
        const id = `t-upd-empty-${rt}-${process.pid}`;
        b!.config.linux.cgroupsPath = `${base}/${rt}-empty`;
        b!.write();
        paths.push(...ancestors(`${base}/${rt}-empty`));
        made.push({ rt, id });
        return [rt, cli(rt)(["create", "--bundle", b!.dir, id])];
      }),
    );
    if (seen.runc)
      expect({ exitCode: seen.runc.exitCode, says: /device access at 1 field cannot be empty/.test(seen.runc.stderr) }).toEqual({
        exitCode: 1,
        says: true,
      });
    expect(seen.berth).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create t-upd-empty-berth-${process.pid}: linux.resources.devices[1].access "": must not be empty: give some of r, w and m\n`,
    });
  });
});

maybe("a cgroupsPath under a pod cgroup whose cpuset is empty (v1)", () => {
  const cpuset = layout.v1Mounts.cpuset;
  const cs = (path: string, file: string) => readFileSync(join(cpuset!, path, file), "utf8").trim();
  const status = (pid: number, key: string) =>
    new RegExp(`^${key}:\\s*(\\S*)$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];

  /** The pod: made by the test in every hierarchy, as an engine makes it; its cpuset stays empty. */
  function makePod(path: string): void {
    for (const h of hierarchies()) mkdirSync(join(h, path));
    paths.push(path);
    expect({ cpus: cs(path, "cpuset.cpus"), mems: cs(path, "cpuset.mems") }).toEqual({ cpus: "", mems: "" });
  }

  (cpuset ? test : test.skip)(
    "the container starts, every empty level gets its parent's cpus and mems (the pod's too, as runc), and update --cpuset-* then works",
    () => {
      b = makeBundle(["sleep", "300"]);
      const root = { cpus: cs("/", "cpuset.cpus"), mems: cs("/", "cpuset.mems") };
      const firstCpu = root.cpus.split(/[-,]/)[0]!;
      const story = (rt: Rt) => {
        const pod = `${base}-pod-${rt}`;
        makePod(pod);
        // A level the runtime makes between the pod and the container, too.
        const path = `${pod}/sub/c1`;
        const c = started(rt, "pod", path);
        const levels = () => [pod, `${pod}/sub`, path].map((p) => `${cs(p, "cpuset.cpus")} / ${cs(p, "cpuset.mems")}`);
        const atStart = { levels: levels(), inside: [status(c.pid(), "Cpus_allowed_list"), status(c.pid(), "Mems_allowed_list")] };
        const cpus = c.update(["--cpuset-cpus", firstCpu]);
        const mems = c.update(["--cpuset-mems", root.mems.split(/[-,]/)[0]!]);
        return { atStart, cpus: outcome(cpus), mems: outcome(mems), levels: levels(), inside: status(c.pid(), "Cpus_allowed_list") };
      };
      const seen = Object.fromEntries(runtimes.map((rt) => [rt, story(rt)]));
      if (seen.runc) expect(seen.berth).toEqual(seen.runc);
      const all = `${root.cpus} / ${root.mems}`;
      const ok = { exitCode: 0, stdout: "", stderr: "" };
      expect(seen.berth).toEqual({
        atStart: { levels: [all, all, all], inside: [root.cpus, root.mems] },
        cpus: ok,
        mems: ok,
        levels: [all, all, `${firstCpu} / ${root.mems.split(/[-,]/)[0]}`],
        inside: firstCpu,
      });
    },
  );

  (cpuset ? test : test.skip)(
    "config cpus and mems under the empty pod: the container gets them; berth's delete removes what it made and leaves the pod",
    () => {
      b = makeBundle(["sleep", "300"], (c) => {
        c.linux.resources = { ...c.linux.resources, cpu: { cpus: "0", mems: "0" } };
      });
      const story = (rt: Rt) => {
        const pod = `${base}-pod2-${rt}`;
        makePod(pod);
        const c = started(rt, "pod2", `${pod}/c1`);
        return {
          c1: `${c.file("cpuset", "cpuset.cpus")} / ${c.file("cpuset", "cpuset.mems")}`,
          inside: status(c.pid(), "Cpus_allowed_list"),
          pod: cs(pod, "cpuset.cpus") !== "",
        };
      };
      const seen = Object.fromEntries(runtimes.map((rt) => [rt, story(rt)]));
      if (seen.runc) expect(seen.berth).toEqual(seen.runc);
      expect(seen.berth).toEqual({ c1: "0 / 0", inside: "0", pod: true });
      const { id } = made.find((m) => m.rt === "berth")!;
      expect(cli("berth")(["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
      expect(existsSync(join(cpuset!, `${base}-pod2-berth`, "c1"))).toBe(false);
      expect(existsSync(join(cpuset!, `${base}-pod2-berth`))).toBe(true);
    },
  );
});

/**
 * A memory limit below what the container uses (issue 18): at create, the limit kills
 * berth-init (it is set before the launch); at update, the v1 kernel refuses it with EBUSY.
 * Either way the message names the field, the limit and the cgroup's usage, as runc's does
 * ("unable to set memory limit to 65536 (current usage: ..., peak usage: ...)").
 */
describe("a memory limit below the container's usage", () => {
  const id = (what: string) => `t-upd-mem-${what}-${process.pid}`;

  test("create: names linux.resources.memory.limit, the limit and the usage; nothing is left behind", () => {
    b = makeBundle(["true"], (c) => {
      c.linux.resources = { ...c.linux.resources, memory: { limit: 65536 } };
      c.linux.cgroupsPath = `${base}/mem-create`;
    });
    paths.push(...ancestors(`${base}/mem-create`));
    const r = cli("berth")(["create", "--bundle", b.dir, id("create")]);
    expect({ exitCode: r.exitCode, stdout: r.stdout }).toEqual({ exitCode: 1, stdout: "" });
    expect(r.stderr).toMatch(
      new RegExp(
        `^berth: create ${id("create")}: linux\\.resources\\.memory\\.limit 65536: unable to start the container within this memory limit: berth-init was killed by the OOM killer before it was ready \\(current usage: \\d+, peak usage: \\d+\\)\\n$`,
      ),
    );
    expect(cli("berth")(["list", "-q"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    for (const h of hierarchies()) expect(existsSync(join(h, base, "mem-create"))).toBe(false);
  });

  (v1Host ? test : test.skip)("update --memory below the usage (v1): names the field, the limit and the usage; the old limit stays", () => {
    b = makeBundle(["sleep", "300"], (c) => {
      c.linux.resources = { ...c.linux.resources, memory: { limit: 64 << 20 } };
    });
    const c = started("berth", "mem", `${base}/mem-update`);
    const r = c.update(["--memory", "4096"]);
    expect({ exitCode: r.exitCode, stdout: r.stdout }).toEqual({ exitCode: 1, stdout: "" });
    expect(r.stderr).toMatch(
      /^berth: update t-upd-mem-berth-\d+: linux\.resources\.memory\.limit 4096: unable to set memory limit to 4096: it is below what the container uses \(current usage: \d+, peak usage: \d+\): write \S+memory\.limit_in_bytes: resource busy or locked\n$/,
    );
    expect(c.file("memory", "memory.limit_in_bytes")).toBe(String(64 << 20));
  });
});
