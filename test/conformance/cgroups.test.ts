/**
 * Conformance: config-linux.md's cgroup clauses that need a resource in effect (memory
 * checkBeforeUpdate, unified), observed in the container's own cgroup directory. The unified
 * clause needs a pure cgroup v2 host: on this hybrid host its test is skipped and the report says
 * so; test/vm/run-guest.test.ts runs this suite in the v2 guest, where it must pass.
 */
import { existsSync, readFileSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirsFor } from "../helpers/bundle";
import { bundle, clause, run, uniq } from "./harness";

const base = `/conf-cg-${process.pid}`;
afterAll(() => {
  // The parents berth made for these paths, if it left them (children first).
  for (const d of [...cgroupDirsFor(`${base}/unified`), ...cgroupDirsFor(base)]) {
    try {
      rmdirSync(d);
    } catch {
      /* not empty or gone */
    }
  }
});

/** The first of `files` that exists in one of the container's cgroup directories, read. */
function cgRead(path: string, files: string[]): string {
  for (const d of cgroupDirsFor(path)) for (const f of files) if (existsSync(join(d, f))) return readFileSync(join(d, f), "utf8").trim();
  throw new Error(`none of ${files.join(", ")} under ${path}`);
}

clause(
  "config-linux.md#memory/check-before-update",
  "a limit of 4096 bytes under a running shell's usage is refused; the old limit stays",
  () => {
    const path = `${base}/cbu`;
    const b = bundle(["sleep", "300"], (c) => {
      c.linux.cgroupsPath = path;
      c.linux.resources = { memory: { limit: 64 << 20, checkBeforeUpdate: true } };
    });
    const id = uniq(b, "cbu");
    expect(run(b, ["run", "-d", "-b", b.dir, id]).exitCode).toBe(0);
    const limitFiles = ["memory.max", "memory.limit_in_bytes"];
    expect(cgRead(path, limitFiles)).toBe(String(64 << 20));
    const r = run(b, ["update", "--memory", "4096", id]);
    expect({ exit: r.exitCode, stderr: r.stderr }).toEqual({
      exit: 1,
      stderr: expect.stringMatching(
        new RegExp(
          `^berth: update ${id}: linux.resources.memory.limit 4096: is below the container's current memory usage \\(\\d+ bytes\\), and memory.checkBeforeUpdate is set\\n$`,
        ),
      ),
    });
    expect(cgRead(path, limitFiles)).toBe(String(64 << 20));
    expect(JSON.parse(run(b, ["state", id]).stdout).status).toBe("running");
    // A limit above the usage is taken.
    expect(run(b, ["update", "--memory", "48m", id]).exitCode).toBe(0);
    expect(cgRead(path, limitFiles)).toBe(String(48 << 20));
  },
);

clause(
  "config-linux.md#unified/controllers",
  "keys written as given (one berth has no mapping for), controllers enabled in a parent berth made",
  () => {
    const path = `${base}/unified/c1`;
    const b = bundle(["sleep", "300"], (c) => {
      c.linux.cgroupsPath = path;
      // memory.oom.group and pids.max: berth maps no spec field to the first; both go as given.
      c.linux.resources = { unified: { "pids.max": "9", "memory.oom.group": "1", "memory.high": "50331648" } };
    });
    const id = uniq(b, "unified");
    expect(run(b, ["create", "-b", b.dir, id])).toMatchObject({ exitCode: 0, stderr: "" });
    const [dir] = cgroupDirsFor(path);
    const read = (f: string) => readFileSync(join(dir!, f), "utf8").trim();
    expect({ pids: read("pids.max"), oomGroup: read("memory.oom.group"), high: read("memory.high") }).toEqual({
      pids: "9",
      oomGroup: "1",
      high: "50331648",
    });
    // The parent berth created has the controllers its child needs enabled.
    expect(read("../cgroup.subtree_control").split(" ")).toEqual(expect.arrayContaining(["memory", "pids"]));
  },
);

clause("config-linux.md#unified/controllers", "a key of a controller the host does not have is an error, and nothing is left", () => {
  const have = readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8").trim().split(" ");
  const absent = ["rdma", "hugetlb", "misc"].find((c) => !have.includes(c));
  if (!absent) throw new Error(`this host has every candidate controller (${have.join(" ")}): pick another`);
  const key = { rdma: "rdma.max", hugetlb: "hugetlb.2MB.max", misc: "misc.max" }[absent]!;
  const path = `${base}/unified/c2`;
  const b = bundle(["sleep", "300"], (c) => {
    c.linux.cgroupsPath = path;
    c.linux.resources = { unified: { [key]: "max" } };
  });
  const id = uniq(b, "unified-absent");
  const r = run(b, ["create", "-b", b.dir, id]);
  expect({ exit: r.exitCode, stderr: r.stderr }).toEqual({
    exit: 1,
    stderr: expect.stringContaining(`berth: create ${id}: linux.resources.unified[${JSON.stringify(key)}]`),
  });
  expect(cgroupDirsFor(path)).toEqual([]);
  expect(run(b, ["state", id]).stderr).toContain("container does not exist");
});

clause(
  "config-linux.md#cgroup-ownership/no-fail",
  "root of a user namespace owns its cgroup (files the kernel lists but this cgroup lacks are skipped) and can make a child cgroup; limits stay the host's",
  () => {
    const path = `${base}/owned`;
    const b = bundle(["sh", "-c", "mkdir /sys/fs/cgroup/child && echo made"], (c) => {
      c.linux.cgroupsPath = path;
      if (!c.linux.namespaces.some((n: { type: string }) => n.type === "user")) c.linux.namespaces.push({ type: "user" });
      if (!c.linux.namespaces.some((n: { type: string }) => n.type === "cgroup")) c.linux.namespaces.push({ type: "cgroup" });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.mounts = c.mounts.filter((m: { type: string }) => m.type !== "cgroup");
      c.mounts.push({
        destination: "/sys/fs/cgroup",
        type: "cgroup",
        source: "cgroup",
        options: ["nosuid", "noexec", "nodev", "relatime"],
      });
      // pids only: the memory controller is not enabled here, so memory.oom.group and
      // memory.reclaim, which the kernel lists as delegatable, are absent from this cgroup.
      c.linux.resources = { pids: { limit: 50 } };
    });
    const id = uniq(b, "owned");
    expect(run(b, ["create", "-b", b.dir, id])).toMatchObject({ exitCode: 0, stderr: "" });
    const [dir] = cgroupDirsFor(path);
    const uid = (f: string) => statSync(join(dir!, f)).uid;
    expect({
      dir: uid("."),
      procs: uid("cgroup.procs"),
      subtree: uid("cgroup.subtree_control"),
      threads: uid("cgroup.threads"),
      pidsMax: uid("pids.max"),
    }).toEqual({ dir: 100000, procs: 100000, subtree: 100000, threads: 100000, pidsMax: 0 });
    expect(existsSync(join(dir!, "memory.oom.group"))).toBe(false);
    expect(run(b, ["delete", "--force", id]).exitCode).toBe(0);
    // What the delegation is for: the container's root makes a child cgroup of its own, which
    // run's delete then removes with the container's.
    const again = uniq(b, "owned-run");
    expect(run(b, ["run", "-b", b.dir, again])).toEqual({ exitCode: 0, stdout: "made\n", stderr: "" });
    expect(cgroupDirsFor(path)).toEqual([]);
  },
);
