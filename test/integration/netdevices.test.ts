/**
 * linux.netDevices for real, as root (config-linux.md "Network Devices"): a veth pair made for
 * each test (this host's kernel has veth, no dummy driver), one end given addresses and moved
 * into a container. What the container sees (busybox ip), what the host is left with (ip,
 * /sys/class/net), and what a failed create leaves: the interface back as it was, no state
 * directory, no cgroup. Every interface made here carries this run's pid in its name and is
 * deleted afterwards (deleting either end of a veth deletes both; an end moved into a
 * container goes with its network namespace).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { berth } from "../helpers/cli";
import { cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";

const bundles: TestBundle[] = [];
const made: { root: string; id: string }[] = [];
const links: string[] = [];
let seq = 0;

const uniq = (b: TestBundle, name: string) => {
  const id = `t-nd-${name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  made.push({ root: b.root, id });
  return id;
};
function bundle(args: string[], mutate?: (c: TestBundle["config"]) => void): TestBundle {
  const b = makeBundle(args, mutate);
  bundles.push(b);
  return b;
}
const run = (b: TestBundle, args: string[]) => berth(["--root", b.root, ...args]);
const ok = { exitCode: 0, stderr: "" };

const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8" });
const hasLink = (name: string) => spawnSync("ip", ["link", "show", "dev", name], { stdio: "ignore" }).status === 0;

/**
 * A veth pair "bt<pid><n>a" / "...b": the a end, down, with two permanent global addresses
 * (IPv4, and IPv6 with nodad, so it is not tentative), a dynamic one and a link-scoped one
 * (which must stay behind); the b end stays on the host, up.
 */
function vethPair(): { a: string; b: string; v4: string; v6: string; n: number } {
  const n = ++seq;
  const a = `bt${process.pid}${n}a`;
  const b = `bt${process.pid}${n}b`;
  links.push(b, a);
  ip("link", "add", a, "type", "veth", "peer", "name", b);
  const net = 10 + ((process.pid * 7 + n) % 200);
  const v4 = `10.231.${net}.1`;
  const v6 = `2001:db8:${(process.pid % 0xffff).toString(16)}:${n}::1`;
  ip("addr", "add", `${v4}/24`, "brd", "+", "dev", a);
  ip("addr", "add", `10.233.${net}.1/24`, "dev", a, "label", `${a}:w`);
  ip("-6", "addr", "add", `${v6}/64`, "dev", a, "nodad");
  ip("addr", "add", `10.232.${net}.1/24`, "dev", a, "valid_lft", "300", "preferred_lft", "300");
  ip("addr", "add", `169.254.${net}.1/16`, "dev", a, "scope", "link");
  ip("link", "set", b, "up");
  return { a, b, v4, v6, n };
}

/** Until `cond` holds (the kernel frees a network namespace asynchronously), at most 5 s. */
function waitFor(cond: () => boolean): boolean {
  for (let i = 0; i < 100; i++) {
    if (cond()) return true;
    execFileSync("sleep", ["0.05"]);
  }
  return cond();
}

afterEach(() => {
  for (const { root, id } of made.splice(0)) berth(["--root", root, "delete", "--force", id]);
  for (const b of bundles.splice(0)) b.cleanup();
  // Only the interfaces this file made; the b end takes its peer with it.
  for (const l of links.splice(0)) if (hasLink(l)) spawnSync("ip", ["link", "del", "dev", l]);
});

/** Inside a running container: `ip -o addr` and `ip -o link` of one interface, and its flags. */
function inside(b: TestBundle, id: string, dev: string): { addrs: string; link: string; flags: number } {
  const r = run(b, [
    "exec",
    id,
    "sh",
    "-c",
    `ip -o addr show dev ${dev}; echo --; ip -o link show dev ${dev}; echo --; cat /sys/class/net/${dev}/flags`,
  ]);
  expect(r).toMatchObject(ok);
  const [addrs, link, flags] = r.stdout.split("--\n");
  return { addrs: addrs!, link: link!, flags: Number(flags!.trim()) };
}

const IFF_UP = 0x1;

