/**
 * linux.netDevices without root: the name rules (spec room), the decisions (plan room: which
 * devices move where, which addresses go with them, how a moved device is found again), and
 * the calls create makes (container/net-devices.ts) against a small model of the kernel's two
 * network namespaces that behaves as rtnetlink does: the move drops addresses and takes the
 * device down, keeps its ifindex unless taken, and renames only after moving (so a taken name
 * fails with the device already moved). Every failure must leave the model as it was.
 */
import { BerthError, problemsError } from "../../src/errors";
import {
  addressesToCarry,
  addressForName,
  buildPlan,
  findMovedLink,
  hostProblems,
  IFA_F,
  IFF,
  netDeviceClashes,
  planNetDevices,
  type HostFacts,
  type NetAddress,
  type NetDeviceMove,
  type NetLink,
} from "../../src/plan";
import { interfaceNameProblem, matchesNameTemplate, validateConfig, type Spec } from "../../src/spec";
import { moveNetDevices, type UndoLog } from "../../src/container/net-devices";
import type { LifecycleNative } from "../../src/container";
import { planInput } from "../helpers/plan-input";

type Cfg = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const P = "berth: create c1: ";

function configLines(netDevices: unknown, mutate: (c: Cfg) => void = () => undefined): string[] {
  const c: Cfg = planInput().spec;
  c.linux.netDevices = netDevices;
  mutate(c);
  const r = validateConfig(c);
  return r.value ? [] : problemsError("create", "c1", r.problems).lines();
}

describe("semantic checks: names the kernel would refuse, at their field", () => {
  test.each<[string, unknown, string[]]>([
    ["a valid move, renamed", { eth1: { name: "ceth0" } }, []],
    ["no name: the host name is kept", { eth1: {} }, []],
    ["a template", { eth1: { name: "net%d" }, eth2: { name: "net%d" } }, []],
    ["a template in the middle (the kernel takes it anywhere)", { eth1: { name: "n%dx" } }, []],
    ["15 bytes is the longest", { eth1: { name: "abcdefghijklmno" } }, []],
    ["key with a slash", { "a/b": {} }, [`linux.netDevices["a/b"]: an interface name must not contain "/"`]],
    ["key empty", { "": { name: "x" } }, [`linux.netDevices[""]: an interface name must not be empty`]],
    ["key a template", { "eth%d": {} }, [`linux.netDevices["eth%d"]: names an existing interface, so it cannot be a %d template`]],
    [
      "name 16 bytes",
      { eth1: { name: "abcdefghijklmnop" } },
      [
        `linux.netDevices["eth1"].name "abcdefghijklmnop": is 16 bytes long: an interface name has at most 15 (IFNAMSIZ is 16, with the NUL)`,
      ],
    ],
    [
      "name ..",
      { eth1: { name: ".." } },
      [`linux.netDevices["eth1"].name "..": is not a valid interface name (the kernel refuses "." and "..")`],
    ],
    ["name with a colon", { eth1: { name: "eth0:1" } }, [`linux.netDevices["eth1"].name "eth0:1": an interface name must not contain ":"`]],
    [
      "name with a space",
      { eth1: { name: "my eth" } },
      [`linux.netDevices["eth1"].name "my eth": an interface name must not contain white space`],
    ],
    [
      "name with a tab",
      { eth1: { name: "a\tb" } },
      [`linux.netDevices["eth1"].name "a\\tb": an interface name must not contain white space`],
    ],
    [
      "name with a no-break space byte (as the kernel's isspace)",
      { eth1: { name: "n\u00e0" } },
      [`linux.netDevices["eth1"].name "nà": an interface name must not contain white space`],
    ],
    [
      "template with %s",
      { eth1: { name: "eth%s" } },
      [`linux.netDevices["eth1"].name "eth%s": a name template must hold exactly one "%", as "%d" (e.g. "eth%d")`],
    ],
    [
      "template with two %d",
      { eth1: { name: "e%d%d" } },
      [`linux.netDevices["eth1"].name "e%d%d": a name template must hold exactly one "%", as "%d" (e.g. "eth%d")`],
    ],
    [
      "two devices to one name",
      { eth1: { name: "c0" }, eth2: { name: "c0" } },
      [`linux.netDevices["eth2"].name "c0": would be the container's interface "c0", as linux.netDevices["eth1"] already is`],
    ],
    [
      "a rename onto another's kept name",
      { c0: {}, eth2: { name: "c0" } },
      [`linux.netDevices["eth2"].name "c0": would be the container's interface "c0", as linux.netDevices["c0"] already is`],
    ],
    ["a name not a string is the schema's", { eth1: { name: 5 } }, [`linux.netDevices.eth1.name 5: must be a string`]],
  ])("%s", (_name, netDevices, want) => {
    expect(configLines(netDevices)).toEqual(want.map((w) => P + w));
  });

  test("without a network namespace, that is said once, and the names are still checked", () => {
    const lines = configLines(
      { "a/b": {} },
      (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "network")),
    );
    expect(lines).toEqual([
      P + "linux.netDevices: needs a network namespace, and linux.namespaces has none",
      P + `linux.netDevices["a/b"]: an interface name must not contain "/"`,
    ]);
  });

  test("a joined network namespace is a network namespace", () => {
    expect(
      configLines(
        { eth1: {} },
        (c) =>
          (c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
            n.type === "network" ? { type: "network", path: "/run/netns/x" } : n,
          )),
      ),
    ).toEqual([]);
  });

  test("interfaceNameProblem and matchesNameTemplate agree with the kernel's rules", () => {
    expect(interfaceNameProblem(".", true)).toMatch(/not a valid/);
    expect(interfaceNameProblem("a\0b", true)).toMatch(/NUL/);
    expect(interfaceNameProblem("eth%d", true)).toBeUndefined();
    expect(interfaceNameProblem("%d", true)).toBeUndefined();
    expect(matchesNameTemplate("eth%d", "eth0")).toBe(true);
    expect(matchesNameTemplate("eth%d", "eth12")).toBe(true);
    expect(matchesNameTemplate("eth%d", "eth")).toBe(false);
    expect(matchesNameTemplate("eth%d", "eth01")).toBe(false);
    expect(matchesNameTemplate("eth%d", "ethx")).toBe(false);
    expect(matchesNameTemplate("n%dx", "n3x")).toBe(true);
    expect(matchesNameTemplate("c0", "c0")).toBe(true);
  });
});

