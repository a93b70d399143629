/**
 * The systemd cgroup driver without systemd: a recording fake of systemd's Manager
 * (test/helpers/fake-systemd.ts) receives exactly what would go over D-Bus -- method, D-Bus
 * signature, body, and every unit property with its signature -- and answers or fails as each
 * test says. The lifecycle (create, update, delete) runs over a fake Runtime
 * (test/helpers/fake-runtime.ts), so the errors are the ones a user reads.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  connectSystemd,
  INFINITY,
  NOT_RUNNING,
  openSystemdSession,
  parseSystemdVersion,
  setUnitResources,
  startUnit,
  stopUnit,
  SystemdError,
  systemdUnitOf,
  unitDeviceProperties,
  type DeviceHost,
  type StartUnitRequest,
} from "../../src/cgroups";
import { create, destroy, update } from "../../src/container";
import { BerthError } from "../../src/errors";
import type { DeviceRule, Resources } from "../../src/spec";
import { fixture, type Fixture } from "../helpers/fake-runtime";
import { dbusError, FakeSystemdBus, propsOf } from "../helpers/fake-systemd";

const base = (mode: StartUnitRequest["mode"]): StartUnitRequest => ({
  unit: "berth-c1.scope",
  slice: "system.slice",
  id: "c1",
  pid: 4242,
  mode,
});
/** A deny-all rule list, as runc's spec and berth's default spec have. */
const denyAll: DeviceRule[] = [{ allow: false, access: "rwm" }];
/** DeviceAllow for deny-all + berth's default rules (resources.ts defaultAllowedDevices), sorted by major:minor. */
const defaultDeviceAllow: [string, string][] = [
  ["block-*", "m"],
  ["char-*", "m"],
  ["/dev/char/1:3", "rwm"],
  ["/dev/char/1:5", "rwm"],
  ["/dev/char/1:7", "rwm"],
  ["/dev/char/1:8", "rwm"],
  ["/dev/char/1:9", "rwm"],
  ["/dev/char/5:0", "rwm"],
  ["/dev/char/5:2", "rwm"],
  ["/dev/char/10:200", "rwm"],
  ["char-136", "rwm"],
];
const deviceProps = (entries: [string, string][]) => [
  ["DeviceAllow", "a(ss)", []],
  ["DevicePolicy", "s", "strict"],
  ["DeviceAllow", "a(ss)", entries],
];
const v252: DeviceHost = { systemdVersion: 252, procDevices: () => "", exists: () => false };

describe("unit names from linux.cgroupsPath (slice:prefix:name)", () => {
  test.each([
    ["system.slice:berth:c1", { slice: "system.slice", unit: "berth-c1.scope" }],
    ["machine.slice:libpod:abc", { slice: "machine.slice", unit: "libpod-abc.scope" }],
    [":berth:c1", { slice: "system.slice", unit: "berth-c1.scope" }],
    ["system.slice::c1", { slice: "system.slice", unit: "c1.scope" }],
    ["user.slice:berth:pod-a.slice", { slice: "user.slice", unit: "pod-a.slice" }],
    [undefined, { slice: "system.slice", unit: "berth-c1.scope" }],
  ])("%s", (path, want) => {
    expect(systemdUnitOf(path, "c1")).toEqual(want);
  });
  test("not three parts: an error naming the field and the form", () => {
    expect(() => systemdUnitOf("/berth/c1", "c1")).toThrow(
      'linux.cgroupsPath "/berth/c1": with --systemd-cgroup it must be slice:prefix:name',
    );
  });
});

