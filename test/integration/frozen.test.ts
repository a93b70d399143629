/**
 * Frozen cgroups never hang berth: a create into a cgroup that is frozen already (or below a
 * frozen parent) is refused at once, naming linux.cgroupsPath; delete --force of a container
 * whose process someone moved into a frozen v1 freezer cgroup of theirs fails at once with
 * the reason, and succeeds once that is thawed. The frozen cgroups are the test's own, made
 * and removed here; berth leaves nothing of its own behind.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

const unified = "/sys/fs/cgroup/unified";
const freezer = "/sys/fs/cgroup/freezer";
let b: TestBundle | undefined;
const ids = testIds("frz");
/** The test's own cgroup directories, deepest last: thawed and removed after each test. */
let ours: string[] = [];

const uniq = ids.uniq;
const cli = (args: string[]) => berth(["--root", b!.root, ...args]);

function ourCgroup(dir: string): string {
  mkdirSync(dir);
  ours.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of [...ours].reverse()) {
    if (existsSync(join(dir, "cgroup.freeze"))) writeFileSync(join(dir, "cgroup.freeze"), "0");
    if (existsSync(join(dir, "freezer.state"))) writeFileSync(join(dir, "freezer.state"), "THAWED");
  }
  ids.deleteAll((id) => cli(["delete", "--force", id]));
  for (const dir of ours.reverse()) if (existsSync(dir)) rmdirSync(dir);
  ours = [];
  b?.cleanup();
  b = undefined;
});

const maybeV2 = existsSync(join(unified, "cgroup.procs")) ? test : test.skip;
// (The root of the v1 freezer hierarchy has no freezer.state of its own.)
const maybeV1 = existsSync(join(freezer, "tasks")) ? test : test.skip;

maybeV2("create into a cgroup2 directory that is frozen already: refused at once, naming the field; nothing of berth's left", () => {
  const name = `berthtest-frz2-${process.pid}`;
  const dir = ourCgroup(join(unified, name));
  writeFileSync(join(dir, "cgroup.freeze"), "1");
  b = makeBundle(["true"], (c) => {
    c.linux.cgroupsPath = `/${name}`;
  });
  const id = uniq("v2");
  expect(cli(["create", "-b", b.dir, id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: create ${id}: linux.cgroupsPath "/${name}": the cgroup is frozen (${dir}/cgroup.events says frozen 1): thaw it first\n`,
  });
  expect(existsSync(join(b.root, id))).toBe(false);
  // The v1 directories berth made for it are gone again; the test's own is still there.
  expect(cgroupDirsFor(`/${name}`)).toEqual([dir]);
});

maybeV1("create below a frozen v1 freezer cgroup: refused at once; nothing of berth's left", () => {
  const name = `berthtest-frz1-${process.pid}`;
  const parent = ourCgroup(join(freezer, name));
  writeFileSync(join(parent, "freezer.state"), "FROZEN");
  b = makeBundle(["true"], (c) => {
    c.linux.cgroupsPath = `/${name}/c`;
  });
  const id = uniq("v1");
  const r = cli(["create", "-b", b.dir, id]);
  expect(r).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: create ${id}: linux.cgroupsPath "/${name}/c": the cgroup is frozen (${parent}/c/freezer.state says FROZEN): thaw it first\n`,
  });
  expect(existsSync(join(b.root, id))).toBe(false);
  expect(cgroupDirsFor(`/${name}/c`)).toEqual([]);
});

maybeV1(
  "delete --force of a container whose process sits in someone else's frozen v1 freezer cgroup: fails at once with the reason; after the thaw it deletes",
  () => {
    b = makeBundle(["sleep", "100000"]);
    const id = uniq("del");
    expect(cli(["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    const pid = JSON.parse(cli(["state", id]).stdout).pid as number;
    const theirs = ourCgroup(join(freezer, `berthtest-frzhost-${process.pid}`));
    writeFileSync(join(theirs, "cgroup.procs"), String(pid));
    writeFileSync(join(theirs, "freezer.state"), "FROZEN");
    const r = cli(["delete", "--force", id]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^berth: delete ${id}: its process ${pid} is in a frozen cgroup berth did not create \\(${theirs}/freezer.state says (FROZEN|FREEZING)\\): SIGKILL takes effect once that is thawed\\n$`,
      ),
    );
    expect(JSON.parse(cli(["state", id]).stdout).status).toBe("running");
    writeFileSync(join(theirs, "freezer.state"), "THAWED");
    expect(cli(["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"))).toBe(false);
    expect(cgroupDirsFor(`/berth/${id}`)).toEqual([]);
  },
);