const spec = (netDevices: Record<string, { name?: string }>): Spec => planInput((s) => (s.linux!.netDevices = netDevices)).spec;
const lo: NetLink = { index: 1, name: "lo", flags: IFF.UP | IFF.LOOPBACK };

describe("planNetDevices and netDeviceClashes: what can move, decided from the links", () => {
  const host: NetLink[] = [
    lo,
    { index: 2, name: "eth0", flags: IFF.UP },
    { index: 7, name: "bt1a", flags: 0 },
    { index: 8, name: "bt2a", flags: IFF.UP },
  ];

  test("each entry in the config's order, with its ifindex, final name and up state", () => {
    const { moves, problems } = planNetDevices(spec({ bt2a: { name: "c%d" }, bt1a: {} }), host);
    expect(problems).toEqual([]);
    expect(moves).toEqual([
      { origin: 'linux.netDevices["bt2a"]', hostName: "bt2a", index: 8, name: "c%d", template: true, wasUp: true },
      { origin: 'linux.netDevices["bt1a"]', hostName: "bt1a", index: 7, name: "bt1a", template: false, wasUp: false },
    ]);
  });

  test("a missing interface and the loopback device are problems at their keys", () => {
    const { moves, problems } = planNetDevices(spec({ eth9: {}, lo: { name: "x" }, bt1a: {} }), host);
    expect(moves.map((m) => m.hostName)).toEqual(["bt1a"]);
    expect(problemsError("create", "c1", problems).lines()).toEqual([
      P + `linux.netDevices["eth9"]: no such network interface in the runtime's network namespace`,
      P + `linux.netDevices["lo"]: is a loopback device: the kernel keeps it in its network namespace`,
    ]);
  });

  test("hostProblems reports them when the facts carry the runtime's links, and nothing otherwise", () => {
    const facts = {
      namespaces: { network: true },
      cgroup: { mode: "unified", controllers: [] },
      seccomp: { enabled: true, actions: [], flags: [], unknownSyscalls: () => [] },
      capLastCap: 40,
      rlimits: {},
    } as unknown as HostFacts;
    const s = spec({ eth9: {} });
    s.linux!.seccomp = undefined;
    expect(hostProblems(s, facts).filter((p) => p.field?.startsWith("linux.netDevices"))).toEqual([]);
    expect(hostProblems(s, { ...facts, netLinks: host }).filter((p) => p.field?.startsWith("linux.netDevices"))).toEqual([
      {
        field: 'linux.netDevices["eth9"]',
        value: undefined,
        reason: "no such network interface in the runtime's network namespace",
        severity: "error",
      },
    ]);
  });

  test("a name taken in the container's namespace is an error, at .name when renamed; a template never clashes", () => {
    const { moves } = planNetDevices(spec({ bt1a: { name: "lo" }, bt2a: {}, eth0: { name: "lo%d" } }), host);
    const problems = netDeviceClashes(moves, [lo, { index: 3, name: "bt2a", flags: 0 }]);
    expect(problemsError("create", "c1", problems).lines()).toEqual([
      P +
        `linux.netDevices["bt1a"].name "lo": the container's network namespace already has an interface named "lo" (a name ending in %d lets the kernel pick a free one)`,
      P +
        `linux.netDevices["bt2a"]: the container's network namespace already has an interface named "bt2a" (a name ending in %d lets the kernel pick a free one)`,
    ]);
  });
});