describe("StartTransientUnit", () => {
  const resources: Resources = {
    memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20 },
    cpu: { shares: 1024, quota: 50_000, period: 100_000, cpus: "0-1", mems: "0" },
    pids: { limit: 42 },
    blockIO: { weight: 500 },
    devices: denyAll,
  };

  test("cgroup v2: the method, its signature, and every property with its D-Bus signature", async () => {
    const bus = new FakeSystemdBus();
    const rest = await startUnit(bus.session(), {
      ...base("unified"),
      resources: { ...resources, unified: { "memory.high": "max", "io.max": "8:0 rbps=1" } },
    });
    expect(bus.calls.map(({ kind, member, signature, iface }) => ({ kind, member, signature, iface }))).toEqual([
      { kind: "call", member: "Get", signature: "ss", iface: "org.freedesktop.DBus.Properties" },
      { kind: "job", member: "StartTransientUnit", signature: "ssa(sv)a(sa(sv))", iface: undefined },
    ]);
    expect(bus.calls[0]!.body).toEqual(["org.freedesktop.systemd1.Manager", "Version"]);
    const start = bus.calls[1]!;
    expect([start.body[0], start.body[1], start.body[3]]).toEqual(["berth-c1.scope", "replace", []]);
    expect(propsOf(start)).toEqual([
      ["Description", "s", "berth container c1"],
      ["Slice", "s", "system.slice"],
      ["Delegate", "b", true],
      ["PIDs", "au", [4242]],
      ["MemoryAccounting", "b", true],
      ["CPUAccounting", "b", true],
      ["IOAccounting", "b", true],
      ["TasksAccounting", "b", true],
      ["DefaultDependencies", "b", false],
      ["MemoryMax", "t", BigInt(64 << 20)],
      ["MemoryLow", "t", BigInt(32 << 20)],
      // v2 swap is memory+swap minus memory.
      ["MemorySwapMax", "t", BigInt(64 << 20)],
      ["CPUWeight", "t", 39n],
      ["CPUQuotaPeriodUSec", "t", 100_000n],
      ["CPUQuotaPerSecUSec", "t", 500_000n],
      ["AllowedCPUs", "ay", new Uint8Array([0b11])],
      ["AllowedMemoryNodes", "ay", new Uint8Array([0b1])],
      ["TasksMax", "t", 42n],
      // runc's blkio -> io weight conversion: 1 + (500 - 10) * 9999 / 990.
      ["IOWeight", "t", 4950n],
      ["MemoryHigh", "t", INFINITY],
      ...deviceProps(defaultDeviceAllow),
    ]);
    // What systemd has no property for is left for the files.
    expect(rest).toEqual({ devices: denyAll, unified: { "io.max": "8:0 rbps=1" } });
  });

  test("cgroup v1 (a hybrid host): the v1 names, and the cpuset left for the files", async () => {
    const bus = new FakeSystemdBus();
    const rest = await startUnit(bus.session(), {
      ...base("hybrid"),
      resources: { ...resources, hugepageLimits: [{ pageSize: "2MB", limit: 0 }] },
    });
    expect(propsOf(bus.calls[1]!)).toEqual([
      ["Description", "s", "berth container c1"],
      ["Slice", "s", "system.slice"],
      ["Delegate", "b", true],
      ["PIDs", "au", [4242]],
      ["MemoryAccounting", "b", true],
      ["CPUAccounting", "b", true],
      ["BlockIOAccounting", "b", true],
      ["TasksAccounting", "b", true],
      ["DefaultDependencies", "b", false],
      ["MemoryLimit", "t", BigInt(64 << 20)],
      ["CPUShares", "t", 1024n],
      ["CPUQuotaPeriodUSec", "t", 100_000n],
      ["CPUQuotaPerSecUSec", "t", 500_000n],
      ["TasksMax", "t", 42n],
      ["BlockIOWeight", "t", 500n],
      ...deviceProps(defaultDeviceAllow),
    ]);
    expect(rest).toEqual({
      memory: { reservation: 32 << 20, swap: 128 << 20 },
      cpu: { cpus: "0-1", mems: "0" },
      devices: denyAll,
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
    });
  });

  test("a slice as the unit: Wants= the parent slice, no Delegate, no PIDs", async () => {
    const bus = new FakeSystemdBus();
    await startUnit(bus.session(), { ...base("unified"), unit: "pod-a.slice", slice: "user.slice" });
    const names = propsOf(bus.calls[1]!).map(([n, s, v]) => `${n} ${s} ${JSON.stringify(v)}`);
    expect(names.slice(0, 2)).toEqual(['Description s "berth container c1"', 'Wants as ["user.slice"]']);
    expect(names.some((n) => n.startsWith("Delegate") || n.startsWith("PIDs"))).toBe(false);
  });

  test("the config's rules and the defaults are allowed (linux.devices adds none: issue 15), and the systemd warnings reach the caller", async () => {
    const bus = new FakeSystemdBus();
    const warnings: string[] = [];
    await startUnit(bus.session(), {
      ...base("hybrid"),
      resources: {
        devices: [
          ...denyAll,
          { allow: true, type: "c", minor: 3, access: "r" },
          { allow: true, type: "b", major: 8, minor: 0, access: "rw" },
        ],
      },
      warn: (m) => warnings.push(m),
    });
    const allow = propsOf(bus.calls[1]!)
      .filter(([n]) => n === "DeviceAllow")
      .pop()![2] as [string, string][];
    expect(allow).toEqual([...defaultDeviceAllow.slice(0, 9), ["/dev/block/8:0", "rw"], ...defaultDeviceAllow.slice(9)]); // sorted by major:minor
    expect(warnings).toEqual([
      'linux.resources.devices[1]: systemd cannot express the rule "c *:3 r" (any major, one minor): berth writes it, systemd leaves it out and drops it when it re-applies the unit\'s device policy',
    ]);
  });

  test("a unit of that name left behind (UnitExists): ResetFailedUnit, then once more", async () => {
    const bus = new FakeSystemdBus();
    bus.answers.set("StartTransientUnit", (_b, nth) => {
      if (nth === 0)
        throw dbusError("org.freedesktop.systemd1.UnitExists", "Unit berth-c1.scope was already loaded or has a fragment file.");
      return "done";
    });
    await startUnit(bus.session(), base("unified"));
    expect(bus.summary()).toEqual([
      "job StartTransientUnit ssa(sv)a(sa(sv))",
      "call ResetFailedUnit s",
      "job StartTransientUnit ssa(sv)a(sa(sv))",
    ]);
    expect(bus.calls[2]!.body).toEqual(["berth-c1.scope"]);
  });

  test('a job that does not finish "done": ResetFailedUnit, and an error naming the method, the unit and the result', async () => {
    const bus = new FakeSystemdBus();
    bus.answers.set("StartTransientUnit", () => "failed");
    const err = await startUnit(bus.session(), base("unified")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SystemdError);
    expect((err as Error).message).toBe(
      'systemd StartTransientUnit berth-c1.scope: the job finished "failed" (see journalctl -u berth-c1.scope)',
    );
    expect(bus.summary()).toEqual(["job StartTransientUnit ssa(sv)a(sa(sv))", "call ResetFailedUnit s"]);
  });

  test("a property systemd refuses: the error carries the config field it came from", async () => {
    const bus = new FakeSystemdBus();
    bus.answers.set("StartTransientUnit", () => {
      throw dbusError("org.freedesktop.DBus.Error.InvalidArgs", "Cannot set property MemoryMax, or unknown property.");
    });
    const err = (await startUnit(bus.session(), { ...base("unified"), resources: { memory: { limit: 1 << 20 } } }).catch(
      (e: unknown) => e,
    )) as SystemdError;
    expect(err.message).toBe(
      "systemd StartTransientUnit berth-c1.scope: Cannot set property MemoryMax, or unknown property. (org.freedesktop.DBus.Error.InvalidArgs)",
    );
    expect(err.field).toBe("linux.resources.memory.limit");
  });

  test("the Version property decides DeviceAllow's syntax; an unreadable one counts as old", async () => {
    expect(["252.38-1~deb12u1", "v239", "239 (239-41.el8)", "", undefined, "x"].map(parseSystemdVersion)).toEqual([252, 239, 239, 0, 0, 0]);
    const bus = new FakeSystemdBus();
    bus.answers.set("Get", () => {
      throw dbusError("org.freedesktop.DBus.Error.UnknownProperty", "Unknown property");
    });
    await startUnit(bus.session(), {
      ...base("hybrid"),
      resources: { devices: denyAll },
      deviceHost: { procDevices: () => "Character devices:\n136 pts\n\nBlock devices:\n", exists: (p) => p === "/dev/char/1:3" },
    });
    const allow = propsOf(bus.calls[1]!)
      .filter(([n]) => n === "DeviceAllow")
      .pop()![2];
    expect(allow).toEqual([
      ["block-*", "m"],
      ["char-*", "m"],
      ["/dev/char/1:3", "rwm"],
      ["char-pts", "rwm"],
    ]);
  });
});

