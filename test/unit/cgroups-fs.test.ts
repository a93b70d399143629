/**
 * The cgroupfs side of a container's life, on tempdirs that stand in for cgroup directories:
 * cgroup ownership (config-linux.md "Cgroup ownership": when berth gives a container its cgroup,
 * cgroupOwner, pure; which files change owner, delegateCgroup, which needs root to chown),
 * removing a container's cgroup with the child cgroups it made, and waiting for it to empty.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, type MakeDirectoryOptions, type PathLike } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cgroupOwner, createCgroupDirs, delegateCgroup, removeCgroupDirs, waitCgroupEmpty } from "../../src/cgroups";
import type { Spec } from "../../src/spec";

const rwCgroup = { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime"] };
const spec = (over: { ns?: object[]; mounts?: object[]; uid?: number; maps?: boolean } = {}): Spec =>
  ({
    ociVersion: "1.3.0",
    root: { path: "rootfs" },
    process: { cwd: "/", args: ["sh"], user: { uid: over.uid ?? 0, gid: 0 } },
    mounts: over.mounts ?? [rwCgroup],
    linux: {
      namespaces: over.ns ?? [{ type: "mount" }, { type: "user" }, { type: "cgroup" }],
      uidMappings: over.maps === false ? undefined : [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: over.maps === false ? undefined : [{ containerID: 0, hostID: 100000, size: 65536 }],
    },
  }) as unknown as Spec;

test.each([
  ["root of a user namespace, own cgroup namespace, rw cgroup mount", spec(), "unified", 100000],
  ["the process's uid, mapped", spec({ uid: 1000 }), "unified", 101000],
  ["a uid the mappings do not cover", spec({ uid: 70000 }), "unified", undefined],
  ["cgroup v1 (hybrid host): never", spec(), "hybrid", undefined],
  ["no cgroup namespace", spec({ ns: [{ type: "mount" }, { type: "user" }] }), "unified", undefined],
  ["a joined cgroup namespace", spec({ ns: [{ type: "mount" }, { type: "user" }, { type: "cgroup", path: "/proc/1/ns/cgroup" }] }), "unified", undefined],
  ["the cgroup mount is read-only", spec({ mounts: [{ ...rwCgroup, options: ["ro", "nosuid"] }] }), "unified", undefined],
  ["no cgroup mount at /sys/fs/cgroup", spec({ mounts: [{ ...rwCgroup, destination: "/mnt/cg" }] }), "unified", undefined],
  ["a trailing slash on the destination is the same mount", spec({ mounts: [{ ...rwCgroup, destination: "/sys/fs/cgroup/" }] }), "unified", 100000],
  ["no uid mappings (no user namespace)", spec({ maps: false, ns: [{ type: "mount" }, { type: "cgroup" }] }), "unified", undefined],
] as const)("cgroupOwner: %s", (_what, s, mode, want) => {
  expect(cgroupOwner(s, mode)).toBe(want);
});

const root = process.getuid?.() === 0;
(root ? describe : describe.skip)(`delegateCgroup${root ? "" : " (skipped: chown needs root)"}`, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-delegate-"));
    mkdirSync(join(dir, "cg"));
    for (const f of ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "memory.max", "memory.oom.group"]) writeFileSync(join(dir, "cg", f), "");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const owner = (f: string) => statSync(join(dir, "cg", f)).uid;

  test("the kernel's list: the directory and the listed files that exist; a listed file that is missing is no error; limits stay root's", () => {
    writeFileSync(join(dir, "delegate"), "cgroup.procs\ncgroup.threads\ncgroup.subtree_control\nmemory.oom.group\nmemory.reclaim\n");
    const changed = delegateCgroup(join(dir, "cg"), 4242, join(dir, "delegate"));
    expect(changed.map((p) => p.slice(dir.length))).toEqual(["/cg", "/cg/cgroup.procs", "/cg/cgroup.threads", "/cg/cgroup.subtree_control", "/cg/memory.oom.group"]);
    expect([owner("."), owner("cgroup.procs"), owner("memory.oom.group"), owner("memory.max")]).toEqual([4242, 4242, 4242, 0]);
  });

  test("without the kernel's list: the spec's fallback (cgroup.procs, cgroup.subtree_control, cgroup.threads)", () => {
    delegateCgroup(join(dir, "cg"), 4242, join(dir, "no-such-delegate-file"));
    expect([owner("."), owner("cgroup.procs"), owner("cgroup.subtree_control"), owner("cgroup.threads"), owner("memory.oom.group")]).toEqual([4242, 4242, 4242, 4242, 0]);
  });
});

test("removeCgroupDirs: the container's own cgroup goes with the child cgroups its processes made; a shared parent and a sibling stay", () => {
  const t = mkdtempSync(join(tmpdir(), "berth-rmcg-"));
  try {
    for (const d of ["berth/c1/child/grand", "berth/c1/other", "berth/c2"]) mkdirSync(join(t, d), { recursive: true });
    const failed = removeCgroupDirs([join(t, "berth/c1"), join(t, "berth")]);
    expect(failed).toEqual([]);
    expect([existsSync(join(t, "berth/c1")), existsSync(join(t, "berth/c2")), existsSync(join(t, "berth"))]).toEqual([false, true, true]);
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
});

describe("waitCgroupEmpty", () => {
  let t: string;
  beforeEach(() => (t = mkdtempSync(join(tmpdir(), "berth-empty-"))));
  afterEach(() => rmSync(t, { recursive: true, force: true }));

  test("cgroup2: resolves when cgroup.events says populated 0 (a change the watch sees), false at the deadline", async () => {
    writeFileSync(join(t, "cgroup.events"), "populated 1\nfrozen 0\n");
    const waiting = waitCgroupEmpty(t, 5_000);
    setTimeout(() => writeFileSync(join(t, "cgroup.events"), "populated 0\nfrozen 0\n"), 20);
    expect(await waiting).toBe(true);
    writeFileSync(join(t, "cgroup.events"), "populated 1\nfrozen 0\n");
    expect(await waitCgroupEmpty(t, 50)).toBe(false);
  });

  test("v1 (no cgroup.events): cgroup.procs is re-read until it is empty", async () => {
    writeFileSync(join(t, "cgroup.procs"), "123\n");
    const waiting = waitCgroupEmpty(t, 5_000);
    setTimeout(() => writeFileSync(join(t, "cgroup.procs"), ""), 20);
    expect(await waiting).toBe(true);
  });
});

describe("createCgroupDirs, with other creates and deletes under the same parent at the same time", () => {
  // The module object itself (an `import * as` is a copy under swc's interop), so that the
  // spies below are what placement.ts calls: the other process acts between its look and its mkdir.
  const fs = jest.requireActual<typeof import("node:fs")>("node:fs");
  // A v1 hierarchy stand-in: a tempdir named like a controller without special files.
  let top: string;
  const layout = () => ({ mode: "legacy" as const, v2Controllers: [], v1Mounts: { pids: top }, v1Hierarchies: [{ mountPoint: top, data: "pids" }] });
  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), "berth-cg-race-"));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(top, { recursive: true, force: true });
  });

  test("a parent another create makes between the look and the mkdir (EEXIST) is one that was there", () => {
    const real = fs.mkdirSync;
    const spy = jest.spyOn(fs, "mkdirSync").mockImplementation(((dir: PathLike, opts?: MakeDirectoryOptions) => {
      // The other create wins the race for the parent.
      if (dir === join(top, "pod") && !existsSync(dir)) real(dir);
      return real(dir, opts);
    }) as typeof fs.mkdirSync);
    const placement = createCgroupDirs(layout(), "/pod/c1");
    expect(spy).toHaveBeenCalled();
    expect(placement.dirs).toEqual([join(top, "pod/c1")]);
    // Not ours: the other create made it, and its delete removes it.
    expect(placement.created).toEqual([join(top, "pod/c1")]);
  });

  test("a parent removed by the delete of the container that made it, between the look and the mkdir below it (ENOENT), is made again, as ours", () => {
    mkdirSync(join(top, "pod"));
    const real = fs.mkdirSync;
    let removed = false;
    jest.spyOn(fs, "mkdirSync").mockImplementation(((dir: PathLike, opts?: MakeDirectoryOptions) => {
      if (dir === join(top, "pod/c1") && !removed) {
        removed = true;
        fs.rmdirSync(join(top, "pod")); // the other container's delete
      }
      return real(dir, opts);
    }) as typeof fs.mkdirSync);
    const placement = createCgroupDirs(layout(), "/pod/c1");
    expect(removed).toBe(true);
    expect(statSync(join(top, "pod/c1")).isDirectory()).toBe(true);
    expect(placement.created).toEqual([join(top, "pod/c1"), join(top, "pod")]);
  });
});