describe("addresses: the permanent, global ones go, as they were configured", () => {
  const v4: NetAddress = {
    family: "inet",
    prefixLength: 24,
    flags: IFA_F.PERMANENT,
    scope: 0,
    local: "10.9.0.1",
    address: "10.9.0.1",
    broadcast: "10.9.0.255",
    label: "bt1a",
  };
  const v4alias: NetAddress = {
    ...v4,
    local: "10.9.0.2",
    address: "10.9.0.2",
    flags: IFA_F.PERMANENT | IFA_F.SECONDARY,
    label: "bt1a:web",
  };
  const v6: NetAddress = {
    family: "inet6",
    prefixLength: 64,
    flags: IFA_F.PERMANENT | IFA_F.NODAD | IFA_F.NOPREFIXROUTE | IFA_F.TENTATIVE,
    scope: 0,
    address: "2001:db8::1",
  };
  const linkLocal: NetAddress = { family: "inet6", prefixLength: 64, flags: IFA_F.PERMANENT, scope: 253, address: "fe80::1" };
  const hostScope: NetAddress = { family: "inet", prefixLength: 8, flags: IFA_F.PERMANENT, scope: 254, local: "127.0.0.9" };
  const dynamic: NetAddress = { family: "inet6", prefixLength: 64, flags: IFA_F.MANAGETEMPADDR, scope: 0, address: "2001:db8::abcd" };

  test("IFA_F_PERMANENT and RT_SCOPE_UNIVERSE only, in the dump's order; state flags dropped, configuration kept", () => {
    expect(addressesToCarry([linkLocal, v4, dynamic, v6, hostScope, v4alias])).toEqual([
      { ...v4, flags: 0 },
      { ...v6, flags: IFA_F.NODAD | IFA_F.NOPREFIXROUTE },
      { ...v4alias, flags: 0 },
    ]);
  });

  test("IPv4 labels follow the rename; one too long or foreign stays the kernel's or as it was", () => {
    expect(addressForName(v4, "bt1a", "ceth0")).toEqual({
      family: "inet",
      prefixLength: 24,
      flags: IFA_F.PERMANENT,
      scope: 0,
      local: "10.9.0.1",
      address: "10.9.0.1",
      broadcast: "10.9.0.255",
    });
    expect(addressForName(v4alias, "bt1a", "ceth0").label).toBe("ceth0:web");
    expect("label" in addressForName(v4alias, "bt1a", "abcdefghijklm")).toBe(false);
    expect(addressForName({ ...v4, label: "other" }, "bt1a", "c").label).toBe("other");
    expect(addressForName(v6, "bt1a", "c")).toBe(v6);
  });
});