describe("device rules as DevicePolicy + DeviceAllow (what systemd then writes itself)", () => {
  const props = (rules: DeviceRule[] | undefined, mode: StartUnitRequest["mode"] = "hybrid", host = v252) => {
    const out = unitDeviceProperties(rules, mode, host);
    return { props: out.props.map((p) => [p.name, p.signature, p.value]), warnings: out.warnings };
  };

  test("no config rules: the defaults on a deny-all base, as systemd's strict policy starts", () => {
    expect(props(undefined)).toEqual({ props: deviceProps(defaultDeviceAllow), warnings: [] });
  });

  test("access merges per device; a deny removes only from the rule with exactly that device (no hole in a wildcard)", () => {
    const { props: p } = props([
      ...denyAll,
      { allow: true, type: "c", major: 10, minor: 229, access: "r" },
      { allow: true, type: "c", major: 10, minor: 229, access: "w" },
      { allow: true, type: "b", major: 8, access: "rw" },
      { allow: false, type: "b", major: 8, minor: 1, access: "rw" },
      { allow: false, type: "c", major: 1, minor: 3, access: "w" },
    ]);
    const allow = p.at(-1)![2] as [string, string][];
    expect(allow).toContainEqual(["/dev/char/10:229", "rw"]);
    expect(allow).toContainEqual(["block-8", "rw"]);
    // The defaults come after the config's rules, so /dev/null is rwm again.
    expect(allow).toContainEqual(["/dev/char/1:3", "rwm"]);
  });

  test("allow-all (a privileged container): DevicePolicy=auto and no DeviceAllow, systemd's own allow-all", () => {
    expect(props([{ allow: true, access: "rwm" }])).toEqual({
      props: [
        ["DeviceAllow", "a(ss)", []],
        ["DevicePolicy", "s", "auto"],
      ],
      warnings: [],
    });
  });

  test("a deny list on v1: systemd cannot hold one, so it is given deny-all, and the warning says what that means", () => {
    const out = props([
      { allow: true, access: "rwm" },
      { allow: false, type: "c", major: 10, minor: 229, access: "rwm" },
    ]);
    expect(out.props).toEqual([
      ["DeviceAllow", "a(ss)", []],
      ["DevicePolicy", "s", "strict"],
    ]);
    expect(out.warnings).toEqual([
      "linux.resources.devices: systemd takes only an allow list, and these rules allow every device but some: systemd is given deny-all (DevicePolicy=strict), berth writes the rules; when systemd re-applies the unit's device policy (daemon-reload), the container loses access to every device",
    ]);
  });

  test("a deny list on cgroup v2: auto and no DeviceAllow (systemd attaches no program; berth's filter decides)", () => {
    expect(
      props(
        [
          { allow: true, access: "rwm" },
          { allow: false, type: "c", major: 10, minor: 229, access: "rwm" },
        ],
        "unified",
      ),
    ).toEqual({
      props: [
        ["DeviceAllow", "a(ss)", []],
        ["DevicePolicy", "s", "auto"],
      ],
      warnings: [],
    });
  });

  test("systemd < 240: a driver's name from /proc/devices for major:*, and only existing /dev/char paths", () => {
    const old: DeviceHost = {
      systemdVersion: 239,
      procDevices: () => "Character devices:\n  1 mem\n  5 /dev/tty\n136 pts\n\nBlock devices:\n  8 sd\n",
      exists: (p) => ["/dev/char/1:3", "/dev/char/5:2"].includes(p),
    };
    const out = props(
      [...denyAll, { allow: true, type: "b", major: 8, access: "r" }, { allow: true, type: "c", major: 99, access: "r" }],
      "legacy",
      old,
    );
    expect(out.props.at(-1)![2]).toEqual([
      ["block-*", "m"],
      ["char-*", "m"],
      ["/dev/char/1:3", "rwm"],
      ["/dev/char/5:2", "rwm"],
      ["block-sd", "r"],
      ["char-pts", "rwm"],
    ]);
    expect(out.warnings).toEqual([
      'linux.resources.devices[2]: systemd 239 names "c 99:* r" by its driver, and /proc/devices has none for c 99: berth writes the rule, systemd leaves it out',
    ]);
  });
});

