/** linux.resources -> cgroup files, and the fs drivers writing into a tempdir of fixture files. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  applyResources,
  deviceFilterRules,
  emulateDeviceRules,
  orderMemoryWrites,
  blkioWeightToIoWeight,
  planWrites,
  ResourceError,
  sharesToWeight,
  unitDeviceProperties,
  v1DeviceWrites,
  v1Writes,
  v2Writes,
  type CgroupSet,
} from "../../src/cgroups";
import { RUNC_DEFAULT_DEVICE_RULES } from "../helpers/runc";

const pairs = (ws: { file: string; value: string }[]) => ws.map((w) => [w.file, w.value]);

test("v1: every field to its file, in an order the kernel accepts", () => {
  const ws = v1Writes({
    memory: { limit: 1 << 26, reservation: 1 << 25, swap: 1 << 27, swappiness: 10, disableOOMKiller: true, kernelTCP: 1 << 20 },
    cpu: {
      shares: 512,
      quota: 50000,
      period: 100000,
      burst: 1000,
      realtimeRuntime: 950000,
      realtimePeriod: 1000000,
      cpus: "0",
      mems: "0",
      idle: 1,
    },
    pids: { limit: 20 },
    blockIO: {
      weight: 300,
      leafWeight: 200,
      weightDevice: [{ major: 8, minor: 0, weight: 500 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
    },
    hugepageLimits: [{ pageSize: "2MB", limit: 1 << 21 }],
    network: { classID: 0x100001, priorities: [{ name: "eth0", priority: 5 }] },
    rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
  });
  expect(pairs(ws)).toEqual([
    ["memory.limit_in_bytes", String(1 << 26)],
    ["memory.memsw.limit_in_bytes", String(1 << 27)],
    ["memory.soft_limit_in_bytes", String(1 << 25)],
    ["memory.kmem.tcp.limit_in_bytes", String(1 << 20)],
    ["memory.swappiness", "10"],
    ["memory.oom_control", "1"],
    ["cpu.shares", "512"],
    ["cpu.cfs_period_us", "100000"],
    ["cpu.cfs_quota_us", "50000"],
    ["cpu.cfs_burst_us", "1000"],
    ["cpu.rt_period_us", "1000000"],
    ["cpu.rt_runtime_us", "950000"],
    ["cpu.idle", "1"],
    ["cpuset.cpus", "0"],
    ["cpuset.mems", "0"],
    ["pids.max", "20"],
    ["blkio.weight", "300"],
    ["blkio.leaf_weight", "200"],
    ["blkio.weight_device", "8:0 500"],
    ["blkio.throttle.read_bps_device", "8:0 1048576"],
    ["blkio.throttle.write_iops_device", "8:16 100"],
    ["hugetlb.2MB.limit_in_bytes", String(1 << 21)],
    ["net_cls.classid", String(0x100001)],
    ["net_prio.ifpriomap", "eth0 5"],
    ["rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"],
  ]);
  expect(ws.find((w) => w.file === "blkio.weight_device")!.field).toBe("linux.resources.blockIO.weightDevice[0]");
  expect(pairs(v1Writes({ pids: { limit: 0 } }))).toEqual([["pids.max", "max"]]);
});

test("v1 refuses what it cannot take, naming the field", () => {
  expect(() => v1Writes({ unified: { "memory.high": "1M" } })).toThrow(
    new ResourceError(
      'linux.resources.unified["memory.high"]',
      "1M",
      "invalid configuration for this host: a cgroup v2 file, and this host's cgroup limits are v1",
    ),
  );
  expect(() => v1Writes({ memory: { swappiness: 101 } })).toThrow("linux.resources.memory.swappiness: must be between 0 and 100");
});

test("v2: runc's conversions of v1 values, and unified keys as given, last", () => {
  expect(sharesToWeight(2)).toBe(1);
  expect(sharesToWeight(1024)).toBe(39);
  expect(sharesToWeight(262144)).toBe(10000);
  expect(blkioWeightToIoWeight(10)).toBe(1);
  expect(blkioWeightToIoWeight(1000)).toBe(10000);
  const ws = v2Writes({
    memory: { limit: 1 << 26, swap: 1 << 27, reservation: 1 << 25 },
    cpu: { shares: 1024, quota: 50000, period: 100000, burst: 500, cpus: "0-1", idle: 0 },
    pids: { limit: -1 },
    blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 98, minor: 0, rate: 2097152 }] },
    hugepageLimits: [{ pageSize: "2MB", limit: -1 }],
    unified: { "memory.high": "50M", "memory.max": "100M" },
  });
  expect(pairs(ws)).toEqual([
    ["memory.max", String(1 << 26)],
    ["memory.swap.max", String((1 << 27) - (1 << 26))],
    ["memory.low", String(1 << 25)],
    ["cpu.weight", "39"],
    ["cpu.max", "50000 100000"],
    ["cpu.max.burst", "500"],
    ["cpu.idle", "0"],
    ["cpuset.cpus", "0-1"],
    ["pids.max", "max"],
    ["io.weight", `default ${blkioWeightToIoWeight(500)}`],
    ["io.max", "98:0 rbps=2097152"],
    ["hugetlb.2MB.max", "max"],
    ["memory.high", "50M"],
    ["memory.max", "100M"],
  ]);
  expect(pairs(v2Writes({ memory: { limit: -1 }, cpu: { quota: -1, period: 100000 } }))).toEqual([
    ["memory.max", "max"],
    ["cpu.max", "max 100000"],
  ]);
});

test("v2 refuses v1-only values and impossible swap, naming the field", () => {
  expect(() => v2Writes({ memory: { swap: 1 << 20 } })).toThrow("linux.resources.memory.swap: cannot be set without memory.limit");
  expect(() => v2Writes({ memory: { limit: 1 << 21, swap: 1 << 20 } })).toThrow(
    "linux.resources.memory.swap: must be at least memory.limit (2097152): it is memory + swap",
  );
  expect(() => v2Writes({ memory: { swappiness: 60 } })).toThrow("linux.resources.memory.swappiness: has no cgroup v2 equivalent");
  expect(() => v2Writes({ cpu: { realtimeRuntime: 1000 } })).toThrow(
    "linux.resources.cpu.realtimeRuntime: realtime scheduling limits exist on cgroup v1 only",
  );
  expect(() => v2Writes({ network: { classID: 1 } })).toThrow("linux.resources.network: net_cls and net_prio exist on cgroup v1 only");
  expect(() => v2Writes({ unified: { "../../etc/passwd": "x" } })).toThrow(
    'linux.resources.unified["../../etc/passwd"]: must name a cgroup interface file',
  );
  expect(() => v2Writes({ unified: { "cgroup.procs": "1" } })).toThrow("cgroup.* files are the runtime's");
});

/** runc 1.1.5's default rules (libcontainer/specconv AllowedDevices), in its order. */
const runcDefaults = [
  ["devices.allow", "c *:* m"],
  ["devices.allow", "b *:* m"],
  ["devices.allow", "c 1:3 rwm"],
  ["devices.allow", "c 1:8 rwm"],
  ["devices.allow", "c 1:7 rwm"],
  ["devices.allow", "c 5:0 rwm"],
  ["devices.allow", "c 1:5 rwm"],
  ["devices.allow", "c 1:9 rwm"],
  ["devices.allow", "c 136:* rwm"],
  ["devices.allow", "c 5:2 rwm"],
  ["devices.allow", "c 10:200 rwm"],
];