describe("findMovedLink: the moved device among the container's new links", () => {
  const move = (name: string, extra: Partial<NetDeviceMove> = {}): NetDeviceMove => ({
    origin: "x",
    hostName: "bt1a",
    index: 7,
    name,
    template: name.includes("%"),
    wasUp: false,
    ...extra,
  });
  const before: NetLink[] = [lo, { index: 7, name: "other", flags: 0 }];

  test("by its old ifindex when that was free there, else by its new name or template", () => {
    expect(findMovedLink(move("c0"), [lo], [lo, { index: 7, name: "c0", flags: 0 }])?.index).toBe(7);
    // ifindex 7 was taken there: the kernel gave it another.
    expect(findMovedLink(move("c0"), before, [...before, { index: 12, name: "c0", flags: 0 }])?.index).toBe(12);
    expect(findMovedLink(move("c%d"), before, [...before, { index: 12, name: "c3", flags: 0 }])?.name).toBe("c3");
  });

  test("after a failed move (a rename refused after the move): by its ifindex or its host name, never the new name's owner", () => {
    expect(
      findMovedLink(move("c0"), [lo], [lo, { index: 40, name: "c0", flags: 0 }, { index: 7, name: "bt1a", flags: 0 }], true)?.index,
    ).toBe(7);
    expect(
      findMovedLink(move("c0"), before, [...before, { index: 40, name: "c0", flags: 0 }, { index: 12, name: "bt1a", flags: 0 }], true)
        ?.index,
    ).toBe(12);
    expect(findMovedLink(move("c0"), before, [...before, { index: 40, name: "c0", flags: 0 }], true)).toBeUndefined();
  });

  test("never a device that only happens to be new (a joined namespace others change)", () => {
    expect(findMovedLink(move("c0"), [lo], [lo, { index: 30, name: "veth-x", flags: 0 }])).toBeUndefined();
    expect(
      findMovedLink(move("c%d"), [lo], [lo, { index: 30, name: "c1", flags: 0 }, { index: 31, name: "c2", flags: 0 }]),
    ).toBeUndefined();
  });
});

test("buildPlan: netDevicesSync once, after joining a network namespace and before the mounts", () => {
  const none = buildPlan(planInput());
  expect(none.ops.some((o) => o.op === "netDevicesSync")).toBe(false);
  const plan = buildPlan(
    planInput(
      (s) => {
        s.linux!.netDevices = { bt1a: { name: "c0" }, bt2a: {} };
        s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path: "/run/netns/n1" } : n));
      },
      { fds: { fifo: 3, namespaces: { network: 4 } } },
    ),
  );
  const ops = plan.ops.map((o) => o.op);
  expect(ops.filter((o) => o === "netDevicesSync")).toHaveLength(1);
  expect(plan.ops.slice(0, 2)).toEqual([
    { op: "setns", args: [4, 0x40000000], origin: "linux.namespaces[1]" },
    { op: "netDevicesSync", args: [], origin: "linux.netDevices" },
  ]);
  expect(ops.indexOf("netDevicesSync")).toBeLessThan(ops.indexOf("mount"));
});

// --- the calls create makes, against a model of two network namespaces

interface Dev extends NetLink {
  addrs: NetAddress[];
}
type NsName = "host" | "container";

class FakeKernel {
  calls: string[] = [];
  ns: Record<NsName, Map<number, Dev>> = { host: new Map(), container: new Map() };
  private sockets = new Map<number, NsName>();
  private nextSock = 1000;
  private nextIndex = 50;
  containerNsFd?: number;
  /** Call name (as recorded) -> the error it throws, once. */
  failures = new Map<string, Error>();

