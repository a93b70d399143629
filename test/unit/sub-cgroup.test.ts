/**
 * exec --cgroup's path (issue 15, path traversal out of the container's cgroup, CWE-22 class):
 * parsed without the host (absolute and ".." refused), resolved on a tempdir of fixture
 * cgroup directories (a symlink leading out refused).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSubCgroups, resolveSubCgroup, SUB_CGROUP_OUTSIDE } from "../../src/cgroups";

const refused = (args: string[]) => {
  try {
    parseSubCgroups(args);
  } catch (err) {
    return (err as Error).message;
  }
  return "accepted";
};

describe("exec --cgroup path traversal (CWE-22 class): the form", () => {
  test.each([
    ["/sub"],
    ["/"],
    [".."],
    ["../x"],
    ["../../x"],
    ["a/../../x"],
    ["a/.."],
    ["sub/../sub"],
    ["memory:../x"],
    ["cpu,memory:/sub"],
    ["pids:a/../.."],
  ])("%s is refused, naming the argument", (arg) => {
    expect(refused([arg])).toBe(`--cgroup ${JSON.stringify(arg)}: ${SUB_CGROUP_OUTSIDE}`);
  });

  test("one bad argument among good ones is refused", () => {
    expect(refused(["memory:sub", "pids:../x"])).toBe(`--cgroup "pids:../x": ${SUB_CGROUP_OUTSIDE}`);
  });

  test("relative paths are normalised; a bare path is for every hierarchy, controller forms for theirs", () => {
    const s = parseSubCgroups(["./a//b/", "cpu,memory:sub/.", "pids:"]);
    expect(s.all).toEqual({ arg: "./a//b/", path: "a/b" });
    expect([...s.byController]).toEqual([
      ["cpu", { arg: "cpu,memory:sub/.", path: "sub" }],
      ["memory", { arg: "cpu,memory:sub/.", path: "sub" }],
      ["pids", { arg: "pids:", path: "" }],
    ]);
    expect(parseSubCgroups([])).toEqual({ byController: new Map() });
    expect(parseSubCgroups(undefined)).toEqual({ byController: new Map() });
    // ".." only as a whole component: a name that merely contains dots is a name.
    expect(parseSubCgroups(["a..b/..c"]).all).toEqual({ arg: "a..b/..c", path: "a..b/..c" });
  });
});

describe("exec --cgroup path traversal (CWE-22 class): the directory, resolved", () => {
  let root: string;
  let base: string;
  const cgroup = (dir: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cgroup.procs"), "");
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "berth-subcg-"));
    base = join(root, "berth", "c1");
    cgroup(base);
    cgroup(join(base, "sub"));
    cgroup(join(root, "berth", "c1x"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test("an existing sub-cgroup, or the container's own, is its joined path", () => {
    expect(resolveSubCgroup(base, { arg: "sub", path: "sub" })).toBe(join(base, "sub"));
    expect(resolveSubCgroup(base, { arg: "", path: "" })).toBe(base);
  });

  test("a missing one is named as such", () => {
    expect(() => resolveSubCgroup(base, { arg: "nosuch", path: "nosuch" })).toThrow(
      `--cgroup "nosuch": ${join(base, "nosuch")} is not an existing cgroup of the container`,
    );
  });

  test("a symlink leading out of the container's cgroup (to a sibling whose name starts alike) is refused", () => {
    symlinkSync("../c1x", join(base, "esc"));
    expect(() => resolveSubCgroup(base, { arg: "esc", path: "esc" })).toThrow(
      `--cgroup "esc": ${SUB_CGROUP_OUTSIDE}: ${join(base, "esc")} resolves to ${join(root, "berth", "c1x")}`,
    );
  });

  test("a symlink that stays inside is followed; a symlinked base (a mount point such as cpu -> cpu,cpuacct) is fine", () => {
    symlinkSync("sub", join(base, "alias"));
    expect(resolveSubCgroup(base, { arg: "alias", path: "alias" })).toBe(join(base, "alias"));
    symlinkSync(join(root, "berth"), join(root, "link"));
    expect(resolveSubCgroup(join(root, "link", "c1"), { arg: "sub", path: "sub" })).toBe(join(root, "link", "c1", "sub"));
  });
});