test("v1 device rules: the config's in order, then runc's defaults", () => {
  const ws = v1DeviceWrites([
    { allow: false, access: "rwm" },
    { allow: true, type: "b", major: 8, access: "r" },
  ]);
  expect(pairs(ws)).toEqual([["devices.deny", "a"], ["devices.allow", "b 8:* r"], ...runcDefaults]);
  expect(ws.map((w) => w.field).slice(0, 3)).toEqual([
    "linux.resources.devices[0]",
    "linux.resources.devices[1]",
    "(default device rules)",
  ]);
  expect(() => v1DeviceWrites([{ allow: true, type: "x" }])).toThrow('linux.resources.devices[0].type: must be "a", "b" or "c"');
  expect(() => v1DeviceWrites([{ allow: true, access: "rwx" }])).toThrow("linux.resources.devices[0].access: must be made of r, w and m");
});

test("device access: r, w and m in any order or number, written as the kernel lists them (runc 1.1.5 reads it as a set); empty or other letters refused at the field", () => {
  const written = (access: string) => v1DeviceWrites([{ allow: true, type: "c", major: 1, minor: 11, access }])[1]!.value;
  // What runc 1.1.5 lists in devices.list on this host for each (test/integration/update.test.ts runs both).
  expect(["rwm", "mr", "wr", "rw", "m", "mwr", "rwmm", "rrw", "mmm"].map(written)).toEqual([
    "c 1:11 rwm",
    "c 1:11 rm",
    "c 1:11 rw",
    "c 1:11 rw",
    "c 1:11 m",
    "c 1:11 rwm",
    "c 1:11 rwm",
    "c 1:11 rw",
    "c 1:11 m",
  ]);
  // The v2 filter and systemd's DeviceAllow take the same normalised rule.
  expect(deviceFilterRules([{ allow: true, type: "c", major: 1, minor: 11, access: "wmrw" }])[1]).toEqual({
    allow: true,
    type: "c",
    major: 1,
    minor: 11,
    access: "rwm",
  });
  // runc: "device access at 1 field cannot be empty".
  expect(() =>
    v1DeviceWrites([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 11, access: "" },
    ]),
  ).toThrow("linux.resources.devices[1].access: must not be empty: give some of r, w and m");
  // runc drops other letters silently ("r w" is "rw" to it); berth names them.
  expect(() => v1DeviceWrites([{ allow: true, type: "c", major: 1, minor: 11, access: "r w" }])).toThrow(
    "linux.resources.devices[0].access: must be made of r, w and m",
  );
});