  add(ns: NsName, d: Omit<Dev, "addrs"> & { addrs?: NetAddress[] }): void {
    this.ns[ns].set(d.index, { addrs: [], ...d });
  }
  names(ns: NsName): string[] {
    return [...this.ns[ns].values()].map((d) => d.name).sort();
  }
  dev(ns: NsName, name: string): Dev | undefined {
    return [...this.ns[ns].values()].find((d) => d.name === name);
  }
  private call(name: string): void {
    this.calls.push(name);
    const f = this.failures.get(name);
    if (f) {
      this.failures.delete(name);
      throw f;
    }
  }
  private of(sock: number): Map<number, Dev> {
    const n = this.sockets.get(sock);
    if (!n) throw Object.assign(new Error("EBADF"), { code: "EBADF" });
    return this.ns[n];
  }
  private free(ns: Map<number, Dev>, template: string): string {
    for (let i = 0; ; i++) {
      const name = template.replace("%d", String(i));
      if (![...ns.values()].some((d) => d.name === name)) return name;
    }
  }

  native(): LifecycleNative {
    const errno = (code: string) => Object.assign(new Error(code), { code, errno: 0, syscall: "RTM_NEWLINK" });
    return {
      closeFd: (fd: number) => {
        this.calls.push(`close ${this.sockets.get(fd)}`);
        this.sockets.delete(fd);
      },
      netlinkOpen: (nsFd?: number) => {
        const where: NsName = nsFd === undefined ? "host" : "container";
        this.call(`open ${where}`);
        if (nsFd !== undefined) this.containerNsFd = nsFd;
        const fd = this.nextSock++;
        this.sockets.set(fd, where);
        return fd;
      },
      netLinks: (sock: number) => {
        this.call(`links ${this.sockets.get(sock)}`);
        return [...this.of(sock).values()].map(({ index, name, flags }) => ({ index, name, flags }));
      },
      netAddresses: (sock: number, index: number) => {
        this.call(`addrs ${index}`);
        return this.of(sock)
          .get(index)!
          .addrs.map((a) => ({ ...a }));
      },
      netLinkMove: (sock: number, index: number, nsFd: number, name: string) => {
        const from = this.of(sock);
        const toName: NsName = nsFd === this.containerNsFd ? "container" : "host";
        this.call(`move ${index} ${toName} ${name}`);
        const to = this.ns[toName];
        const d = from.get(index);
        if (!d) throw errno("ENODEV");
        const taken = (n: string) => [...to.values()].some((x) => x.name === n);
        // __dev_change_net_namespace: the pattern only when the current name is taken there.
        let newName = d.name;
        if (taken(d.name)) {
          if (name.includes("%")) newName = this.free(to, name);
          else if (taken(name)) throw errno("EEXIST");
          else newName = name;
        }
        from.delete(index);
        const newIndex = to.has(index) ? this.nextIndex++ : index;
        const moved: Dev = { index: newIndex, name: newName, flags: d.flags & ~IFF.UP, addrs: [] };
        to.set(newIndex, moved);
        // do_setlink: then the rename, in the new namespace.
        if (name !== moved.name) {
          if (name.includes("%")) moved.name = this.free(to, name);
          else if (taken(name)) throw errno("EEXIST");
          else moved.name = name;
        }
      },
      netAddressAdd: (sock: number, index: number, a: NetAddress) => {
        this.call(`addr+ ${index} ${a.local ?? a.address}`);
        const d = this.of(sock).get(index)!;
        if (d.addrs.some((x) => (x.local ?? x.address) === (a.local ?? a.address))) throw errno("EEXIST");
        d.addrs.push({ ...a, flags: a.flags | IFA_F.PERMANENT });
      },
      netLinkUp: (sock: number, index: number, up: boolean) => {
        this.call(`up ${index} ${up}`);
        const d = this.of(sock).get(index)!;
        d.flags = up ? d.flags | IFF.UP : d.flags & ~IFF.UP;
      },
    } as unknown as LifecycleNative;
  }
}

