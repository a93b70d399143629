/**
 * Security regressions of the cgroup boundary (issue 15), each tried from inside a container
 * and checked on the host:
 *
 * - the device cgroup is an allow list: a node the config creates (linux.devices) gets no rule
 *   of its own, so a deny-all in linux.resources.devices holds against it, and a config with
 *   no rules at all still gets deny-all plus runc's defaults (on v1 a new cgroup inherits its
 *   parent's "a *:* rwm"); runc 1.1.5 is run on the same bundle where it is installed;
 * - `exec --cgroup` cannot place a process outside the container's own cgroup.
 *
 * The v1 devices controller is what this host has; the cgroup v2 filter is tested in the
 * pure v2 guest (test/vm/cgroups-v2.test.ts).
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { detectCgroups } from "../../src/cgroups";
import { runc as runcCli, runcBin, RUNC_DEFAULT_DEVICE_RULES } from "../helpers/runc";
import { berth } from "../helpers/cli";
import { testIds } from "../helpers/ids";
import { cgroupDirsFor, makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";

let b: TestBundle | undefined;
const ids = testIds("seccg");
/** Containers runc made: deleted with runc after each test. */
let runcIds: string[] = [];
/** Cgroup paths this file made itself (not through a runtime), removed deepest first. */
let madePaths: string[] = [];
const uniq = ids.uniq;
const run = (args: string[]) => berth(["--root", b!.root, ...args]);

/** runc's containers go under a parent of their own, removed after each test (runc leaves it). */
const runcParent = `/berth-seccg-runc-${process.pid}`;

const runc = (args: string[]) => runcCli(["--root", join(b!.dir, "root-runc"), ...args]);

afterEach(() => {
  ids.deleteAll((id) => run(["delete", "--force", id]));
  for (const id of runcIds) runc(["delete", "--force", id]);
  runcIds = [];
  for (const path of [...madePaths, runcParent].sort((x, y) => y.length - x.length)) for (const dir of cgroupDirsFor(path)) rmdirSync(dir);
  madePaths = [];
  b?.cleanup();
  b = undefined;
});

const layout = detectCgroups();
const devicesMount = layout.v1Mounts.devices;
const v1Devices = devicesMount ? describe : describe.skip;