describe("SetUnitProperties (update) and StopUnit (delete)", () => {
  test("update sends SetUnitProperties(unit, runtime=true, properties) and returns what is left for the files", async () => {
    const bus = new FakeSystemdBus();
    const rest = await setUnitResources(
      bus.session(),
      "berth-c1.scope",
      { memory: { limit: 96 << 20 }, pids: { limit: 50 }, cpu: { cpus: "1" } },
      "hybrid",
    );
    expect(bus.calls).toEqual([
      {
        kind: "call",
        member: "SetUnitProperties",
        signature: "sba(sv)",
        body: [
          "berth-c1.scope",
          true,
          [
            ["MemoryLimit", { signature: "t", value: BigInt(96 << 20) }],
            ["TasksMax", { signature: "t", value: 50n }],
          ],
        ],
      },
    ]);
    expect(rest).toEqual({ cpu: { cpus: "1" } });
  });

  test("nothing systemd has a property for: no call at all", async () => {
    const bus = new FakeSystemdBus();
    expect(await setUnitResources(bus.session(), "berth-c1.scope", { hugepageLimits: [{ pageSize: "2MB", limit: 0 }] }, "hybrid")).toEqual({
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
    });
    expect(bus.calls).toEqual([]);
  });

  test("delete: StopUnit(unit, replace) as a job, then ResetFailedUnit(unit)", async () => {
    const bus = new FakeSystemdBus();
    await stopUnit(bus.session(), "berth-c1.scope");
    expect(bus.calls).toEqual([
      { kind: "job", member: "StopUnit", signature: "ss", body: ["berth-c1.scope", "replace"] },
      { kind: "call", member: "ResetFailedUnit", signature: "s", body: ["berth-c1.scope"] },
    ]);
  });

  test("a unit that is already gone (NoSuchUnit) is not an error", async () => {
    const bus = new FakeSystemdBus();
    bus.answers.set("StopUnit", () => {
      throw dbusError("org.freedesktop.systemd1.NoSuchUnit", "Unit berth-c1.scope not loaded.");
    });
    await expect(stopUnit(bus.session(), "berth-c1.scope")).resolves.toBeUndefined();
    expect(bus.summary()).toEqual(["job StopUnit ss", "call ResetFailedUnit s"]);
  });

  test("a stop job that times out is an error naming the unit and the result", async () => {
    const bus = new FakeSystemdBus();
    bus.answers.set("StopUnit", () => "timeout");
    await expect(stopUnit(bus.session(), "berth-c1.scope")).rejects.toThrow('systemd StopUnit berth-c1.scope: the job finished "timeout"');
  });
});

