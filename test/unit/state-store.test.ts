/**
 * The state store on a tempdir: what each write leaves on disk, and what each read gives back.
 * state.json holds the record without its config (all that `list` and `state` read);
 * config.json holds the config; read() joins them, and still reads a record written whole by
 * an older berth.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StateStore, type ContainerRecord } from "../../src/state";

let root: string;
let store: StateStore;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "berth-store-"));
  store = new StateStore(root, () => true);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const config = {
  ociVersion: "1.3.0",
  process: { args: ["sleep", "300"], cwd: "/" },
  root: { path: "rootfs" },
  linux: { cgroupsPath: "/custom/c1" },
} as unknown as ContainerRecord["config"];
const record = (id = "c1"): ContainerRecord => ({
  ociVersion: "1.3.0",
  id,
  status: "created",
  pid: 4242,
  bundle: "/b",
  created: "2026-12-01T00:00:00.000Z",
  rootfs: "/b/rootfs",
  pidStartTime: "123",
  cgroupDirs: [],
  cgroupPath: "/custom/c1",
  config,
  owner: "root",
});
const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));

test("write: config.json has the config, state.json the rest; read joins them", () => {
  store.createDir("create", "c1");
  store.write(record());
  const { config: _c, ...summary } = record();
  expect(json(join(root, "c1", "state.json"))).toEqual(summary);
  expect(json(join(root, "c1", "config.json"))).toEqual(config);
  expect(store.read("state", "c1")).toEqual(record());
  expect(store.readSummary("state", "c1")).toEqual(summary);
  expect(store.tryReadSummary("c1")).toEqual(summary);
});

test("writeStatus replaces state.json only, and the status in it", () => {
  store.createDir("create", "c1");
  store.write(record());
  const before = statSync(join(root, "c1", "config.json"));
  store.writeStatus(store.readSummary("start", "c1"), "running");
  expect(json(join(root, "c1", "state.json")).status).toBe("running");
  expect(json(join(root, "c1", "state.json")).config).toBeUndefined();
  const after = statSync(join(root, "c1", "config.json"));
  expect({ ino: after.ino, mtime: after.mtimeMs }).toEqual({ ino: before.ino, mtime: before.mtimeMs });
  expect(store.read("state", "c1")).toEqual({ ...record(), status: "running" });
});

test("a record written whole (config inside state.json) still reads, config and all", () => {
  store.createDir("create", "old");
  writeFileSync(join(root, "old", "state.json"), JSON.stringify(record("old")));
  expect(store.read("delete", "old")).toEqual(record("old"));
  expect(existsSync(join(root, "old", "config.json"))).toBe(false);
  // start, pause and resume rewrite its status: it keeps its config.
  store.writeStatus(store.readSummary("pause", "old"), "paused");
  expect(store.read("resume", "old")).toEqual({ ...record("old"), status: "paused" });
});

test("no state.json: container does not exist; state.json without config.json names the file", () => {
  expect(() => store.read("kill", "nope")).toThrow("berth: kill nope: container does not exist");
  expect(store.tryReadSummary("nope")).toBeUndefined();
  store.createDir("create", "c1");
  const { config: _c, ...summary } = record();
  writeFileSync(join(root, "c1", "state.json"), JSON.stringify(summary));
  expect(store.readSummary("state", "c1")).toEqual(summary);
  expect(() => store.read("exec", "c1")).toThrow(`berth: exec c1: ${join(root, "c1", "config.json")}: read: no such file or directory`);
});

test("half a state.json (not JSON) is no container to list; ids are the entries with valid names", () => {
  store.createDir("create", "c1");
  store.createDir("create", "c2");
  store.write(record("c2"));
  writeFileSync(join(root, "c1", "state.json"), '{"id":"c1",');
  writeFileSync(join(root, "not an id!"), "");
  expect(store.ids()).toEqual(["c1", "c2"]);
  expect(store.tryReadSummary("c1")).toBeUndefined();
  expect(store.tryReadSummary("c2")?.id).toBe("c2");
});

test("remove takes the whole directory, state.json first", () => {
  store.createDir("create", "c1");
  store.write(record());
  store.remove("c1");
  expect(existsSync(join(root, "c1"))).toBe(false);
  expect(() => store.read("state", "c1")).toThrow("container does not exist");
});

describe("create's lock is the one its createDir made", () => {
  // Three processes on one root, each with its own store: A creates, D is a `delete --force`
  // that finds A's directory without a state file yet, B a second create of the same id.
  test("a delete --force that removes the directory between A's createDir and its lock, and B's create after it: A does not fill B's directory", () => {
    const a = new StateStore(root, () => true);
    const d = new StateStore(root, () => true);
    const b = new StateStore(root, () => true);
    a.createDir("create", "c1");
    d.remove("c1"); // what destroy --force does with a directory that has no state.json
    b.createDir("create", "c1");
    let ranInB = false;
    expect(() => a.withLock("create", "c1", () => (ranInB = true))).toThrow("berth: create c1: container does not exist");
    expect(ranInB).toBe(false);
    // B's directory and lock file are untouched, and B's create goes on under its own lock.
    expect(existsSync(join(root, "c1/lock"))).toBe(true);
    expect(b.withLock("create", "c1", () => "b")).toBe("b");
  });

  test("createDir takes the lock at once: a delete --force that comes before create's lock() waits for it", () => {
    // A fake flock that refuses (as LOCK_NB would: the real one waits) a lock another holds.
    const owner = new Map<number, string>(); // the lock file's inode -> who holds it
    const flock = (who: string) => (fd: number) => {
      const ino = statSync(`/proc/self/fd/${fd}`).ino;
      const o = owner.get(ino);
      if (o !== undefined && o !== who) throw Object.assign(new Error(`${who}: the lock is ${o}'s`), { code: "EWOULDBLOCK" });
      owner.set(ino, who);
      return true;
    };
    const a = new StateStore(root, flock("a"));
    const d = new StateStore(root, flock("d"));
    a.createDir("create", "c1");
    expect(() => d.withLock("delete", "c1", () => undefined)).toThrow("d: the lock is a's");
    expect(a.withLock("create", "c1", () => "a")).toBe("a");
  });
});
