/**
 * Broken configs, each with the exact lines a user sees from `berth create c1` (field path,
 * value, reason). The base is `berth spec`'s default config; each case breaks it one way.
 */
import { defaultSpec, validateConfig } from "../../src/spec";
import { problemsError } from "../../src/errors";

type Cfg = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function base(): Cfg {
  return defaultSpec();
}

function linesFor(mutate: (c: Cfg) => void): string[] {
  const c = base();
  mutate(c);
  const result = validateConfig(c);
  if (result.value) return [];
  return problemsError("create", "c1", result.problems).lines();
}

const P = "berth: create c1: ";
const nsWithout = (c: Cfg, type: string) => {
  c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== type);
};

const cases: [string, (c: Cfg) => void, string[]][] = [
  // ociVersion
  ["ociVersion missing", (c) => delete c.ociVersion, ["ociVersion: is required"]],
  [
    "ociVersion major 2",
    (c) => (c.ociVersion = "2.0.0"),
    ['ociVersion "2.0.0": major version 2 is not supported: berth implements runtime-spec 1.x'],
  ],
  ["ociVersion not semver", (c) => (c.ociVersion = "1.0"), ['ociVersion "1.0": must be a SemVer 2.0.0 version such as 1.3.0']],
  ["ociVersion a number", (c) => (c.ociVersion = 1), ["ociVersion 1: must be a string"]],
  // root
  ["root missing", (c) => delete c.root, ["root: is required on Linux"]],
  ["root.path missing", (c) => delete c.root.path, ["root.path: is required"]],
  ["root.path empty", (c) => (c.root.path = ""), ['root.path "": must not be empty']],
  ["root.readonly a string", (c) => (c.root.readonly = "yes"), ['root.readonly "yes": must be a boolean (true or false)']],
  // mounts
  ["mounts an object", (c) => (c.mounts = {}), ["mounts: must be an array"]],
  ["mount destination missing", (c) => delete c.mounts[3].destination, ["mounts[3].destination: is required"]],
  ["mount destination a number", (c) => (c.mounts[3].destination = 5), ["mounts[3].destination 5: must be a string"]],
  ["mount destination empty", (c) => (c.mounts[3].destination = ""), ['mounts[3].destination "": must not be empty']],
  ["mount options a string", (c) => (c.mounts[0].options = "ro"), ['mounts[0].options "ro": must be an array']],
  ["mount option a number", (c) => (c.mounts[0].options = [1]), ["mounts[0].options[0] 1: must be a string"]],
  [
    "bind mount without source",
    (c) => c.mounts.push({ destination: "/data", type: "bind", options: ["rbind"] }),
    ["mounts[7].source: is required for a bind mount"],
  ],
  [
    "idmapped mount with uid mappings only",
    (c) =>
      c.mounts.push({
        destination: "/data",
        source: "/srv",
        type: "bind",
        options: ["bind"],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      }),
    ["mounts[7].gidMappings: is required with uidMappings (an idmapped mount maps both)"],
  ],
  [
    "idmapped mount mapping without size",
    (c) =>
      c.mounts.push({
        destination: "/data",
        source: "/srv",
        type: "bind",
        options: ["bind"],
        uidMappings: [{ containerID: 0, hostID: 1000 }],
        gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      }),
    ["mounts[7].uidMappings[0].size: is required"],
  ],
  // process
  ["process missing", (c) => delete c.process, ["process: is required to create a container (runtime.md: create fails without it)"]],
  ["cwd relative", (c) => (c.process.cwd = "tmp"), ['process.cwd "tmp": must be an absolute path']],
  ["cwd missing", (c) => delete c.process.cwd, ["process.cwd: is required"]],
  ["args empty", (c) => (c.process.args = []), ["process.args: must have at least one entry (the program to run)"]],
  ["args missing", (c) => delete c.process.args, ["process.args: is required on Linux (the program to run)"]],
  ["args a string", (c) => (c.process.args = "sh"), ['process.args "sh": must be an array']],
  ["user missing", (c) => delete c.process.user, ["process.user: is required on Linux (the uid and gid to run as)"]],
  ["uid negative", (c) => (c.process.user.uid = -1), ["process.user.uid -1: must be >= 0"]],
  ["uid above 32 bits", (c) => (c.process.user.uid = 4294967296), ["process.user.uid 4294967296: must be <= 4294967295"]],
  ["gid a string", (c) => (c.process.user.gid = "0"), ['process.user.gid "0": must be an integer']],
  ["additionalGids of strings", (c) => (c.process.user.additionalGids = ["5"]), ['process.user.additionalGids[0] "5": must be an integer']],
  ["umask negative", (c) => (c.process.user.umask = -2), ["process.user.umask -2: must be >= 0"]],
  ["env an object", (c) => (c.process.env = { PATH: "/bin" }), ["process.env: must be an array"]],
  ["env entry a number", (c) => (c.process.env = [1]), ["process.env[0] 1: must be a string"]],
  ["terminal a string", (c) => (c.process.terminal = "true"), ['process.terminal "true": must be a boolean (true or false)']],
  ["consoleSize without width", (c) => (c.process.consoleSize = { height: 10 }), ["process.consoleSize.width: is required"]],
  [
    "capabilities set a string",
    (c) => (c.process.capabilities.permitted = "CAP_KILL"),
    ['process.capabilities.permitted "CAP_KILL": must be an array'],
  ],
  [
    "unknown rlimit",
    (c) => (c.process.rlimits[0].type = "RLIMIT_FOO"),
    ['process.rlimits[0].type "RLIMIT_FOO": unknown resource limit (expected RLIMIT_NOFILE, RLIMIT_NPROC, ...)'],
  ],
  [
    "rlimit soft above hard",
    (c) => (c.process.rlimits[0].soft = 2048),
    ["process.rlimits[0].soft 2048: must not exceed the hard limit (1024)"],
  ],
  [
    "duplicate rlimit",
    (c) => c.process.rlimits.push({ type: "RLIMIT_NOFILE", soft: 1, hard: 1 }),
    ['process.rlimits[1].type "RLIMIT_NOFILE": is a duplicate of process.rlimits[0]'],
  ],
  ["rlimit without hard", (c) => delete c.process.rlimits[0].hard, ["process.rlimits[0].hard: is required"]],
  ["rlimit soft a string", (c) => (c.process.rlimits[0].soft = "x"), ['process.rlimits[0].soft "x": must be an integer']],
  [
    "noNewPrivileges a string",
    (c) => (c.process.noNewPrivileges = "yes"),
    ['process.noNewPrivileges "yes": must be a boolean (true or false)'],
  ],
  ["oomScoreAdj out of range", (c) => (c.process.oomScoreAdj = 5000), ["process.oomScoreAdj 5000: must be between -1000 and 1000"]],
  ["apparmorProfile a number", (c) => (c.process.apparmorProfile = 5), ["process.apparmorProfile 5: must be a string"]],
  // hostname / domainname
  [
    "hostname without UTS namespace",
    (c) => nsWithout(c, "uts"),
    ['hostname "berth": needs a UTS namespace, and linux.namespaces has none'],
  ],
  ["hostname a number", (c) => (c.hostname = 5), ["hostname 5: must be a string"]],
  [
    "domainname without UTS namespace",
    (c) => (nsWithout(c, "uts"), delete c.hostname, (c.domainname = "example.org")),
    ['domainname "example.org": needs a UTS namespace, and linux.namespaces has none'],
  ],
  // namespaces
  [
    "unknown namespace type",
    (c) => c.linux.namespaces.push({ type: "foo" }),
    ['linux.namespaces[5].type "foo": must be one of pid, network, mount, ipc, uts, user, cgroup, time'],
  ],
  [
    "duplicate namespace",
    (c) => c.linux.namespaces.push({ type: "pid" }),
    ['linux.namespaces[5].type "pid": is a duplicate of linux.namespaces[0]'],
  ],
  [
    "namespace path relative",
    (c) => (c.linux.namespaces[1].path = "proc/1/ns/net"),
    ['linux.namespaces[1].path "proc/1/ns/net": must be an absolute path'],
  ],
  ["namespace without type", (c) => c.linux.namespaces.push({ path: "/proc/1/ns/cgroup" }), ["linux.namespaces[5].type: is required"]],
  ["namespaces an object", (c) => (c.linux.namespaces = { pid: true }), ["linux.namespaces: must be an array"]],
  [
    "user namespace without mappings",
    (c) => c.linux.namespaces.push({ type: "user" }),
    [
      "linux.uidMappings: is required: linux.namespaces[5] creates a user namespace, which needs mappings",
      "linux.gidMappings: is required: linux.namespaces[5] creates a user namespace, which needs mappings",
    ],
  ],
  [
    "mappings without user namespace",
    (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]),
    ["linux.uidMappings: needs a user namespace, and linux.namespaces has none"],
  ],
  [
    "mapping hostID negative",
    (c) => (
      c.linux.namespaces.push({ type: "user" }),
      (c.linux.uidMappings = [{ containerID: 0, hostID: -5, size: 1 }]),
      (c.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }])
    ),
    ["linux.uidMappings[0].hostID -5: must be >= 0"],
  ],
  // sysctl
  [
    "net sysctl without network namespace",
    (c) => (nsWithout(c, "network"), (c.linux.sysctl = { "net.ipv4.ip_forward": "1" })),
    ['linux.sysctl["net.ipv4.ip_forward"] "1": needs a network namespace, and linux.namespaces has none'],
  ],
  [
    "ipc sysctl without ipc namespace",
    (c) => (nsWithout(c, "ipc"), (c.linux.sysctl = { "kernel.shmmax": "1024" })),
    ['linux.sysctl["kernel.shmmax"] "1024": needs a ipc namespace, and linux.namespaces has none'],
  ],
  [
    "sysctl not namespaced",
    (c) => (c.linux.sysctl = { "vm.swappiness": "10" }),
    ['linux.sysctl["vm.swappiness"] "10": is not namespaced: it would change the host, so berth refuses it'],
  ],
  [
    "sysctl kernel.hostname",
    (c) => (c.linux.sysctl = { "kernel.hostname": "x" }),
    ['linux.sysctl["kernel.hostname"] "x": is set through the hostname field, not a sysctl'],
  ],
  [
    "sysctl kernel.domainname without UTS namespace",
    (c) => (nsWithout(c, "uts"), delete c.hostname, (c.linux.sysctl = { "kernel.domainname": "x.org" })),
    ['linux.sysctl["kernel.domainname"] "x.org": needs a uts namespace, and linux.namespaces has none'],
  ],
  [
    "sysctl value a number",
    (c) => (c.linux.sysctl = { "net.ipv4.ip_forward": 1 }),
    ['linux.sysctl["net.ipv4.ip_forward"] 1: must be a string'],
  ],
  // time namespace
  [
    "timeOffsets without time namespace",
    (c) => (c.linux.timeOffsets = { monotonic: { secs: 10 } }),
    ["linux.timeOffsets: needs a time namespace, and linux.namespaces has none"],
  ],
  [
    "timeOffsets on a joined time namespace",
    (c) => (c.linux.namespaces.push({ type: "time", path: "/proc/1/ns/time" }), (c.linux.timeOffsets = { boottime: { secs: 1 } })),
    ["linux.timeOffsets: cannot be set on a joined time namespace (linux.namespaces[5].path)"],
  ],
  // devices
  [
    "device type unknown",
    (c) => (c.linux.devices = [{ type: "x", path: "/dev/x", major: 1, minor: 1 }]),
    ['linux.devices[0].type "x": must be one of c, b, u, p'],
  ],
  [
    "device path relative",
    (c) => (c.linux.devices = [{ type: "c", path: "dev/null", major: 1, minor: 3 }]),
    ['linux.devices[0].path "dev/null": must be an absolute path'],
  ],
  [
    "block device without major",
    (c) => (c.linux.devices = [{ type: "b", path: "/dev/sda", minor: 0 }]),
    ['linux.devices[0].major: is required for device type "b"'],
  ],
  [
    "device fileMode a string",
    (c) => (c.linux.devices = [{ type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: "0666" }]),
    ['linux.devices[0].fileMode "0666": must be an integer'],
  ],
  // masked and readonly paths
  ["masked path relative", (c) => c.linux.maskedPaths.push("proc/kcore"), ['linux.maskedPaths[11] "proc/kcore": must be an absolute path']],
  ["readonly path a number", (c) => c.linux.readonlyPaths.push(5), ["linux.readonlyPaths[5] 5: must be a string"]],
  [
    "rootfsPropagation unknown",
    (c) => (c.linux.rootfsPropagation = "sideways"),
    ['linux.rootfsPropagation "sideways": must be one of shared, slave, private, unbindable, rshared, rslave, rprivate, runbindable'],
  ],
  ["cgroupsPath a number", (c) => (c.linux.cgroupsPath = 5), ["linux.cgroupsPath 5: must be a string"]],
  // resources
  ["memory limit a string", (c) => (c.linux.resources.memory = { limit: "1g" }), ['linux.resources.memory.limit "1g": must be an integer']],
  ["pids limit a string", (c) => (c.linux.resources.pids = { limit: "max" }), ['linux.resources.pids.limit "max": must be an integer']],
  [
    "device rule without allow",
    (c) => (c.linux.resources.devices = [{ access: "rwm" }]),
    ["linux.resources.devices[0].allow: is required"],
  ],
  ["cpu shares negative", (c) => (c.linux.resources.cpu = { shares: -1 }), ["linux.resources.cpu.shares -1: must be >= 0"]],
  [
    "hugepage limit without pageSize",
    (c) => (c.linux.resources.hugepageLimits = [{ limit: 1 }]),
    ["linux.resources.hugepageLimits[0].pageSize: is required"],
  ],
  // seccomp
  [
    "seccomp unknown default action",
    (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_NOPE" }),
    [
      'linux.seccomp.defaultAction "SCMP_ACT_NOPE": must be one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY',
    ],
  ],
  ["seccomp without default action", (c) => (c.linux.seccomp = { syscalls: [] }), ["linux.seccomp.defaultAction: is required"]],
  [
    "seccomp syscall without names",
    (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ action: "SCMP_ACT_ERRNO" }] }),
    ["linux.seccomp.syscalls[0].names: is required"],
  ],
  [
    "seccomp names a string",
    (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: "read", action: "SCMP_ACT_ERRNO" }] }),
    ['linux.seccomp.syscalls[0].names "read": must be an array'],
  ],
  [
    "seccomp unknown arch",
    (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_Z80"] }),
    [
      'linux.seccomp.architectures[0] "SCMP_ARCH_Z80": must be one of SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64, SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64, SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X, SCMP_ARCH_PARISC, SCMP_ARCH_PARISC64, SCMP_ARCH_RISCV64, SCMP_ARCH_LOONGARCH64, SCMP_ARCH_M68K, SCMP_ARCH_SH, SCMP_ARCH_SHEB',
    ],
  ],
  [
    "seccomp unknown operator",
    (c) =>
      (c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 9, op: "SCMP_CMP_ALMOST" }] }],
      }),
    [
      'linux.seccomp.syscalls[0].args[0].op "SCMP_CMP_ALMOST": must be one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ',
    ],
  ],
  [
    "seccomp notify without listener",
    (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mount"], action: "SCMP_ACT_NOTIFY" }] }),
    ["linux.seccomp.listenerPath: is required when an action is SCMP_ACT_NOTIFY"],
  ],
  [
    "seccomp notify on write or sendmsg",
    (c) =>
      (c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: "/run/l.sock",
        syscalls: [
          { names: ["mkdir"], action: "SCMP_ACT_NOTIFY" },
          { names: ["read", "write"], action: "SCMP_ACT_NOTIFY", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
          { names: ["write", "sendmsg"], action: "SCMP_ACT_ERRNO" },
          { names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" },
        ],
      }),
    [
      'linux.seccomp.syscalls[1].action "SCMP_ACT_NOTIFY": cannot be used for the write syscall (names[1]): runc refuses it, as its init reports the listener with write after loading the filter, which could then never reach the agent; berth keeps profiles portable between the two',
      'linux.seccomp.syscalls[3].action "SCMP_ACT_NOTIFY": cannot be used for the sendmsg syscall (names[0]): berth-init hands the listener to berth with sendmsg after the filter is loaded, and would wait forever for an agent that has not received the listener yet',
    ],
  ],
  [
    "seccomp notify as default",
    (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/run/l.sock" }),
    ['linux.seccomp.defaultAction "SCMP_ACT_NOTIFY": cannot be the default action (the supervisor would have to answer every system call)'],
  ],
  // hooks
  [
    "hook path relative",
    (c) => (c.hooks = { prestart: [{ path: "bin/hook" }] }),
    ['hooks.prestart[0].path "bin/hook": must be an absolute path'],
  ],
  [
    "hook timeout zero",
    (c) => (c.hooks = { poststop: [{ path: "/bin/true", timeout: 0 }] }),
    ["hooks.poststop[0].timeout 0: must be >= 1"],
  ],
  ["hook without path", (c) => (c.hooks = { createRuntime: [{ args: ["x"] }] }), ["hooks.createRuntime[0].path: is required"]],
  ["hooks kind not an array", (c) => (c.hooks = { poststart: { path: "/bin/true" } }), ["hooks.poststart: must be an array"]],
  // annotations and others
  ["annotation value a number", (c) => (c.annotations = { "org.example.key": 1 }), ['annotations["org.example.key"] 1: must be a string']],
  [
    "netDevices without network namespace",
    (c) => (nsWithout(c, "network"), (c.linux.netDevices = { eth1: { name: "eth0" } })),
    ["linux.netDevices: needs a network namespace, and linux.namespaces has none"],
  ],
  [
    "personality domain unknown",
    (c) => (c.linux.personality = { domain: "LINUX64" }),
    ['linux.personality.domain "LINUX64": must be one of LINUX, LINUX32'],
  ],
  [
    "scheduler policy unknown",
    (c) => (c.process.scheduler = { policy: "SCHED_FAST" }),
    [
      'process.scheduler.policy "SCHED_FAST": must be one of SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE',
    ],
  ],
  [
    "ioPriority class unknown",
    (c) => (c.process.ioPriority = { class: "IOPRIO_CLASS_FAST", priority: 1 }),
    ['process.ioPriority.class "IOPRIO_CLASS_FAST": must be one of IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE'],
  ],
  ["config is an array", (c) => c.splice?.(0), []],
];

describe("broken configs: every problem, with its field path, value and reason", () => {
  test.each(cases.filter(([, , want]) => want.length > 0))("%s", (_name, mutate, want) => {
    expect(linesFor(mutate)).toEqual(want.map((w) => P + w));
  });

  test("there are at least 60 of them", () => {
    expect(cases.filter(([, , want]) => want.length > 0).length).toBeGreaterThanOrEqual(60);
  });

  test("a document that is not an object", () => {
    const r = validateConfig([1, 2]);
    expect(problemsError("create", "c1", r.problems).lines()).toEqual([P + "config.json: must be an object"]);
  });

  test("five planted mistakes are all reported, in one error", () => {
    const lines = linesFor((c) => {
      c.mounts[3].destination = 5;
      c.process.cwd = "relative";
      c.linux.namespaces.push({ type: "pid" });
      c.process.rlimits[0].soft = 4096;
      c.process.oomScoreAdj = 5000;
    });
    expect(lines).toHaveLength(5);
    expect(lines.map((l) => l.slice(P.length).split(" ")[0]).sort()).toEqual(
      ["linux.namespaces[5].type", "mounts[3].destination", "process.oomScoreAdj", "process.cwd", "process.rlimits[0].soft"].sort(),
    );
  });
});

describe("what stays valid", () => {
  test("the default spec and the rootless one", () => {
    expect(validateConfig(defaultSpec()).problems).toEqual([]);
    expect(validateConfig(defaultSpec({ rootless: true, uid: 1000, gid: 1000 })).problems).toEqual([]);
  });

  test("a relative mount destination is a warning, not an error (config.md: deprecated, relative to /)", () => {
    const c = base();
    c.mounts[4].destination = "dev/mqueue";
    const r = validateConfig(c);
    expect(r.value).toBeDefined();
    expect(r.problems).toEqual([
      {
        field: "mounts[4].destination",
        value: "dev/mqueue",
        reason: 'is relative: deprecated, taken as "/dev/mqueue"',
        severity: "warning",
      },
    ]);
  });

  test("an unknown capability name is a warning, skipped (config.md 1.1+: SHOULD NOT fail; runc and crun warn)", () => {
    const c = base();
    c.process.capabilities.bounding.push("CAP_FOO");
    c.process.capabilities.effective[0] = "net_admin";
    c.process.capabilities.ambient.push("CAP_SYS_GOD");
    const r = validateConfig(c);
    expect(r.value).toBeDefined();
    expect(r.problems).toEqual([
      { field: "process.capabilities.bounding[3]", value: "CAP_FOO", reason: "unknown capability, skipped", severity: "warning" },
      {
        field: "process.capabilities.effective[0]",
        value: "net_admin",
        reason: 'unknown capability, skipped (did you mean "CAP_NET_ADMIN"?)',
        severity: "warning",
      },
      { field: "process.capabilities.ambient[3]", value: "CAP_SYS_GOD", reason: "unknown capability, skipped", severity: "warning" },
    ]);
  });

  test("unknown properties are ignored (config.md: runtimes MUST ignore unknown properties)", () => {
    const c = base();
    c.someExtension = { x: 1 };
    c.process.futureField = true;
    expect(validateConfig(c).problems).toEqual([]);
  });

  test("joined namespaces: a user namespace by path needs no mappings; net sysctls with a joined netns", () => {
    const c = base();
    c.linux.namespaces.push({ type: "user", path: "/proc/1/ns/user" });
    c.linux.namespaces[1].path = "/var/run/netns/n1";
    c.linux.sysctl = { "net.ipv4.ip_forward": "1", "kernel.shmmax": "4096", "fs.mqueue.msg_max": "20" };
    expect(validateConfig(c).problems).toEqual([]);
  });

  test("sysctl kernel.domainname with a UTS namespace (runc and crun accept it), also beside the domainname field", () => {
    const c = base();
    c.domainname = "field.example";
    c.linux.sysctl = { "kernel.domainname": "sysctl.example" };
    expect(validateConfig(c).problems).toEqual([]);
  });
});

// Found by the config fuzzer (test/reliability/fuzz-config.test.ts).
test("an rlimit type that is a property of every object (__proto__, constructor) is unknown, not a crash in the plan", () => {
  expect(linesFor((c) => (c.process.rlimits[0].type = "__proto__"))).toEqual([
    `${P}process.rlimits[0].type "__proto__": unknown resource limit (expected RLIMIT_NOFILE, RLIMIT_NPROC, ...)`,
  ]);
  expect(linesFor((c) => (c.process.rlimits[0].type = "constructor"))).toEqual([
    `${P}process.rlimits[0].type "constructor": unknown resource limit (expected RLIMIT_NOFILE, RLIMIT_NPROC, ...)`,
  ]);
});

test("a NUL byte in a string berth passes on is refused at its field; annotations are not looked at", () => {
  expect(
    linesFor((c) => {
      c.mounts[2].source = "x\u0000y";
      c.process.env.push("A=\u0000");
      c.linux.maskedPaths[0] = "/tmp/\u0000x";
      c.linux.sysctl = { "kernel.msg\u0000max": "1" };
      c.annotations = { "a\u0000": "b\u0000" };
    }),
  ).toEqual(
    expect.arrayContaining([
      `${P}mounts[2].source "x\\u0000y": must not contain a NUL byte`,
      `${P}process.env[2] "A=\\u0000": must not contain a NUL byte`,
      `${P}linux.maskedPaths[0] "/tmp/\\u0000x": must not contain a NUL byte`,
      `${P}linux.sysctl["kernel.msg\\u0000max"]: must not contain a NUL byte (in its name)`,
    ]),
  );
  expect(linesFor((c) => (c.annotations = { "a\u0000": "b\u0000" }))).toEqual([]);
});