class FakeUndo implements UndoLog {
  steps: { what: string; fn: () => void }[] = [];
  finals: (() => void)[] = [];
  push(what: string, fn: () => void): void {
    this.steps.push({ what, fn });
  }
  finally(fn: () => void): void {
    this.finals.push(fn);
  }
  /** As create's: undo steps newest first (failures collected), then the finals. */
  run(): string[] {
    const failed: string[] = [];
    for (const s of this.steps.reverse()) {
      try {
        s.fn();
      } catch (err) {
        failed.push(`${s.what}: ${(err as Error).message}`);
      }
    }
    this.release();
    return failed;
  }
  release(): void {
    for (const f of this.finals.reverse()) f();
  }
}

const v4: NetAddress = {
  family: "inet",
  prefixLength: 24,
  flags: IFA_F.PERMANENT,
  scope: 0,
  local: "10.9.0.1",
  address: "10.9.0.1",
  broadcast: "10.9.0.255",
  label: "bt1a",
};
const v6: NetAddress = { family: "inet6", prefixLength: 64, flags: IFA_F.PERMANENT | IFA_F.NODAD, scope: 0, address: "2001:db8::1" };
const ll: NetAddress = { family: "inet6", prefixLength: 64, flags: IFA_F.PERMANENT, scope: 253, address: "fe80::1" };

function world(): FakeKernel {
  const k = new FakeKernel();
  k.add("host", { ...lo });
  k.add("host", { index: 2, name: "eth0", flags: IFF.UP });
  k.add("host", { index: 7, name: "bt1a", flags: IFF.UP, addrs: [ll, v4, v6] });
  k.add("host", { index: 8, name: "bt2a", flags: 0, addrs: [] });
  k.add("container", { ...lo });
  return k;
}

function move(k: FakeKernel, netDevices: Record<string, { name?: string }>): { undo: FakeUndo; error?: BerthError } {
  const undo = new FakeUndo();
  try {
    moveNetDevices(k.native(), "c1", spec(netDevices), process.pid, undo);
    return { undo };
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return { undo, error: err as BerthError };
  }
}