describe("device cgroup allow-list bypass (issue 15; GHSA-g54h-m393-cpwq class): the rules are deny-all, the config's, runc's defaults; never linux.devices", () => {
  const denyAll = [{ allow: false, access: "rwm" }];
  /** What the v1 devices controller lists after the writes (the kernel's semantics, emulated). */
  const listed = (ws: ReturnType<typeof v1DeviceWrites>) => {
    const { defaultAllow, exceptions } = emulateDeviceRules(ws);
    const num = (n: number) => (n < 0 ? "*" : String(n));
    return defaultAllow
      ? ["a *:* rwm"]
      : exceptions
          .map((e) => `${e.type} ${num(e.major)}:${num(e.minor)} ${["r", "w", "m"].filter((a) => e.access.has(a)).join("")}`)
          .sort();
  };
  const runcList = RUNC_DEFAULT_DEVICE_RULES;

  test("deny-all: only the defaults, so a node the config creates (c 1:11) gets no rule; the same list as runc's", () => {
    expect(pairs(v1DeviceWrites(denyAll))).toEqual([["devices.deny", "a"], ...runcDefaults]);
    expect(listed(v1DeviceWrites(denyAll))).toEqual(runcList);
    // The v2 filter and the systemd properties are made from the same list.
    expect(deviceFilterRules(denyAll).some((r) => r.major === 1 && r.minor === 11)).toBe(false);
    expect(
      unitDeviceProperties(denyAll, "legacy", { systemdVersion: 252, procDevices: () => "", exists: () => false }).props.at(-1)!.value,
    ).not.toContainEqual(["/dev/char/1:11", "rwm"]);
  });

  test("no rules at all, or none that resets the list: deny-all comes first (a new v1 cgroup inherits its parent's allow-all)", () => {
    expect(pairs(v1DeviceWrites(undefined))).toEqual([["devices.deny", "a"], ...runcDefaults]);
    expect(listed(v1DeviceWrites(undefined))).toEqual(runcList);
    const ws = v1DeviceWrites([{ allow: true, type: "c", major: 10, minor: 229, access: "rwm" }]);
    expect(pairs(ws).slice(0, 2)).toEqual([
      ["devices.deny", "a"],
      ["devices.allow", "c 10:229 rwm"],
    ]);
    expect(ws[0]!.field).toBe("(default device rules)");
    expect(listed(ws)).toEqual([...runcList, "c 10:229 rwm"].sort());
  });

  test("a first rule of type a (allow or deny) is the config's own reset: nothing is put before it", () => {
    expect(pairs(v1DeviceWrites([{ allow: true, access: "rwm" }]))[0]).toEqual(["devices.allow", "a"]);
    expect(listed(v1DeviceWrites([{ allow: true, access: "rwm" }]))).toEqual(["a *:* rwm"]);
    expect(pairs(v1DeviceWrites([{ allow: false, type: "a", access: "rwm" }])).filter(([, v]) => v === "a")).toHaveLength(1);
  });

  test("an explicit allow after the deny admits the device; a deny after an allow takes it back", () => {
    const kmsg = { type: "c", major: 1, minor: 11, access: "rwm" };
    expect(listed(v1DeviceWrites([...denyAll, { allow: true, ...kmsg }]))).toEqual([...runcList, "c 1:11 rwm"].sort());
    expect(listed(v1DeviceWrites([...denyAll, { allow: true, ...kmsg }, { allow: false, ...kmsg }]))).toEqual(runcList);
    const filter = deviceFilterRules([...denyAll, { allow: true, ...kmsg }]);
    expect(filter[1]).toEqual({ allow: true, type: "c", major: 1, minor: 11, access: "rwm" });
  });
});

