/** buildExecPlan and execJoins as tables: facts in, ops out. */
import { buildExecPlan, execJoins, type NamespaceFact } from "../../src/plan";
import type { Process } from "../../src/spec";

const base: Process = { user: { uid: 0, gid: 0 }, cwd: "/", args: ["sh"], env: ["PATH=/bin"] };

describe("execJoins", () => {
  test("joins each namespace the init does not share with us, user first, mount then pid last", () => {
    const facts: NamespaceFact[] = [
      { type: "mount", container: "1:10", own: "1:1" },
      { type: "network", container: "1:2", own: "1:2" },
      { type: "uts", container: "1:11", own: "1:3" },
      { type: "pid", container: "1:12", own: "1:4" },
      { type: "user", container: "1:13", own: "1:5" },
      { type: "time", container: undefined, own: "1:6" },
      { type: "cgroup", container: "1:14", own: "1:7" },
    ];
    expect(execJoins(facts)).toEqual(["user", "uts", "cgroup", "mount", "pid"]);
  });
});

describe("buildExecPlan", () => {
  test("CVE-2016-9962: the launch enters every namespace (mount before pid, pid last) and the cgroups; berth-init's plan has no setns, no ready/waitStart, ends in exec", () => {
    const plan = buildExecPlan({
      process: { ...base, rlimits: [{ type: "RLIMIT_NOFILE", soft: 10, hard: 20 }] },
      joins: ["user", "ipc", "mount", "pid"],
      capLastCap: 40,
      v1Cgroups: ["/sys/fs/cgroup/cpu/berth/c1"],
    });
    expect(plan.join).toEqual([
      { type: "user", flag: 0x10000000 },
      { type: "ipc", flag: 0x08000000 },
      { type: "mount", flag: 0x00020000 },
      { type: "pid", flag: 0x20000000 },
    ]);
    expect(plan.cgroupProcs).toEqual(["/sys/fs/cgroup/cpu/berth/c1/tasks"]);
    expect(plan.waitsForParent).toBe(false);
    const names = plan.ops.map((o) => o.op);
    for (const op of ["setns", "joinCgroup", "waitParent", "ready", "waitStart"]) expect(names).not.toContain(op);
    expect(names.indexOf("setrlimit")).toBeLessThan(names.indexOf("capset"));
    expect(names[names.length - 1]).toBe("exec");
  });

  test("seccomp: before the caps drop without no_new_privs, after noNewPrivs with it", () => {
    const seccomp = { bpf: new Uint8Array(8), flags: 0 };
    const without = buildExecPlan({ process: base, joins: [], seccomp, capLastCap: 40, v1Cgroups: [] }).ops.map((o) => o.op);
    expect(without.indexOf("seccompLoad")).toBeLessThan(without.indexOf("setresuid"));
    const withNnp = buildExecPlan({
      process: { ...base, noNewPrivileges: true },
      joins: [],
      seccomp,
      capLastCap: 40,
      v1Cgroups: [],
    }).ops.map((o) => o.op);
    expect(withNnp.indexOf("seccompLoad")).toBe(withNnp.indexOf("noNewPrivs") + 1);
  });

  test("a container sharing the host's mount namespace: chroot to its init's root first", () => {
    const plan = buildExecPlan({
      process: { ...base, terminal: true },
      joins: ["ipc"],
      capLastCap: 40,
      root: "/proc/77/root",
      v1Cgroups: ["/sys/fs/cgroup/cpu/berth/c1"],
    });
    expect(plan.ops.slice(0, 2).map((o) => [o.op, o.args])).toEqual([
      ["chroot", ["/proc/77/root"]],
      ["openPty", [0, 0, 0]],
    ]);
    expect(buildExecPlan({ process: base, joins: ["mount"], capLastCap: 40, v1Cgroups: [] }).ops.map((o) => o.op)).not.toContain("chroot");
  });

  test("the cgroups: the launch's child writes itself in (with a user namespace too), unless the container is paused: then the parent moves berth-init and acks", () => {
    const v1Cgroups = ["/sys/fs/cgroup/cpu/berth/c1", "/sys/fs/cgroup/memory/berth/c1"];
    const userns = buildExecPlan({ process: base, joins: ["user", "ipc"], capLastCap: 40, v1Cgroups });
    expect(userns.waitsForParent).toBe(false);
    expect(userns.cgroupProcs).toEqual(["/sys/fs/cgroup/cpu/berth/c1/tasks", "/sys/fs/cgroup/memory/berth/c1/tasks"]);
    const paused = buildExecPlan({ process: base, joins: ["user", "ipc"], capLastCap: 40, v1Cgroups, parentJoins: true });
    expect(paused.waitsForParent).toBe(true);
    expect(paused.cgroupProcs).toEqual([]);
    expect(paused.ops[0]!.op).toBe("waitParent");
  });

  test("a cgroup2 directory create did not make is joined through cgroup.procs, after the v1 ones", () => {
    const plan = buildExecPlan({
      process: base,
      joins: [],
      capLastCap: 40,
      v1Cgroups: ["/sys/fs/cgroup/cpu/berth/c1"],
      unifiedCgroup: "/sys/fs/cgroup/unified/shared",
    });
    expect(plan.cgroupProcs).toEqual(["/sys/fs/cgroup/cpu/berth/c1/tasks", "/sys/fs/cgroup/unified/shared/cgroup.procs"]);
  });

  test("the default PATH is added when env has none", () => {
    const plan = buildExecPlan({ process: { ...base, env: ["A=1"] }, joins: [], capLastCap: 40, v1Cgroups: [] });
    expect(plan.ops[plan.ops.length - 1]!.args[2]).toEqual(["A=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
  });
});