test("moved and renamed: the container has it, up, with its permanent global addresses; the host no longer has it", () => {
  const v = vethPair();
  const b = bundle(["sleep", "300"], (c) => (c.linux.netDevices = { [v.a]: { name: "ceth0" } }));
  const id = uniq(b, "move");
  expect(run(b, ["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });

  const seen = inside(b, id, "ceth0");
  expect(seen.flags & IFF_UP).toBe(IFF_UP);
  expect(seen.link).toMatch(/^\d+: ceth0@\S+: <[^>]*\bUP\b/);
  expect(seen.addrs).toContain(`inet ${v.v4}/24 `);
  expect(seen.addrs).toContain(`inet6 ${v.v6}/64 `);
  // Not carried: the dynamic address and the link-scoped one.
  expect(seen.addrs).not.toMatch(/10\.232\.|169\.254\./);
  // The IPv4 address kept its broadcast; an alias label follows the new name.
  expect(seen.addrs).toMatch(new RegExp(`inet ${v.v4.replace(/\./g, "\\.")}/24 brd 10\\.231\\.\\d+\\.255 scope global ceth0[\\s\\\\]`));
  expect(seen.addrs).toMatch(/inet 10\.233\.\d+\.1\/24 scope global ceth0:w[\s\\]/);

  expect(hasLink(v.a)).toBe(false);
  expect(existsSync(`/sys/class/net/${v.a}`)).toBe(false);
  const pid = JSON.parse(run(b, ["state", id]).stdout).pid as number;
  // The peer on the host now points into the container's namespace.
  expect(ip("-o", "link", "show", "dev", v.b)).toMatch(/link-netnsid \d+/);
  expect(readFileSync(`/proc/${pid}/net/dev`, "utf8")).toMatch(/^\s*ceth0:/m);

  // delete: nothing is moved back (config-linux.md: MUST NOT); the kernel destroys the veth
  // with the namespace, so its peer goes too, and the host never sees the a end again.
  expect(run(b, ["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(waitFor(() => !hasLink(v.b))).toBe(true);
  expect(hasLink(v.a)).toBe(false);
  expect(hasLink("ceth0")).toBe(false);
});

test("a %d template: the kernel names it, and a name taken by a template is not a clash", () => {
  const v = vethPair();
  const w = vethPair();
  const b = bundle(["sleep", "300"], (c) => (c.linux.netDevices = { [v.a]: { name: "net%d" }, [w.a]: { name: "net%d" } }));
  const id = uniq(b, "template");
  expect(run(b, ["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const r = run(b, ["exec", id, "ls", "/sys/class/net"]);
  expect(r).toMatchObject(ok);
  expect(r.stdout.split(/\s+/).filter(Boolean).sort()).toEqual(["lo", "net0", "net1"]);
  // Each has the addresses of the device it came from.
  const net0 = inside(b, id, "net0").addrs + inside(b, id, "net1").addrs;
  expect(net0).toContain(`inet ${v.v4}/24`);
  expect(net0).toContain(`inet ${w.v4}/24`);
});

test("without a name the host's is kept, also in a new user namespace", () => {
  const v = vethPair();
  const b = bundle(["sleep", "300"], (c) => {
    c.linux.netDevices = { [v.a]: {} };
    c.linux.namespaces.push({ type: "user" });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    // cgroup v1 hierarchies cannot be mounted from a non-initial user namespace.
    c.mounts = c.mounts.filter((m: { type: string }) => m.type !== "cgroup");
  });
  const id = uniq(b, "userns");
  expect(run(b, ["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const seen = inside(b, id, v.a);
  expect(seen.flags & IFF_UP).toBe(IFF_UP);
  expect(seen.addrs).toContain(`inet6 ${v.v6}/64 `);
  expect(hasLink(v.a)).toBe(false);
});

test("a joined network namespace: the device goes there, and stays there when the joining container is deleted", () => {
  const v = vethPair();
  const owner = bundle(["sleep", "300"]);
  const ownerId = uniq(owner, "owner");
  expect(run(owner, ["run", "-d", "-b", owner.dir, ownerId])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const ownerPid = JSON.parse(run(owner, ["state", ownerId]).stdout).pid as number;

  const b = bundle(["sleep", "300"], (c) => {
    c.linux.netDevices = { [v.a]: { name: "joined0" } };
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === "network" ? { type: "network", path: `/proc/${ownerPid}/ns/net` } : n,
    );
  });
  const id = uniq(b, "joiner");
  expect(run(b, ["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(inside(owner, ownerId, "joined0").addrs).toContain(`inet ${v.v4}/24`);
  expect(run(b, ["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  // Still in the owner's namespace, not moved back.
  expect(inside(owner, ownerId, "joined0").flags & IFF_UP).toBe(IFF_UP);
  expect(hasLink(v.a)).toBe(false);
});

/** What a failed create must leave: no state directory, no cgroup, the interface as it was. */
function expectNothingLeft(b: TestBundle, cgroupsPath: string): void {
  expect(existsSync(b.root) ? readdirSync(b.root) : []).toEqual([]);
  expect(cgroupDirsFor(cgroupsPath)).toEqual([]);
}

function expectOnHostAsBefore(v: { a: string; v4: string; v6: string }, up: boolean): void {
  expect(hasLink(v.a)).toBe(true);
  const addrs = ip("-o", "addr", "show", "dev", v.a);
  expect(addrs).toContain(`inet ${v.v4}/24`);
  expect(addrs).toContain(`inet6 ${v.v6}/64`);
  expect((Number(readFileSync(`/sys/class/net/${v.a}/flags`, "utf8")) & IFF_UP) !== 0).toBe(up);
}

test("a missing interface: a clear error at its key, and nothing left behind", () => {
  const v = vethPair();
  const cgroupsPath = `/berth-test-nd-missing-${process.pid}`;
  const b = bundle(["true"], (c) => {
    c.linux.cgroupsPath = cgroupsPath;
    c.linux.netDevices = { [v.a]: { name: "c0" }, [`bt${process.pid}zz`]: {} };
  });
  const id = uniq(b, "missing");
  expect(run(b, ["create", "-b", b.dir, id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: create ${id}: linux.netDevices["bt${process.pid}zz"]: no such network interface in the runtime's network namespace\n`,
  });
  expectNothingLeft(b, cgroupsPath);
  // The one that exists was not touched.
  expectOnHostAsBefore(v, false);
  // berth check says the same, before anything is tried.
  const check = berth(["check", "-b", b.dir]);
  expect(check.exitCode).not.toBe(0);
  expect(check.stdout + check.stderr).toContain(`linux.netDevices["bt${process.pid}zz"]`);
});

test("a name that exists in the container's namespace (lo): an error, and the device never leaves the host", () => {
  const v = vethPair();
  ip("link", "set", v.a, "up");
  const cgroupsPath = `/berth-test-nd-clash-${process.pid}`;
  const b = bundle(["true"], (c) => {
    c.linux.cgroupsPath = cgroupsPath;
    c.linux.netDevices = { [v.a]: { name: "lo" } };
  });
  const id = uniq(b, "clash");
  expect(run(b, ["create", "-b", b.dir, id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: create ${id}: linux.netDevices["${v.a}"].name "lo": the container's network namespace already has an interface named "lo" (a name ending in %d lets the kernel pick a free one)\n`,
  });
  expectNothingLeft(b, cgroupsPath);
  expectOnHostAsBefore(v, true);
});

test("a create that fails after the move (a later mount) moves the device back, with its addresses and state", () => {
  const v = vethPair();
  ip("link", "set", v.a, "up");
  const cgroupsPath = `/berth-test-nd-rollback-${process.pid}`;
  const b = bundle(["true"], (c) => {
    c.linux.cgroupsPath = cgroupsPath;
    c.linux.netDevices = { [v.a]: { name: "ceth0" } };
    c.mounts.push({ destination: "/broken", type: "no-such-fs", source: "none" });
  });
  const id = uniq(b, "rollback");
  const r = run(b, ["create", "-b", b.dir, id]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(/^berth: create \S+: mounts\[\d+\]: mount none on \/broken: no such device\n$/);
  expectNothingLeft(b, cgroupsPath);
  expectOnHostAsBefore(v, true);
  expect(hasLink("ceth0")).toBe(false);
});

test("a name the kernel refuses is an error at the field before anything is made", () => {
  const v = vethPair();
  const b = bundle(["true"], (c) => (c.linux.netDevices = { [v.a]: { name: "a/b" } }));
  const id = uniq(b, "badname");
  expect(run(b, ["create", "-b", b.dir, id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: create ${id}: linux.netDevices["${v.a}"].name "a/b": an interface name must not contain "/"\n`,
  });
  expectOnHostAsBefore(v, false);
});

test("berth features says netDevices are supported", () => {
  const r = berth(["features"]);
  expect(r).toMatchObject(ok);
  expect(JSON.parse(r.stdout).linux.netDevices).toEqual({ enabled: true });
});
