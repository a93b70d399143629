/**
 * The cgroupfs side of a container's life, on tempdirs that stand in for cgroup directories:
 * cgroup ownership (config-linux.md "Cgroup ownership": when berth gives a container its cgroup,
 * cgroupOwner, pure; which files change owner, delegateCgroup, which needs root to chown),
 * removing a container's cgroup with the child cgroups it made (and retrying one the kernel
 * still calls busy), and waiting for it to empty.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  type MakeDirectoryOptions,
  type PathLike,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cgroupOwner,
  cgroupRemoveFailureText,
  createCgroupDirs,
  delegateCgroup,
  removeCgroupDirs,
  removeCgroupDirsSettled,
  waitCgroupEmpty,
} from "../../src/cgroups";
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
  [
    "a joined cgroup namespace",
    spec({ ns: [{ type: "mount" }, { type: "user" }, { type: "cgroup", path: "/proc/1/ns/cgroup" }] }),
    "unified",
    undefined,
  ],
  ["the cgroup mount is read-only", spec({ mounts: [{ ...rwCgroup, options: ["ro", "nosuid"] }] }), "unified", undefined],
  ["no cgroup mount at /sys/fs/cgroup", spec({ mounts: [{ ...rwCgroup, destination: "/mnt/cg" }] }), "unified", undefined],
  [
    "a trailing slash on the destination is the same mount",
    spec({ mounts: [{ ...rwCgroup, destination: "/sys/fs/cgroup/" }] }),
    "unified",
    100000,
  ],
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
    for (const f of ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "memory.max", "memory.oom.group"])
      writeFileSync(join(dir, "cg", f), "");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const owner = (f: string) => statSync(join(dir, "cg", f)).uid;

  test("the kernel's list: the directory and the listed files that exist; a listed file that is missing is no error; limits stay root's", () => {
    writeFileSync(join(dir, "delegate"), "cgroup.procs\ncgroup.threads\ncgroup.subtree_control\nmemory.oom.group\nmemory.reclaim\n");
    const changed = delegateCgroup(join(dir, "cg"), 4242, join(dir, "delegate"));
    expect(changed.map((p) => p.slice(dir.length))).toEqual([
      "/cg",
      "/cg/cgroup.procs",
      "/cg/cgroup.threads",
      "/cg/cgroup.subtree_control",
      "/cg/memory.oom.group",
    ]);
    expect([owner("."), owner("cgroup.procs"), owner("memory.oom.group"), owner("memory.max")]).toEqual([4242, 4242, 4242, 0]);
  });

  test("without the kernel's list: the spec's fallback (cgroup.procs, cgroup.subtree_control, cgroup.threads)", () => {
    delegateCgroup(join(dir, "cg"), 4242, join(dir, "no-such-delegate-file"));
    expect([
      owner("."),
      owner("cgroup.procs"),
      owner("cgroup.subtree_control"),
      owner("cgroup.threads"),
      owner("memory.oom.group"),
    ]).toEqual([4242, 4242, 4242, 4242, 0]);
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

/**
 * The rmdir retry on a fake cgroupfs: a tempdir whose cgroup.events (v2) or cgroup.procs (v1)
 * says whether it holds processes, and an rmdir that answers as cgroupfs does: EBUSY while it
 * does (or for the next `lingering` calls after it empties: the kernel has not let go of the
 * last task yet), else the directory goes with its interface files.
 */