describe("device cgroup allow-list bypass (GHSA-g54h-m393-cpwq class, issue 15): linux.devices makes nodes, only linux.resources.devices admits them", () => {
  const kmsg = { type: "c", major: 1, minor: 11 };
  const defaults = RUNC_DEFAULT_DEVICE_RULES;
  // Opened write-only, /dev/kmsg asks for no capability: only the device rules can refuse it.
  const probe =
    "[ -c /dev/kmsg ] && echo node-made; echo berth-issue-15-probe > /dev/kmsg && echo kmsg-written; echo x > /dev/null && echo null-ok";
  const denied = { exitCode: 0, stdout: "node-made\nnull-ok\n", stderr: "sh: can't create /dev/kmsg: Operation not permitted\n" };
  const admitted = { exitCode: 0, stdout: "node-made\nkmsg-written\nnull-ok\n", stderr: "" };

  /** A sleeper with /dev/kmsg in linux.devices and these device rules (undefined: none at all). */
  function kmsgBundle(rules: object[] | undefined): TestBundle {
    return makeBundle(["sleep", "300"], (c) => {
      c.linux.devices = [{ path: "/dev/kmsg", ...kmsg, fileMode: 0o666, uid: 0, gid: 0 }];
      c.linux.resources = { ...(c.linux.resources ?? {}) };
      if (rules === undefined) delete c.linux.resources.devices;
      else c.linux.resources.devices = rules;
    });
  }
  const devicesList = (path: string) =>
    readFileSync(join(devicesMount!, path, "devices.list"), "utf8")
      .trim()
      .split("\n")
      .sort();

  /** Started under berth: what its devices.list holds and what the probe sees from inside. */
  function underBerth(rules: object[] | undefined, name: string) {
    b = kmsgBundle(rules);
    const id = uniq(name);
    expect(run(["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    return { list: devicesList(`/berth/${id}`), inside: run(["exec", id, "sh", "-c", probe]) };
  }

  v1Devices("on v1", () => {
    test("deny-all and /dev/kmsg in linux.devices: the node is made, devices.list has no c 1:11, writing it is refused (EPERM)", () => {
      const seen = underBerth([{ allow: false, access: "rwm" }], "deny");
      expect(seen.list).toEqual(defaults);
      expect(seen.list.some((l) => l.startsWith("c 1:11 "))).toBe(false);
      expect(seen.inside).toEqual(denied);
    });

    test("deny-all, then an explicit allow of c 1:11: listed, and writing it works", () => {
      const seen = underBerth(
        [
          { allow: false, access: "rwm" },
          { allow: true, ...kmsg, access: "rwm" },
        ],
        "allow",
      );
      expect(seen.list).toEqual([...defaults, "c 1:11 rwm"].sort());
      expect(seen.inside).toEqual(admitted);
    });

    test("no device rules at all: deny-all plus the defaults, not the parent's allow-all", () => {
      const seen = underBerth(undefined, "none");
      expect(seen.list).toEqual(defaults);
      expect(seen.inside).toEqual(denied);
    });

    (runcBin ? test : test.skip).each([
      ["deny-all", [{ allow: false, access: "rwm" }]],
      [
        "deny-all, then allow c 1:11",
        [
          { allow: false, access: "rwm" },
          { allow: true, ...kmsg, access: "rwm" },
        ],
      ],
      ["no rules", undefined],
    ])("runc on the same bundle (%s): the same devices.list, the same result inside", (_name, rules) => {
      const berthSide = underBerth(rules as object[] | undefined, "parity");
      const id = `seccg-runc-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
      b!.config.linux.cgroupsPath = `${runcParent}/${id}`;
      b!.write();
      runcIds.push(id);
      expect(runc(["run", "-d", "-b", b!.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
      const runcSide = { list: devicesList(`${runcParent}/${id}`), inside: runc(["exec", id, "sh", "-c", probe]) };
      expect(berthSide).toEqual(runcSide);
    });
  });
});

describe("exec --cgroup path traversal out of the container's cgroup (CWE-22 class, issue 15)", () => {
  /** A sleeper in its own cgroup namespace with a writable cgroup mount: it can make sub-cgroups. */
  function start(): string {
    b = makeBundle(["sleep", "300"], (c) => {
      c.linux.namespaces.push({ type: "cgroup" });
      for (const m of c.mounts) if (m.type === "cgroup") m.options = [...m.options.filter((o: string) => o !== "ro"), "rw"];
    });
    const id = uniq("exec");
    expect(run(["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    // "sub", made from inside (a new v1 cpuset cgroup takes no process until it has cpus and mems).
    // One directory per v1 hierarchy (and the cgroup2 one at unified/ on a hybrid host), or the
    // cgroup2 mount itself on a pure v2 host.
    const mk = [
      "if [ -f /sys/fs/cgroup/cgroup.controllers ]; then mkdir /sys/fs/cgroup/sub; else for d in /sys/fs/cgroup/*/; do mkdir $d/sub; done; fi",
      "c=/sys/fs/cgroup/cpuset; if [ -d $c/sub ]; then cat $c/cpuset.cpus > $c/sub/cpuset.cpus; cat $c/cpuset.mems > $c/sub/cpuset.mems; fi",
    ].join("; ");
    expect(run(["exec", id, "sh", "-c", mk])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    return id;
  }

  test("a sub-cgroup the container made is where --cgroup puts the process (bare and controller forms)", () => {
    const id = start();
    const hierarchies = cgroupDirsFor(`/berth/${id}`).length;
    expect(cgroupDirsFor(`/berth/${id}/sub`)).toHaveLength(hierarchies);
    const r = run(["exec", "--cgroup", "sub", id, "cat", "/proc/self/cgroup"]);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(hierarchies);
    for (const line of lines) expect(line).toMatch(/:\/sub$/);
    // "./sub/" is the same sub-cgroup; "memory:sub" moves only the memory hierarchy's.
    expect(run(["exec", "--cgroup", "./sub/", id, "cat", "/proc/self/cgroup"]).stdout).toBe(r.stdout);
    if (layout.v1Mounts.memory && layout.v1Mounts.pids) {
      const m = run(["exec", "--cgroup", "memory:sub", id, "cat", "/proc/self/cgroup"]);
      expect(m.stdout).toMatch(/:memory:\/sub$/m);
      expect(m.stdout).toMatch(/:pids:\/$/m);
    }
  });

  test("absolute paths and .. are refused naming --cgroup, exit 255 (as every failed exec, as runc); nothing starts; the host's cgroups are unchanged", () => {
    const id = start();
    // A sibling whose name starts with the container's (runc 1.1.5 lets "../<id>x" into it) and
    // the container's own sub-cgroup (reachable lexically, but not written that way).
    const sibling = `/berth/${id}x`;
    for (const dir of cgroupDirsFor("/berth")) mkdirSync(join(dir, `${id}x`));
    madePaths.push(sibling);
    /** Every directory and cgroup.procs below the container's and the sibling's cgroups, and /x. */
    const snapshot = () => {
      const out: Record<string, string> = {};
      const walk = (dir: string) => {
        out[dir] = readFileSync(join(dir, "cgroup.procs"), "utf8");
        for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
      };
      for (const dir of [...cgroupDirsFor(`/berth/${id}`), ...cgroupDirsFor(sibling)]) walk(dir);
      return { dirs: out, x: cgroupDirsFor("/x") };
    };
    const before = snapshot();
    const marker = String(900000 + (process.pid % 90000));
    const forms = ["../../x", `../${id}x`, "..", "/sub", "/", "sub/../sub", `sub/../../${id}x`, `memory:../${id}x`, "cpu,pids:/sub"];
    for (const arg of forms) {
      // 255: runc's status for every exec that fails once its arguments are parsed.
      expect({ arg, ...run(["exec", "--cgroup", arg, id, "sleep", marker]) }).toEqual({
        arg,
        exitCode: 255,
        stdout: "",
        stderr: `berth: exec ${id}: --cgroup ${JSON.stringify(arg)}: must name a cgroup inside the container's cgroup\n`,
      });
    }
    expect(processesMentioning(`sleep ${marker}`)).toEqual([]);
    expect(snapshot()).toEqual(before);
  });
});