describe("moveNetDevices: the calls, and a failed create leaves the host as it was", () => {
  test("moved, renamed, its permanent global addresses added back (label renamed), up; the handles released at the end", () => {
    const k = world();
    const { undo, error } = move(k, { bt1a: { name: "ceth0" }, bt2a: { name: "net%d" } });
    expect(error).toBeUndefined();
    expect(k.names("host")).toEqual(["eth0", "lo"]);
    expect(k.names("container")).toEqual(["ceth0", "lo", "net0"]);
    const c = k.dev("container", "ceth0")!;
    expect(c.index).toBe(7);
    expect(c.flags & IFF.UP).toBe(IFF.UP);
    expect(c.addrs.map((a) => [a.local ?? a.address, a.label, a.flags])).toEqual([
      ["10.9.0.1", undefined, IFA_F.PERMANENT],
      ["2001:db8::1", undefined, IFA_F.PERMANENT | IFA_F.NODAD],
    ]);
    expect(k.dev("container", "net0")!.flags & IFF.UP).toBe(IFF.UP);
    expect(k.calls).toEqual([
      "open host",
      "open container",
      "links host",
      "links container",
      "addrs 7",
      "move 7 container ceth0",
      "links container",
      "addr+ 7 10.9.0.1",
      "addr+ 7 2001:db8::1",
      "up 7 true",
      "addrs 8",
      "move 8 container net%d",
      "links container",
      "up 8 true",
    ]);
    undo.release();
    expect(k.calls.slice(-2)).toEqual(["close host", "close container"]);
  });

  test("a name taken in the container (lo) is refused before anything moves", () => {
    const k = world();
    const { undo, error } = move(k, { bt2a: {}, bt1a: { name: "lo" } });
    expect(error!.message).toBe(
      P +
        `linux.netDevices["bt1a"].name "lo": the container's network namespace already has an interface named "lo" (a name ending in %d lets the kernel pick a free one)`,
    );
    expect(k.calls.some((c) => c.startsWith("move"))).toBe(false);
    expect(undo.run()).toEqual([]);
    expect(k.names("host")).toEqual(["bt1a", "bt2a", "eth0", "lo"]);
  });

  test("a missing interface is refused before anything moves", () => {
    const k = world();
    const { error } = move(k, { bt2a: {}, eth9: {} });
    expect(error!.message).toBe(P + `linux.netDevices["eth9"]: no such network interface in the runtime's network namespace`);
    expect(k.calls.some((c) => c.startsWith("move"))).toBe(false);
  });

  const failing: [string, string, string][] = [
    ["the second move", "move 8 container bt2a", `linux.netDevices["bt2a"]: move into the container's network namespace: no such device`],
    [
      "an address",
      "addr+ 7 2001:db8::1",
      `linux.netDevices["bt1a"]: add address 2001:db8::1/64 in the container's network namespace: permission denied`,
    ],
    ["setting it up", "up 8 true", `linux.netDevices["bt2a"]: set "bt2a" up in the container's network namespace: network is down`],
  ];
  test.each(failing)(
    "failing %s: the error at the device, and every device back under its host name, with its addresses and state",
    (_what, call, message) => {
      const k = world();
      const code = message.endsWith("no such device") ? "ENODEV" : message.endsWith("permission denied") ? "EACCES" : "ENETDOWN";
      k.failures.set(call, Object.assign(new Error(code), { code }));
      const { undo, error } = move(k, { bt1a: { name: "ceth0" }, bt2a: {} });
      expect(error!.message).toBe(P + message);
      expect(undo.run()).toEqual([]);
      expect(k.names("container")).toEqual(["lo"]);
      expect(k.names("host")).toEqual(["bt1a", "bt2a", "eth0", "lo"]);
      const back = k.dev("host", "bt1a")!;
      expect(back.flags & IFF.UP).toBe(IFF.UP);
      // What it carried; the link-local address the move dropped is the kernel's to make again.
      expect(back.addrs.map((a) => a.local ?? a.address)).toEqual(["10.9.0.1", "2001:db8::1"]);
      expect(k.dev("host", "bt2a")!.flags & IFF.UP).toBe(0);
      expect(k.calls.slice(-2)).toEqual(["close host", "close container"]);
    },
  );

  test("a rename the kernel refuses after moving (a name taken meanwhile) still moves it back", () => {
    const k = world();
    // The clash check sees a free name; then something takes it before the move.
    const native = k.native();
    const links = native.netLinks!.bind(native);
    let n = 0;
    (native as { netLinks: unknown }).netLinks = (sock: number) => {
      const out = links(sock);
      if (++n === 2) k.add("container", { index: 40, name: "ceth0", flags: 0 });
      return out;
    };
    const undo = new FakeUndo();
    let error: BerthError | undefined;
    try {
      moveNetDevices(native, "c1", spec({ bt1a: { name: "ceth0" } }), process.pid, undo);
    } catch (err) {
      error = err as BerthError;
    }
    expect(error!.message).toBe(P + `linux.netDevices["bt1a"].name: move into the container's network namespace: file already exists`);
    expect(k.names("container")).toEqual(["bt1a", "ceth0", "lo"]);
    expect(undo.run()).toEqual([]);
    expect(k.names("container")).toEqual(["ceth0", "lo"]);
    expect(k.dev("host", "bt1a")!.addrs.map((a) => a.local ?? a.address)).toEqual(["10.9.0.1", "2001:db8::1"]);
  });

  test("a move back that fails is reported, and the other devices still go back", () => {
    const k = world();
    k.failures.set("up 8 true", Object.assign(new Error("ENETDOWN"), { code: "ENETDOWN" }));
    const { undo, error } = move(k, { bt1a: {}, bt2a: {} });
    expect(error).toBeDefined();
    // The host took an interface named bt2a meanwhile: bt2a cannot go back under its name.
    k.add("host", { index: 90, name: "bt2a", flags: 0 });
    expect(undo.run()).toEqual(['move network interface "bt2a" back to the runtime\'s network namespace: EEXIST']);
    expect(k.names("host")).toEqual(["bt1a", "bt2a", "eth0", "lo"]);
    expect(k.names("container")).toEqual(["bt2a", "lo"]);
  });
});