describe("the fs-v1 driver on a tempdir of fixture files", () => {
  let root: string;
  let set: CgroupSet;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "berth-cg-"));
    set = { mode: "hybrid", v1: {}, unified: undefined };
    for (const c of ["memory", "pids", "cpu", "devices"]) {
      const dir = join(root, c, "berth/c1");
      mkdirSync(dir, { recursive: true });
      set.v1[c] = dir;
    }
    writeFileSync(join(set.v1.memory!, "memory.limit_in_bytes"), "9223372036854771712\n");
    writeFileSync(join(set.v1.memory!, "memory.memsw.limit_in_bytes"), String(1 << 20));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test("writes each value into its controller's directory; raising memory+swap goes first", () => {
    // Record the order of writes through the files' final contents and a log.
    applyResources(set, { memory: { limit: 1 << 26, swap: 1 << 27 }, pids: { limit: 7 }, cpu: { shares: 100 } });
    expect(readFileSync(join(set.v1.memory!, "memory.limit_in_bytes"), "utf8")).toBe(String(1 << 26));
    expect(readFileSync(join(set.v1.memory!, "memory.memsw.limit_in_bytes"), "utf8")).toBe(String(1 << 27));
    expect(readFileSync(join(set.v1.pids!, "pids.max"), "utf8")).toBe("7");
    expect(readFileSync(join(set.v1.cpu!, "cpu.shares"), "utf8")).toBe("100");
    const planned = planWrites(set, { memory: { limit: 1 << 26, swap: 1 << 27 } });
    const files = (ws: typeof planned) => ws.map((p) => p.write.file).filter((f) => f.startsWith("memory."));
    // Raising above the current memory+swap: memsw first. Lowering it: the limit first.
    expect(files(orderMemoryWrites(planned, 1 << 20))).toEqual(["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]);
    expect(files(orderMemoryWrites(planned, 1 << 30))).toEqual(["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]);
  });

  test("a controller the host does not mount is an error at the field, before any write", () => {
    expect(() => planWrites(set, { blockIO: { weight: 100 } })).toThrow(
      "linux.resources.blockIO.weight: needs the blkio cgroup controller, which this host does not mount",
    );
  });

  test("a write the kernel refuses names the field and the file", () => {
    const blocked = join(set.v1.pids!, "pids.max");
    mkdirSync(blocked); // writing to a directory fails with EISDIR
    expect(() => applyResources(set, { pids: { limit: 7 } })).toThrow(`linux.resources.pids.limit: write ${blocked}: EISDIR`);
  });
});
