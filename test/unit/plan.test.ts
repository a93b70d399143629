/**
 * The plan builder as a table: config in, ops out (names, arguments and the config field each
 * came from). These are the decisions berth-init will execute; reading them is reading the
 * container's setup strace.
 */
import {
  buildPlan,
  CLONE,
  encodePlan,
  hostProblems,
  MS,
  parseMountOptions,
  PlanError,
  type HostFacts,
  type PlanInput,
} from "../../src/plan";
import type { Spec } from "../../src/spec";
import { planInput } from "../helpers/plan-input";

// A hybrid host, like this one.
const input = (mutate?: (s: Spec) => void, extra: Partial<PlanInput> = {}): PlanInput =>
  planInput(mutate, {
    cgroup: {
      mode: "hybrid",
      hierarchies: [
        { name: "cpu", mountPoint: "/sys/fs/cgroup/cpu", data: "cpu" },
        { name: "systemd", mountPoint: "/sys/fs/cgroup/systemd", data: "none,name=systemd" },
      ],
      v2Mount: "/sys/fs/cgroup/unified",
      path: "/berth/c1",
      intoUnified: true,
    },
    ...extra,
  });

const names = (p: ReturnType<typeof buildPlan>) => p.ops.map((o) => o.op);

test("the default spec: namespaces by clone3, rootfs bind, mounts, devices, pivot, user, exec", () => {
  const plan = buildPlan(input());
  expect(plan.cloneFlags).toBe(CLONE.NEWPID | CLONE.NEWNET | CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS);
  expect(plan.userns).toBeUndefined();
  const ops = names(plan);
  // First of all berth-init moves itself into its v1 cgroups (clone3 placed it in the v2 one).
  expect(plan.ops.slice(0, 2)).toEqual([
    { op: "joinCgroup", args: ["/sys/fs/cgroup/cpu/berth/c1/tasks"], origin: "linux.cgroupsPath" },
    { op: "joinCgroup", args: ["/sys/fs/cgroup/systemd/berth/c1/tasks"], origin: "linux.cgroupsPath" },
  ]);
  expect(plan.cgroupJoin).toBe("child");
  expect(plan.waitsForParent).toBe(false);
  expect(ops.slice(2, 4)).toEqual(["mountPropagation", "mount"]);
  expect(plan.ops[2]).toEqual({ op: "mountPropagation", args: ["/", MS.REC | MS.SLAVE], origin: "linux.rootfsPropagation" });
  expect(plan.ops[3]).toEqual({ op: "mount", args: ["/b/rootfs", "/", "", MS.BIND | MS.REC, ""], origin: "root.path" });
  // pivot before hostname, sysctls, masks; masks before the read-only root; exec last.
  const at = (op: string) => ops.indexOf(op as never);
  expect(at("pivotRoot")).toBeLessThan(at("sethostname"));
  expect(at("maskPath")).toBeGreaterThan(at("pivotRoot"));
  expect(at("remountRoot")).toBeGreaterThan(ops.lastIndexOf("readonlyPath"));
  expect(at("setresuid")).toBeGreaterThan(at("setresgid"));
  expect(at("capset")).toBeGreaterThan(at("setresuid"));
  expect(ops.slice(-4)).toEqual(["noNewPrivs", "ready", "waitStart", "exec"]);
  expect(plan.ops.at(-1)).toEqual({
    op: "exec",
    args: ["sh", ["sh"], ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]],
    origin: "process.args",
  });
  expect(plan.ops.find((o) => o.op === "waitStart")!.args).toEqual([3]);
});

test("--systemd-cgroup: the first op waits for the parent (its ack comes once systemd has started the scope unit)", () => {
  const plan = buildPlan(input(undefined, { systemdCgroup: true }));
  expect(plan.ops[0]).toEqual({ op: "waitParent", args: [], origin: "(runtime: --systemd-cgroup scope unit)" });
  // The parent joins the cgroups (before it hands the process to systemd); nothing else moves.
  expect(plan.cgroupJoin).toBe("parent");
  expect(plan.waitsForParent).toBe(true);
  expect(plan.ops.slice(1)).toEqual(buildPlan(input()).ops.filter((o) => o.op !== "joinCgroup"));
  expect(names(buildPlan(input()))).not.toContain("waitParent");
});

