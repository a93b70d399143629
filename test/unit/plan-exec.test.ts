/** buildExecPlan and execJoins as tables: facts in, ops out. */
import { buildExecPlan, execJoins, type NamespaceFact } from "../../src/plan";
import type { Process } from "../../src/spec";

const base: Process = { user: { uid: 0, gid: 0 }, cwd: "/", args: ["sh"], env: ["PATH=/bin"] };

describe("execJoins", () => {
  test("joins each namespace the init does not share with us, user first, pid second, mount last", () => {
    const facts: NamespaceFact[] = [
      { type: "mount", container: "1:10", own: "1:1" },
      { type: "network", container: "1:2", own: "1:2" },
      { type: "uts", container: "1:11", own: "1:3" },
      { type: "pid", container: "1:12", own: "1:4" },
      { type: "user", container: "1:13", own: "1:5" },
      { type: "time", container: undefined, own: "1:6" },
      { type: "cgroup", container: "1:14", own: "1:7" },
    ];
    expect(execJoins(facts)).toEqual(["user", "pid", "uts", "cgroup", "mount"]);
  });
});

describe("buildExecPlan", () => {
  test("waits for the v1 placement, setns before the process attributes, no ready/waitStart, ends in exec", () => {
    const plan = buildExecPlan({ process: { ...base, rlimits: [{ type: "RLIMIT_NOFILE", soft: 10, hard: 20 }] }, joins: ["user", "pid", "ipc", "mount"], fds: { ipc: 3, mount: 4 }, capLastCap: 40, v1Cgroups: [] });
    const names = plan.ops.map((o) => o.op);
    expect(names[0]).toBe("waitParent");
    expect(plan.ops.slice(1, 3)).toEqual([
      { op: "setns", args: [3, 0x08000000], origin: "(container: ipc namespace)" },
      { op: "setns", args: [4, 0x00020000], origin: "(container: mount namespace)" },
    ]);
    expect(names).not.toContain("ready");
    expect(names).not.toContain("waitStart");
    expect(names.indexOf("setrlimit")).toBeGreaterThan(names.lastIndexOf("setns"));
    expect(names.indexOf("setrlimit")).toBeLessThan(names.indexOf("capset"));
    expect(names[names.length - 1]).toBe("exec");
    expect(plan.joinUser).toBe(true);
    expect(plan.joinPid).toBe(true);
  });

  test("seccomp: before the caps drop without no_new_privs, after noNewPrivs with it", () => {
    const seccomp = { bpf: new Uint8Array(8), flags: 0 };
    const without = buildExecPlan({ process: base, joins: [], fds: {}, seccomp, capLastCap: 40, v1Cgroups: [] }).ops.map((o) => o.op);
    expect(without.indexOf("seccompLoad")).toBeLessThan(without.indexOf("setresuid"));
    const withNnp = buildExecPlan({ process: { ...base, noNewPrivileges: true }, joins: [], fds: {}, seccomp, capLastCap: 40, v1Cgroups: [] }).ops.map((o) => o.op);
    expect(withNnp.indexOf("seccompLoad")).toBe(withNnp.indexOf("noNewPrivs") + 1);
  });

  test("a container sharing the host's mount namespace: chroot to its init's root right after the setns ops", () => {
    const plan = buildExecPlan({ process: { ...base, terminal: true }, joins: ["ipc"], fds: { ipc: 3 }, capLastCap: 40, root: "/proc/77/root", v1Cgroups: ["/sys/fs/cgroup/cpu/berth/c1"] });
    expect(plan.ops.slice(0, 4).map((o) => [o.op, o.args])).toEqual([
      ["joinCgroup", ["/sys/fs/cgroup/cpu/berth/c1/tasks"]],
      ["setns", [3, 0x08000000]],
      ["chroot", ["/proc/77/root"]],
      ["openPty", [0, 0, 0]],
    ]);
    expect(buildExecPlan({ process: base, joins: ["mount"], fds: { mount: 4 }, capLastCap: 40, v1Cgroups: [] }).ops.map((o) => o.op)).not.toContain("chroot");
  });

  test("the v1 cgroups: the process moves itself in first of all, unless it enters a user namespace (then the parent does, and acks)", () => {
    const v1Cgroups = ["/sys/fs/cgroup/cpu/berth/c1", "/sys/fs/cgroup/memory/berth/c1"];
    const own = buildExecPlan({ process: base, joins: ["ipc"], fds: { ipc: 3 }, capLastCap: 40, v1Cgroups });
    expect(own.waitsForParent).toBe(false);
    expect(own.ops.slice(0, 3).map((o) => [o.op, ...o.args].join(" "))).toEqual(["joinCgroup /sys/fs/cgroup/cpu/berth/c1/tasks", "joinCgroup /sys/fs/cgroup/memory/berth/c1/tasks", "setns 3 134217728"]);
    const userns = buildExecPlan({ process: base, joins: ["user", "ipc"], fds: { ipc: 3 }, capLastCap: 40, v1Cgroups });
    expect(userns.waitsForParent).toBe(true);
    expect(userns.ops[0]!.op).toBe("waitParent");
    expect(userns.ops.some((o) => o.op === "joinCgroup")).toBe(false);
  });

  test("a cgroup2 directory create did not make is joined through cgroup.procs, after the v1 ones", () => {
    const plan = buildExecPlan({ process: base, joins: [], fds: {}, capLastCap: 40, v1Cgroups: ["/sys/fs/cgroup/cpu/berth/c1"], unifiedCgroup: "/sys/fs/cgroup/unified/shared" });
    expect(plan.ops.slice(0, 2).map((o) => [o.op, ...o.args].join(" "))).toEqual(["joinCgroup /sys/fs/cgroup/cpu/berth/c1/tasks", "joinCgroup /sys/fs/cgroup/unified/shared/cgroup.procs"]);
    const paused = buildExecPlan({ process: base, joins: [], fds: {}, capLastCap: 40, v1Cgroups: [], unifiedCgroup: "/sys/fs/cgroup/unified/shared", parentJoins: true });
    expect(paused.ops[0]!.op).toBe("waitParent");
    expect(paused.ops.some((o) => o.op === "joinCgroup")).toBe(false);
  });

  test("a namespace without an fd is a bug, said loudly", () => {
    expect(() => buildExecPlan({ process: base, joins: ["uts"], fds: {}, capLastCap: 40, v1Cgroups: [] })).toThrow(/no fd for the uts namespace/);
  });

  test("the default PATH is added when env has none", () => {
    const plan = buildExecPlan({ process: { ...base, env: ["A=1"] }, joins: [], fds: {}, capLastCap: 40, v1Cgroups: [] });
    expect(plan.ops[plan.ops.length - 1]!.args[2]).toEqual(["A=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
  });
});