describe("removeCgroupDirsSettled", () => {
  let t: string;
  let rmdirs: string[];
  let lingering: number;
  beforeEach(() => {
    t = mkdtempSync(join(tmpdir(), "berth-rmbusy-"));
    rmdirs = [];
    lingering = 0;
  });
  afterEach(() => rmSync(t, { recursive: true, force: true }));

  const busy = () => Object.assign(new Error("EBUSY: resource busy or locked"), { code: "EBUSY" });
  const fakeRmdir = (dir: string) => {
    rmdirs.push(dir);
    const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : "");
    if (/^populated 1$/m.test(read("cgroup.events")) || read("cgroup.procs").trim() !== "") throw busy();
    if (lingering > 0) {
      lingering--;
      throw busy();
    }
    for (const f of ["cgroup.events", "cgroup.procs"]) rmSync(join(dir, f), { force: true });
    rmdirSync(dir);
  };
  const cgroup = (name: string, files: Record<string, string>) => {
    const dir = join(t, name);
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    return dir;
  };

  test("the happy path: gone at the first rmdir, no pause, no read", async () => {
    const dirs = [cgroup("pids/c1", { "cgroup.procs": "" }), cgroup("unified/c1", { "cgroup.events": "populated 0\nfrozen 0\n" })];
    const sleep = jest.fn(async () => undefined);
    expect(await removeCgroupDirsSettled(dirs, { rmdir: fakeRmdir, sleep })).toEqual([]);
    expect(rmdirs).toEqual(dirs);
    expect(sleep).not.toHaveBeenCalled();
    expect(dirs.map(existsSync)).toEqual([false, false]);
  });

  test("cgroup2: busy until cgroup.events says populated 0 (100 ms later), then removed", async () => {
    const dir = cgroup("unified/c1", { "cgroup.events": "populated 1\nfrozen 0\n" });
    setTimeout(() => writeFileSync(join(dir, "cgroup.events"), "populated 0\nfrozen 0\n"), 100);
    const t0 = Date.now();
    expect(await removeCgroupDirsSettled([dir], { rmdir: fakeRmdir, timeoutMs: 5_000 })).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(existsSync(dir)).toBe(false);
    // Waited on the event, not by trying again and again: the first try, and the one after.
    expect(rmdirs).toEqual([dir, dir, dir]);
  });

  test("v1: busy until cgroup.procs is empty (100 ms later), then removed; a busy parent of its own stays", async () => {
    const parent = cgroup("pids/berth", {});
    const dir = cgroup("pids/berth/c1", { "cgroup.procs": "4242\n" });
    cgroup("pids/berth/c2", {});
    setTimeout(() => writeFileSync(join(dir, "cgroup.procs"), ""), 100);
    expect(await removeCgroupDirsSettled([dir, parent], { rmdir: fakeRmdir, timeoutMs: 5_000 })).toEqual([]);
    expect([existsSync(dir), existsSync(parent)]).toEqual([false, true]);
  });

  test("empty, and still busy for a few more tries: short growing pauses, then removed", async () => {
    const dir = cgroup("pids/c1", { "cgroup.procs": "" });
    // Each pass tries twice (again after looking for child cgroups): the first pass and the
    // retry straight after the wait for emptiness fail, then a pause before each further pass.
    lingering = 8;
    const pauses: number[] = [];
    const sleep = async (ms: number) => {
      pauses.push(ms);
      await new Promise((r) => setTimeout(r, ms));
    };
    expect(await removeCgroupDirsSettled([dir], { rmdir: fakeRmdir, sleep, timeoutMs: 5_000 })).toEqual([]);
    expect(pauses).toEqual([1, 2, 4]);
    expect(existsSync(dir)).toBe(false);
  });

  test("still busy at the deadline: the failure names the directory and the processes in it", async () => {
    const dir = cgroup("pids/c1", { "cgroup.procs": `${process.pid}\n` });
    const t0 = Date.now();
    const failed = await removeCgroupDirsSettled([dir], { rmdir: fakeRmdir, timeoutMs: 150 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    const comm = readFileSync("/proc/self/comm", "utf8").trim();
    expect(failed).toEqual([{ dir, error: expect.objectContaining({ code: "EBUSY" }), still: [{ pid: process.pid, comm }] }]);
    expect(cgroupRemoveFailureText(failed[0]!)).toBe(`remove cgroup ${dir}: resource busy or locked (still in it: ${process.pid} ${comm})`);
  });

  test("another error is not retried", async () => {
    const sleep = jest.fn(async () => undefined);
    const failed = await removeCgroupDirsSettled([join(t, "pids/c1")], {
      rmdir: () => {
        throw Object.assign(new Error("EACCES"), { code: "EACCES" });
      },
      sleep,
    });
    expect(failed.map((f) => [f.error.code, f.still])).toEqual([["EACCES", undefined]]);
    expect(sleep).not.toHaveBeenCalled();
  });
});

describe("createCgroupDirs, with other creates and deletes under the same parent at the same time", () => {
  // The module object itself (an `import * as` is a copy under swc's interop), so that the
  // spies below are what placement.ts calls: the other process acts between its look and its mkdir.
  const fs = jest.requireActual<typeof import("node:fs")>("node:fs");
  // A v1 hierarchy stand-in: a tempdir named like a controller without special files.
  let top: string;
  const layout = () => ({
    mode: "legacy" as const,
    v2Controllers: [],
    v1Mounts: { pids: top },
    v1Hierarchies: [{ mountPoint: top, data: "pids" }],
  });
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