describe("cgroups: who joins them, and when a new cgroup namespace is made", () => {
  const cgroupns = (s: Spec) => s.linux!.namespaces!.push({ type: "cgroup" });
  const userns = (s: Spec) => {
    s.linux!.namespaces!.push({ type: "user" });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  const head = (p: ReturnType<typeof buildPlan>) =>
    p.ops
      .slice(
        0,
        p.ops.findIndex((o) => o.op === "mountPropagation"),
      )
      .map((o) => [o.op, ...o.args].join(" "));

  test("hybrid host, new cgroup namespace: berth-init joins the v1 cgroups, then unshares it (not cloned: it would be rooted at the caller's)", () => {
    const plan = buildPlan(input(cgroupns));
    expect(plan.cloneFlags & CLONE.NEWCGROUP).toBe(0);
    expect(head(plan)).toEqual([
      "joinCgroup /sys/fs/cgroup/cpu/berth/c1/tasks",
      "joinCgroup /sys/fs/cgroup/systemd/berth/c1/tasks",
      "unshareCgroup",
    ]);
    expect(plan.ops[2]!.origin).toBe("linux.namespaces[5]");
  });

  test("pure v2 host, cloned into a cgroup create made: nothing to join, the namespace is cloned", () => {
    const v2 = { cgroup: { mode: "unified" as const, hierarchies: [], v2Mount: "/sys/fs/cgroup", path: "/berth/c1", intoUnified: true } };
    const plan = buildPlan(input(cgroupns, v2));
    expect(plan.cloneFlags & CLONE.NEWCGROUP).toBe(CLONE.NEWCGROUP);
    expect(head(plan)).toEqual([]);
    // A cgroup2 directory that was there before: berth-init moves itself in, then unshares.
    const before = buildPlan(input(cgroupns, { cgroup: { ...v2.cgroup, intoUnified: false } }));
    expect(before.cloneFlags & CLONE.NEWCGROUP).toBe(0);
    expect(head(before)).toEqual(["joinCgroup /sys/fs/cgroup/berth/c1/cgroup.procs", "unshareCgroup"]);
  });

  test("a new user namespace: the parent joins (the maps it writes next hold berth-init back), the namespace comes first", () => {
    const plan = buildPlan(input((s) => (userns(s), cgroupns(s))));
    expect(plan.cgroupJoin).toBe("parent");
    expect(plan.waitsForParent).toBe(false);
    expect(plan.cloneFlags & CLONE.NEWCGROUP).toBe(0);
    expect(head(plan)).toEqual(["unshareCgroup"]);
    expect(buildPlan(input(userns)).ops.some((o) => o.op === "joinCgroup" || o.op === "unshareCgroup")).toBe(false);
  });

  test("a joined user namespace: the parent joins and acks before the namespace is made", () => {
    const plan = buildPlan(input((s) => (s.linux!.namespaces!.push({ type: "user", path: "/proc/9/ns/user" }), cgroupns(s))));
    expect(plan.cgroupJoin).toBe("parent");
    expect(plan.waitsForParent).toBe(true);
    expect(head(plan)).toEqual(["waitParent", "unshareCgroup"]);
  });
});

test("each mount becomes mkdir + mount with its flags and data, located at mounts[i]; proc and sysfs one mountNoFollow", () => {
  const plan = buildPlan(input());
  const devpts = plan.ops.filter((o) => o.origin === "mounts[2]");
  expect(devpts).toEqual([
    { op: "mkdirInRoot", args: ["/dev/pts", 0o755, 0], origin: "mounts[2]" },
    // Not a kernel view, tmpfs or mqueue: its target must not resolve into /proc (as runc).
    { op: "guardProcTarget", args: [], origin: "mounts[2]" },
    {
      op: "mount",
      args: ["devpts", "/dev/pts", "devpts", MS.NOSUID | MS.NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"],
      origin: "mounts[2]",
    },
  ]);
  // CVE-2019-19921: no mkdirInRoot (it follows symlinks in the root); mountNoFollow makes the
  // directory itself and refuses a symlink.
  const sysfs = plan.ops.filter((o) => o.origin === "mounts[5]");
  expect(sysfs).toEqual([
    { op: "mountNoFollow", args: ["sysfs", "/sys", "sysfs", MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY, ""], origin: "mounts[5]" },
  ]);
  expect(plan.ops.filter((o) => o.origin === "mounts[0]")).toEqual([
    { op: "mountNoFollow", args: ["proc", "/proc", "proc", 0, ""], origin: "mounts[0]" },
  ]);
});

test("a read-only bind mount is a bind and then a remount; rro is mount_setattr; propagation separate", () => {
  const plan = buildPlan(
    input(
      (s) => s.mounts!.push({ destination: "data", source: "vol", type: "bind", options: ["rbind", "ro", "nosuid", "rprivate", "rro"] }),
      { bindSourceIsFile: (i) => i === 7 },
    ),
  );
  expect(plan.ops.filter((o) => o.origin === "mounts[7]")).toEqual([
    { op: "mkdirInRoot", args: ["/data", 0o755, 1], origin: "mounts[7]" },
    { op: "guardProcTarget", args: [], origin: "mounts[7]" },
    { op: "mount", args: ["/b/vol", "/data", "", MS.BIND | MS.REC, ""], origin: "mounts[7]" },
    { op: "mount", args: ["", "/data", "", MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID, ""], origin: "mounts[7]" },
    { op: "mount", args: ["", "/data", "", MS.PRIVATE | MS.REC, ""], origin: "mounts[7]" },
    { op: "mountSetattr", args: ["/data", 0x1, 0, 1], origin: "mounts[7]" },
  ]);
});

test("cgroup mounts: the container's own directories bound on a tmpfs (hybrid), fresh mounts in a cgroup namespace", () => {
  const hybrid = buildPlan(input()).ops.filter((o) => o.origin === "mounts[6]" && o.op === "mount");
  expect(hybrid.map((o) => o.args.slice(0, 3))).toEqual([
    ["tmpfs", "/sys/fs/cgroup", "tmpfs"],
    ["/sys/fs/cgroup/cpu/berth/c1", "/sys/fs/cgroup/cpu", ""],
    ["", "/sys/fs/cgroup/cpu", ""],
    ["/sys/fs/cgroup/systemd/berth/c1", "/sys/fs/cgroup/systemd", ""],
    ["", "/sys/fs/cgroup/systemd", ""],
    ["/sys/fs/cgroup/unified/berth/c1", "/sys/fs/cgroup/unified", ""],
    ["", "/sys/fs/cgroup/unified", ""],
    ["", "/sys/fs/cgroup", ""],
  ]);
  const ro = MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RELATIME | MS.RDONLY;
  const withNs = buildPlan(input((s) => s.linux!.namespaces!.push({ type: "cgroup" }))).ops.filter(
    (o) => o.origin === "mounts[6]" && o.op === "mount",
  );
  expect(withNs[1]).toEqual({ op: "mount", args: ["cgroup", "/sys/fs/cgroup/cpu", "cgroup", ro, "cpu"], origin: "mounts[6]" });
  const unified = buildPlan(
    input((s) => s.linux!.namespaces!.push({ type: "cgroup" }), {
      cgroup: { mode: "unified", hierarchies: [], v2Mount: "/sys/fs/cgroup", path: "/berth/c1" },
    }),
  ).ops.filter((o) => o.origin === "mounts[6]" && o.op === "mount");
  expect(unified).toEqual([{ op: "mount", args: ["cgroup2", "/sys/fs/cgroup", "cgroup2", ro, ""], origin: "mounts[6]" }]);
});

test("devices: defaults by mknod, linux.devices override, binds in a user namespace", () => {
  const plan = buildPlan(
    input(
      (s) =>
        (s.linux!.devices = [
          { type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o600 },
          { type: "b", path: "/dev/loop9", major: 7, minor: 9 },
        ]),
    ),
  );
  const mknods = plan.ops.filter((o) => o.op === "mknod");
  expect(mknods.map((o) => [o.args[0], o.origin])).toEqual([
    ["/dev/null", "linux.devices[0]"],
    ["/dev/zero", "(default devices)"],
    ["/dev/full", "(default devices)"],
    ["/dev/random", "(default devices)"],
    ["/dev/urandom", "(default devices)"],
    ["/dev/tty", "(default devices)"],
    ["/dev/loop9", "linux.devices[1]"],
  ]);
  // The last argument: a default device keeps what the rootfs has there; linux.devices must match.
  expect(mknods[0]!.args).toEqual(["/dev/null", 0o020000 | 0o600, (1 << 8) | 3, 0, 0, 0]);
  expect(mknods[1]!.args).toEqual(["/dev/zero", 0o020000 | 0o666, (1 << 8) | 5, 0, 0, 1]);
  expect(mknods[6]!.args[1]).toBe(0o060000 | 0o666);

  const userns = buildPlan(
    input((s) => {
      s.linux!.namespaces!.push({ type: "user" });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }),
  );
  // The maps are written before berth-init runs (the launch waits for them), not by an op.
  expect(userns.ops.some((o) => o.op === "waitParent")).toBe(false);
  expect(userns.ops.some((o) => o.op === "mknod")).toBe(false);
  expect(userns.ops.filter((o) => o.origin === "(default devices)" && o.op === "mount")[0]!.args).toEqual([
    "/dev/null",
    "/dev/null",
    "",
    MS.BIND,
    "",
  ]);
  expect(userns.userns).toEqual({
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
  });
});

test("joined namespaces: setns with the fd the parent placed; pid is joined around clone3", () => {
  const plan = buildPlan(
    input(
      (s) => {
        s.linux!.namespaces = [
          { type: "mount" },
          { type: "network", path: "/run/netns/n1" },
          { type: "pid", path: "/proc/1/ns/pid" },
          { type: "uts" },
        ];
      },
      { fds: { fifo: 3, namespaces: { network: 4 } } },
    ),
  );
  expect(plan.cloneFlags).toBe(CLONE.NEWNS | CLONE.NEWUTS);
  // Right after the cgroup joins.
  expect(plan.ops[2]).toEqual({ op: "setns", args: [4, CLONE.NEWNET], origin: "linux.namespaces[1]" });
  expect(plan.joins.map((j) => j.type)).toEqual(["network", "pid"]);
});

test("a capability this kernel lacks is a warning at its field, and the plan leaves it out (config.md 1.1+: SHOULD NOT fail)", () => {
  const withRestore = (s: Spec) => {
    s.process!.capabilities!.bounding!.push("CAP_CHECKPOINT_RESTORE");
    s.process!.capabilities!.permitted!.push("CAP_CHECKPOINT_RESTORE");
  };
  const facts = {
    namespaces: { mount: true, network: true, pid: true, ipc: true, uts: true },
    cgroup: { mode: "unified", controllers: [] },
    seccomp: { enabled: true, actions: [], flags: [], unknownSyscalls: () => [] },
    capLastCap: 39,
    rlimits: {},
  } as unknown as HostFacts;
  const spec = input(withRestore).spec;
  expect(hostProblems(spec, facts)).toEqual([
    {
      field: "process.capabilities.bounding[3]",
      value: "CAP_CHECKPOINT_RESTORE",
      reason: "this kernel knows capabilities up to 39, and this is 40: skipped",
      severity: "warning",
    },
    {
      field: "process.capabilities.permitted[3]",
      value: "CAP_CHECKPOINT_RESTORE",
      reason: "this kernel knows capabilities up to 39, and this is 40: skipped",
      severity: "warning",
    },
  ]);
  expect(hostProblems(spec, { ...facts, capLastCap: 40 })).toEqual([]);
  const mask = (1n << 29n) | (1n << 5n) | (1n << 10n); // AUDIT_WRITE, KILL, NET_BIND_SERVICE
  const old = buildPlan(input(withRestore, { capLastCap: 39 })).ops.find((o) => o.op === "capBounding");
  expect(old?.args).toEqual([mask]);
  const current = buildPlan(input(withRestore, { capLastCap: 40 })).ops.find((o) => o.op === "capBounding");
  expect(current?.args).toEqual([mask | (1n << 40n)]);
});

test("capabilities become masks; the user's ids and groups in order; rlimits by number", () => {
  const plan = buildPlan(
    input((s) => {
      s.process!.user = { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o077 };
      s.process!.rlimits = [{ type: "RLIMIT_NPROC", soft: 10, hard: 20 }];
    }),
  );
  const byOp = Object.fromEntries(plan.ops.map((o) => [o.op, o.args]));
  const mask = (1n << 29n) | (1n << 5n) | (1n << 10n); // AUDIT_WRITE, KILL, NET_BIND_SERVICE
  expect(byOp.capBounding).toEqual([mask]);
  expect(byOp.capset).toEqual([mask, mask, 0n]);
  // Ambient needs inheritable too (prctl(2)); runc's default spec has none, so none is raised,
  // as with runc. With inheritable set, the ambient set is raised.
  expect(byOp.capAmbient).toBeUndefined();
  const withInh = buildPlan(input((s) => (s.process!.capabilities!.inheritable = [...s.process!.capabilities!.ambient!])));
  expect(withInh.ops.find((o) => o.op === "capAmbient")?.args).toEqual([mask]);
  expect(byOp.setgroups).toEqual([[5, 6]]);
  expect(byOp.setresgid).toEqual([100]);
  expect(byOp.setresuid).toEqual([1000]);
  expect(byOp.umask).toEqual([0o077]);
  expect(byOp.setrlimit).toEqual([6, 10, 20]);
});

test("seccomp loads last with no_new_privs, before dropping capabilities without it", () => {
  const seccomp = { bpf: new Uint8Array(8), flags: 0 };
  const nnp = names(buildPlan(input(undefined, { seccomp })));
  expect(nnp.slice(-5)).toEqual(["noNewPrivs", "seccompLoad", "ready", "waitStart", "exec"]);
  const noNnp = names(buildPlan(input((s) => (s.process!.noNewPrivileges = false), { seccomp })));
  expect(noNnp.indexOf("seccompLoad")).toBeLessThan(noNnp.indexOf("capBounding"));
});

test("a listener-yielding filter is followed at once by seccompListener, from listenerPath", () => {
  const seccomp = { bpf: new Uint8Array(8), flags: 8, listener: true };
  for (const nnp of [true, false]) {
    const plan = buildPlan(input((s) => (s.process!.noNewPrivileges = nnp), { seccomp }));
    const i = plan.ops.findIndex((o) => o.op === "seccompLoad");
    expect(plan.ops[i + 1]).toEqual({ op: "seccompListener", args: [], origin: "linux.seccomp.listenerPath" });
  }
  expect(names(buildPlan(input(undefined, { seccomp: { bpf: new Uint8Array(8), flags: 0 } })))).not.toContain("seccompListener");
});

test("process.cwd is created in the root before the pivot (runc creates a missing cwd)", () => {
  const plan = buildPlan(input((s) => (s.process!.cwd = "/work//dir/")));
  const mk = plan.ops.findIndex((o) => o.origin === "process.cwd" && o.op === "mkdirInRoot");
  expect(plan.ops[mk]!.args).toEqual(["/work/dir", 0o755, 0]);
  expect(mk).toBeLessThan(plan.ops.findIndex((o) => o.op === "pivotRoot"));
  expect(plan.ops.find((o) => o.op === "chdir")!.args).toEqual(["/work//dir/"]);
  expect(buildPlan(input((s) => (s.process!.cwd = "/"))).ops.some((o) => o.origin === "process.cwd" && o.op === "mkdirInRoot")).toBe(false);
});

test("--no-pivot chroots; rootfsPropagation is applied to the new / after the pivot (r forms recursively)", () => {
  // The host's procfs and sysfs leave the namespace right before the move (after the
  // createContainer hooks, which run in the host's root).
  const noPivot = names(buildPlan(input((s) => (s.hooks = { createContainer: [{ path: "/bin/true" }] }), { noPivot: true })));
  expect(noPivot.slice(noPivot.indexOf("runHook"), noPivot.indexOf("chrootNoPivot") + 1)).toEqual([
    "runHook",
    "hideHostProcfs",
    "chrootNoPivot",
  ]);
  expect(names(buildPlan(input()))).not.toContain("hideHostProcfs");
  const after = (p: string) => {
    const plan = buildPlan(input((s) => (s.linux!.rootfsPropagation = p)));
    return {
      before: plan.ops.find((o) => o.op === "mountPropagation")!.args,
      after: plan.ops
        .slice(plan.ops.findIndex((o) => o.op === "pivotRoot"))
        .filter((o) => o.op === "mountPropagation")
        .map((o) => o.args),
    };
  };
  // Before the pivot the host view is made rslave (rprivate if asked): never shared, never
  // unbindable (the rootfs bind would fail).
  expect(after("shared")).toEqual({ before: ["/", MS.REC | MS.SLAVE], after: [["/", MS.SHARED]] });
  expect(after("rshared")).toEqual({ before: ["/", MS.REC | MS.SLAVE], after: [["/", MS.REC | MS.SHARED]] });
  expect(after("unbindable")).toEqual({ before: ["/", MS.REC | MS.SLAVE], after: [["/", MS.UNBINDABLE]] });
  expect(after("rprivate")).toEqual({ before: ["/", MS.REC | MS.PRIVATE], after: [["/", MS.REC | MS.PRIVATE]] });
  expect(after("slave").after).toEqual([["/", MS.SLAVE]]);
  // After every bind of the plan (masked paths bind /dev/null): unbindable would break them.
  const plan = buildPlan(input((s) => (s.linux!.rootfsPropagation = "runbindable")));
  const names_ = plan.ops.map((o) => o.op);
  expect(names_.lastIndexOf("mountPropagation")).toBeGreaterThan(
    Math.max(names_.lastIndexOf("maskPath"), names_.lastIndexOf("readonlyPath"), names_.lastIndexOf("remountRoot")),
  );
  const none = buildPlan(input((s) => delete s.linux!.rootfsPropagation));
  expect(none.ops.filter((o) => o.op === "mountPropagation")).toEqual([
    { op: "mountPropagation", args: ["/", MS.REC | MS.SLAVE], origin: "linux.rootfsPropagation" },
  ]);
  expect(() => buildPlan(input((s) => (s.linux!.rootfsPropagation = "sideways")))).toThrow(PlanError);
});

test("no mount namespace: no propagation change or rootfs bind in the host's table, chroot instead of pivot_root", () => {
  const shared = (s: Spec) => {
    s.linux!.namespaces = [{ type: "pid" }];
    delete s.linux!.maskedPaths;
    delete s.linux!.readonlyPaths;
    delete s.linux!.rootfsPropagation;
    s.root!.readonly = false;
  };
  const plan = buildPlan(input(shared));
  const names_ = plan.ops.map((o) => o.op);
  expect(names_).not.toContain("mountPropagation");
  expect(names_).not.toContain("pivotRoot");
  expect(plan.ops.filter((o) => o.op === "mount" && o.args[1] === "/")).toEqual([]);
  expect(plan.ops.find((o) => o.op === "chroot")).toEqual({
    op: "chroot",
    args: [plan.ops.find((o) => o.op === "chroot")!.args[0]],
    origin: "root.path (no mount namespace)",
  });
  expect(names_.indexOf("chroot")).toBeGreaterThan(names_.lastIndexOf("mount"));
  // What needs a private mount table is refused, at its field.
  const refused = (mutate: (s: Spec) => void) => {
    try {
      buildPlan(input((s) => (shared(s), mutate(s))));
    } catch (err) {
      return (err as PlanError).field;
    }
    return "accepted";
  };
  expect(refused((s) => (s.linux!.maskedPaths = ["/proc/kcore"]))).toBe("linux.maskedPaths");
  expect(refused((s) => (s.linux!.readonlyPaths = ["/proc/sys"]))).toBe("linux.readonlyPaths");
  expect(refused((s) => (s.root!.readonly = true))).toBe("root.readonly");
  expect(refused((s) => (s.linux!.rootfsPropagation = "shared"))).toBe("linux.rootfsPropagation");
  expect(refused(() => undefined)).toBe("accepted");
});

test("parseMountOptions: flags, clears, data, propagation, recursive attributes", () => {
  expect(parseMountOptions(["ro", "rw", "nosuid", "size=64k", "mode=755", "rshared", "rnoexec"])).toEqual({
    flags: MS.NOSUID,
    data: ["size=64k", "mode=755"],
    propagation: [MS.SHARED | MS.REC],
    recSet: 0x8,
    recClr: 0,
    bind: false,
    recursive: false,
  });
});

test("plans encode: header, op count, and a NUL in a string is refused", () => {
  const plan = buildPlan(input());
  const buf = encodePlan(plan.ops);
  expect(buf.readUInt32LE(0)).toBe(0x48545242);
  expect(buf.readUInt16LE(4)).toBe(2);
  expect(buf.readUInt32LE(8)).toBe(plan.ops.length);
  expect(buf.readUInt32LE(12)).toBe(buf.length);
  expect(() => encodePlan([{ op: "sethostname", args: ["a\u0000b"], origin: "hostname" }])).toThrow(/NUL/);
});

test("a new time namespace is unshared by berth-init with its offsets, not cloned", () => {
  const plan = buildPlan(
    input((s) => {
      s.linux!.namespaces!.push({ type: "time" });
      s.linux!.timeOffsets = { monotonic: { secs: 10, nanosecs: 5 }, boottime: { secs: -2 } };
    }),
  );
  expect(plan.cloneFlags & CLONE.NEWTIME).toBe(0);
  expect(plan.ops.filter((o) => o.op === "unshareTime")).toEqual([
    { op: "unshareTime", args: [10, 5, -2, 0], origin: "linux.timeOffsets" },
  ]);
  const noOffsets = buildPlan(input((s) => s.linux!.namespaces!.push({ type: "time" })));
  expect(noOffsets.ops.find((o) => o.op === "unshareTime")).toMatchObject({ args: [0, 0, 0, 0], origin: "linux.namespaces[5]" });
});

test("a joined user namespace is entered by the launch: no setns op, devices are bind-mounted", () => {
  const plan = buildPlan(
    input((s) => s.linux!.namespaces!.push({ type: "user", path: "/proc/1/ns/user" }), { fds: { fifo: 3, namespaces: {} } }),
  );
  expect(plan.joins).toEqual([{ type: "user", path: "/proc/1/ns/user", origin: "linux.namespaces[5]" }]);
  expect(plan.ops.some((o) => o.op === "setns" || o.op === "mknod")).toBe(false);
  expect(plan.cloneFlags & CLONE.NEWUSER).toBe(0);
});

test("LSM labels: the exec label ops before the credentials, and mountLabel on the filesystems berth makes", () => {
  const plan = buildPlan(
    input(
      (s) => {
        s.process!.apparmorProfile = "berth-default";
        s.process!.selinuxLabel = "system_u:system_r:container_t:s0";
        s.linux!.mountLabel = "system_u:object_r:container_file_t:s0";
      },
      { selinux: true },
    ),
  );
  const labels = plan.ops.filter((o) => o.op === "setExecLabel");
  expect(labels).toEqual([
    { op: "setExecLabel", args: ["apparmor", "exec berth-default"], origin: "process.apparmorProfile" },
    { op: "setExecLabel", args: ["selinux", "system_u:system_r:container_t:s0"], origin: "process.selinuxLabel" },
  ]);
  expect(plan.ops.indexOf(labels[1]!)).toBeLessThan(plan.ops.findIndex((o) => o.op === "setresuid"));
  const shm = plan.ops.find((o) => o.op === "mount" && o.args[1] === "/dev/shm")!;
  expect(String(shm.args[4])).toContain('context="system_u:object_r:container_file_t:s0"');
  const proc = plan.ops.find((o) => o.op === "mountNoFollow" && o.args[1] === "/proc")!;
  expect(String(proc.args[4])).not.toContain("context=");
  // Without SELinux there is nothing to label: no context= (the host check warns).
  const plain = buildPlan(input((s) => (s.linux!.mountLabel = "system_u:object_r:container_file_t:s0")));
  expect(plain.ops.some((o) => o.op === "mount" && String(o.args[4]).includes("context="))).toBe(false);
});