describe("connecting: no systemd, no bus", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "berth-sd-unit-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("systemd not booted (no /run/systemd/system): runc's error, before any connection", async () => {
    await expect(connectSystemd({ root: dir, env: {} })).rejects.toThrow(NOT_RUNNING);
  });

  test("booted, but neither the system bus nor systemd's private socket answers: both named, with their errors", async () => {
    mkdirSync(join(dir, "run/systemd/system"), { recursive: true });
    const err = (await connectSystemd({
      root: dir,
      env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${dir}/system_bus_socket` },
      privateSocket: `${dir}/private`,
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      `cannot connect to systemd: system bus (${dir}/system_bus_socket): connect ENOENT ${dir}/system_bus_socket; ${dir}/private (${dir}/private): connect ENOENT ${dir}/private`,
    );
  });
});

describe("the lifecycle's errors name the operation, the container and the reason", () => {
  let f: Fixture;
  let dir: string;
  beforeEach(() => {
    // cpu.shares: the fake host mounts the cpu (and devices) controllers only.
    f = fixture({ systemd: true, spec: (s) => (s.linux!.resources = { cpu: { shares: 512 }, devices: denyAll }) });
    dir = mkdtempSync(join(tmpdir(), "berth-sd-unit-"));
  });
  afterEach(() => {
    f.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const createC1 = () => create(f.rt, { id: "c1", bundle: f.bundle, systemdCgroup: true });
  const message = (p: Promise<unknown>) =>
    p.then(
      () => "no error",
      (e: unknown) => (expect(e).toBeInstanceOf(BerthError), (e as Error).message),
    );

  test("create where systemd is not running: runc's message, and nothing was launched or left", async () => {
    f.rt.systemd = () => openSystemdSession({ root: dir, env: {} });
    expect(await message(createC1())).toBe(`berth: create c1: --systemd-cgroup: ${NOT_RUNNING}`);
    expect(f.rec.calls).not.toContain("native.launch");
    expect(f.rec.calls).not.toContain("cgroups.create");
  });

  test("create where the bus cannot be reached: each address and its error", async () => {
    mkdirSync(join(dir, "run/systemd/system"), { recursive: true });
    f.rt.systemd = () =>
      openSystemdSession({ root: dir, env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${dir}/bus` }, privateSocket: `${dir}/private` });
    expect(await message(createC1())).toBe(
      `berth: create c1: --systemd-cgroup: cannot connect to systemd: system bus (${dir}/bus): connect ENOENT ${dir}/bus; ${dir}/private (${dir}/private): connect ENOENT ${dir}/private`,
    );
  });

  test("create: StartTransientUnit refused for a property: at that property's config field", async () => {
    f.bus.answers.set("StartTransientUnit", () => {
      throw dbusError("org.freedesktop.DBus.Error.InvalidArgs", "Cannot set property CPUShares, or unknown property.");
    });
    expect(await message(createC1())).toBe(
      "berth: create c1: linux.resources.cpu.shares: systemd StartTransientUnit berth-c1.scope: Cannot set property CPUShares, or unknown property. (org.freedesktop.DBus.Error.InvalidArgs)",
    );
    expect(f.bus.closed).toBe(1);
  });

  test("update: SetUnitProperties with the patch's properties; its failure at the field, the connection closed", async () => {
    await createC1();
    await update(f.rt, "c1", { cpu: { shares: 256 } });
    const set = f.bus.calls.filter((c) => c.member === "SetUnitProperties");
    expect(set.map((c) => [c.signature, c.body[0], c.body[1], propsOf(c)])).toEqual([
      ["sba(sv)", "berth-c1.scope", true, [["CPUShares", "t", 256n]]],
    ]);
    expect(f.rt.store.read("state", "c1").config.linux?.resources?.cpu?.shares).toBe(256);

    f.bus.answers.set("SetUnitProperties", () => {
      throw dbusError("org.freedesktop.DBus.Error.AccessDenied", "Access denied");
    });
    const closed = f.bus.closed;
    expect(await message(update(f.rt, "c1", { cpu: { shares: 128 } }))).toBe(
      "berth: update c1: linux.cgroupsPath: systemd SetUnitProperties berth-c1.scope: Access denied (org.freedesktop.DBus.Error.AccessDenied)",
    );
    expect(f.bus.closed).toBe(closed + 1);
    // A failed update changes nothing in the state.
    expect(f.rt.store.read("state", "c1").config.linux?.resources?.cpu?.shares).toBe(256);
  });

  test("update with the bus gone: at --systemd-cgroup", async () => {
    await createC1();
    f.rt.systemd = () => openSystemdSession({ root: dir, env: {} });
    expect(await message(update(f.rt, "c1", { cpu: { shares: 128 } }))).toBe(`berth: update c1: --systemd-cgroup: ${NOT_RUNNING}`);
  });

  test("delete: StopUnit then ResetFailedUnit; a StopUnit that fails is an error, and the state stays for another try", async () => {
    await createC1();
    f.bus.answers.set("StopUnit", () => {
      throw dbusError("org.freedesktop.DBus.Error.AccessDenied", "Access denied");
    });
    expect(await message(destroy(f.rt, "c1", true))).toBe(
      "berth: delete c1: linux.cgroupsPath: systemd StopUnit berth-c1.scope: Access denied (org.freedesktop.DBus.Error.AccessDenied)",
    );
    expect(f.rt.store.read("state", "c1").systemdUnit).toBe("berth-c1.scope");

    f.bus.answers.delete("StopUnit");
    await destroy(f.rt, "c1", true);
    expect(f.bus.summary().slice(-2)).toEqual(["job StopUnit ss", "call ResetFailedUnit s"]);
    expect(() => f.rt.store.read("state", "c1")).toThrow("container does not exist");
  });

  test("delete with systemd gone: at --systemd-cgroup, the state kept", async () => {
    await createC1();
    f.rt.systemd = () => openSystemdSession({ root: dir, env: {} });
    expect(await message(destroy(f.rt, "c1", true))).toBe(`berth: delete c1: --systemd-cgroup: ${NOT_RUNNING}`);
    expect(f.rt.store.read("state", "c1").systemdUnit).toBe("berth-c1.scope");
  });
});
