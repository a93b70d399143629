/**
 * Security regressions of the cgroup boundary (issue 15), each tried from inside a container
 * and checked on the host:
 *
 * - the device cgroup is an allow list: a node the config creates (linux.devices) gets no rule
 *   of its own, so a deny-all in linux.resources.devices holds against it, and a config with
 *   no rules at all still gets deny-all plus runc's defaults (on v1 a new cgroup inherits its
 *   parent's "a *:* rwm"); runc 1.1.5 is run on the same bundle where it is installed;
 *
 * The v1 devices controller is what this host has; the cgroup v2 filter is tested in the
 * pure v2 guest (test/vm/cgroups-v2.test.ts).
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectCgroups } from "../../src/cgroups";
import { berth, type CliResult } from "../helpers/cli";
import { cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";

let b: TestBundle | undefined;
let ids: string[] = [];
/** Containers runc made: deleted with runc after each test. */
let runcIds: string[] = [];
/** Cgroup paths this file made itself (not through a runtime), removed deepest first. */
let madePaths: string[] = [];
const uniq = (name: string) => {
  const id = `seccg-${name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  ids.push(id);
  return id;
};
const run = (args: string[]) => berth(["--root", b!.root, ...args]);

const runcBin = ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));
/** runc's containers go under a parent of their own, removed after each test (runc leaves it). */
const runcParent = `/berth-seccg-runc-${process.pid}`;

function runc(args: string[]): CliResult {
  const dir = mkdtempSync(join(tmpdir(), "berth-runc-"));
  const out = openSync(join(dir, "out"), "w+");
  const err = openSync(join(dir, "err"), "w+");
  try {
    const r = spawnSync(runcBin!, ["--root", join(b!.dir, "root-runc"), ...args], { stdio: ["ignore", out, err], timeout: 30_000 });
    return { exitCode: r.status, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: readFileSync(join(dir, "err"), "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

afterEach(() => {
  for (const id of ids) run(["delete", "--force", id]);
  ids = [];
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
  /** runc 1.1.5's default rules as the v1 devices.list shows them (sorted). */
  const defaults = ["b *:* m", "c *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 10:200 rwm", "c 136:* rwm", "c 5:0 rwm", "c 5:2 rwm"].sort();
  // Opened write-only, /dev/kmsg asks for no capability: only the device rules can refuse it.
  const probe = "[ -c /dev/kmsg ] && echo node-made; echo berth-issue-15-probe > /dev/kmsg && echo kmsg-written; echo x > /dev/null && echo null-ok";
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
  const devicesList = (path: string) => readFileSync(join(devicesMount!, path, "devices.list"), "utf8").trim().split("\n").sort();

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
      const seen = underBerth([{ allow: false, access: "rwm" }, { allow: true, ...kmsg, access: "rwm" }], "allow");
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
      ["deny-all, then allow c 1:11", [{ allow: false, access: "rwm" }, { allow: true, ...kmsg, access: "rwm" }]],
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
