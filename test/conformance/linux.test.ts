/**
 * Conformance: config-linux.md (namespaces, devices, cgroups, sysctl), runtime-linux.md (/dev
 * links) and the filesystem clauses of config.md (root, mounts), as our probe sees them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirsFor } from "../helpers/bundle";
import { bundle, clause, mounts, privateRootfs, probe, run, tryRun, uniq } from "./harness";

const procName = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
} as const;
type NsType = keyof typeof procName;
const EROFS = 30;
const EACCES = 13;
const EPERM = 1;
const ENOENT = 2;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const userMaps = (c: Record<string, any>) => {
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.mounts = c.mounts.filter((m: { type: string }) => m.type !== "cgroup");
};

for (const type of Object.keys(procName) as NsType[]) {
  const observe = () => {
    const p = probe((c) => {
      if (!c.linux.namespaces.some((n: { type: string }) => n.type === type)) c.linux.namespaces.push({ type });
      if (type === "user") userMaps(c);
    });
    expect(p.ns[procName[type]]).not.toBe(readlinkSync(`/proc/self/ns/${procName[type]}`));
  };
  // Time namespaces need CONFIG_TIME_NS, which User-Mode Linux (the v2 guest) cannot have.
  if (type === "time") clause.on("time-namespace", "config-linux.md#namespaces/new", type, observe);
  else clause("config-linux.md#namespaces/new", type, observe);
}

clause("config-linux.md#namespaces/inherit", "no network, ipc, uts namespace listed", () => {
  const p = probe((c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => !["network", "ipc", "uts"].includes(n.type));
    delete c.hostname;
  });
  for (const t of ["net", "ipc", "uts", "user", "cgroup"]) expect([t, p.ns[t]]).toEqual([t, readlinkSync(`/proc/self/ns/${t}`)]);
});

clause("config-linux.md#namespaces/inherit", "no namespace listed at all, mount and pid included (runtime-tools linux_ns_itype)", () => {
  const p = probe((c) => {
    c.linux.namespaces = [];
    delete c.hostname;
    delete c.linux.maskedPaths;
    delete c.linux.readonlyPaths;
    c.root.readonly = false;
  });
  for (const t of ["mnt", "pid", "net", "ipc", "uts", "user", "cgroup"])
    expect([t, p.ns[t]]).toEqual([t, readlinkSync(`/proc/self/ns/${t}`)]);
  // Its mounts were made in the host's table, under the rootfs; delete (after the probe) took them away.
  const root = privateRootfs();
  expect(
    readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.split(" ")[4]?.startsWith(`${root}/`)),
  ).toEqual([]);
});

clause("config-linux.md#namespaces/path-join", "network and ipc of a running container", () => {
  const other = bundle(["sleep", "300"]);
  const oid = uniq(other, "ns-host");
  expect(run(other, ["run", "-d", "-b", other.dir, oid]).exitCode).toBe(0);
  const pid = JSON.parse(run(other, ["state", oid]).stdout).pid;
  const p = probe((c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === "network"
        ? { type: "network", path: `/proc/${pid}/ns/net` }
        : n.type === "ipc"
          ? { type: "ipc", path: `/proc/${pid}/ns/ipc` }
          : n,
    );
  });
  expect([p.ns.net, p.ns.ipc]).toEqual([readlinkSync(`/proc/${pid}/ns/net`), readlinkSync(`/proc/${pid}/ns/ipc`)]);
});

clause("config-linux.md#namespaces/path-wrong-type", "a uts namespace path given as network", () => {
  const r = tryRun((c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === "network" ? { type: "network", path: "/proc/self/ns/uts" } : n,
    );
  });
  expect(r.r.exitCode).not.toBe(0);
  expect(r.r.stderr).toMatch(/namespaces\[\d+\]/);
});

clause("config-linux.md#namespaces/duplicate", "pid twice", () => {
  const r = tryRun((c) => c.linux.namespaces.push({ type: "pid" }));
  expect(r.r.exitCode).not.toBe(0);
  expect(r.r.stderr).toMatch(/namespaces/);
});

clause("config-linux.md#default-devices/supply", "character devices with the kernel's numbers", () => {
  const d = probe().devices;
  const want: Record<string, [number, number]> = {
    "/dev/null": [1, 3],
    "/dev/zero": [1, 5],
    "/dev/full": [1, 7],
    "/dev/random": [1, 8],
    "/dev/urandom": [1, 9],
    "/dev/tty": [5, 0],
  };
  for (const [path, [maj, min]] of Object.entries(want))
    expect([path, d[path].type, d[path].major, d[path].minor]).toEqual([path, "c", maj, min]);
  const ptmx = d["/dev/ptmx"];
  expect(ptmx.type === "l" ? ptmx.target.replace(/^\/dev\//, "") : `${ptmx.type}${ptmx.major}`).toMatch(/^pts\/ptmx$|^c5$/);
});

clause("runtime-linux.md#dev-symbolic-links/create", undefined, () => {
  const d = probe().devices;
  expect([d["/dev/fd"].target, d["/dev/stdin"].target, d["/dev/stdout"].target, d["/dev/stderr"].target]).toEqual([
    "/proc/self/fd",
    "/proc/self/fd/0",
    "/proc/self/fd/1",
    "/proc/self/fd/2",
  ]);
});

clause("config-linux.md#devices/available", "a char device at /dev/conf-dev with its mode and owner", () => {
  const d = probe((c) => (c.linux.devices = [{ path: "/dev/conf-dev", type: "c", major: 1, minor: 3, fileMode: 0o640, uid: 12, gid: 34 }]))
    .devices["/dev/conf-dev"];
  expect(d).toEqual({ type: "c", major: 1, minor: 3, mode: 0o640, uid: 12, gid: 34 });
});

clause("config-linux.md#devices/mismatch", "a regular file already at the device path", () => {
  const r = tryRun((c) => (c.linux.devices = [{ path: "/etc/passwd", type: "c", major: 1, minor: 3 }]));
  expect(r.r.exitCode).not.toBe(0);
  expect(r.r.stderr).toMatch(/devices\[0\]/);
});

clause("runtime.md#create/apply-properties", "the default filesystems: proc, sysfs, devpts, tmpfs at /dev/shm", () => {
  const m = mounts(probe().mountinfo);
  const at = (p: string) => m.filter((x) => x.point === p).at(-1)?.fstype;
  expect([at("/proc"), at("/sys"), at("/dev/pts"), at("/dev/shm"), at("/dev")]).toEqual(["proc", "sysfs", "devpts", "tmpfs", "tmpfs"]);
});

clause("runtime.md#create/apply-properties", "maskedPaths: a file reads empty, a directory is empty and read-only", () => {
  // A directory of the rootfs with a file in it (a /proc directory such as /proc/acpi exists
  // only on some kernels: not under User-Mode Linux).
  mkdirSync(join(privateRootfs(), "root/masked"), { recursive: true });
  writeFileSync(join(privateRootfs(), "root/masked/secret"), "secret");
  const p = probe(
    (c) => {
      c.linux.maskedPaths = ["/proc/version", "/root/masked", "/etc/passwd"];
      c.linux.readonlyPaths = [];
    },
    ["r:/etc/passwd", "r:/proc/version", "r:/root/masked/secret", "c:/root/masked/x"],
  );
  expect(p.files["r:/etc/passwd"]).toEqual({ content: "" });
  expect(p.files["r:/proc/version"]).toEqual({ content: "" });
  expect(p.files["r:/root/masked/secret"].errno).toBe(ENOENT);
  expect([EROFS, EACCES, EPERM]).toContain(p.files["c:/root/masked/x"].errno);
});

clause("runtime.md#create/apply-properties", "readonlyPaths: writes fail, reads work", () => {
  const p = probe(
    (c) => {
      c.root.readonly = false;
      c.linux.readonlyPaths = ["/proc/sys", "/etc"];
    },
    ["w:/proc/sys/kernel/hostname", "c:/etc/conf-new", "r:/etc/group", "c:/tmp/conf-new"],
  );
  expect(p.files["w:/proc/sys/kernel/hostname"].errno).toBe(EROFS);
  expect(p.files["c:/etc/conf-new"].errno).toBe(EROFS);
  expect(p.files["r:/etc/group"]).toEqual({ content: "root:x:0:\n" });
  expect(p.files["c:/tmp/conf-new"].errno).toBe(0);
});

clause("runtime.md#create/apply-properties", "sysctl in the container's ipc and network namespaces", () => {
  const p = probe(
    (c) => (c.linux.sysctl = { "kernel.shmmni": "1234", "net.ipv4.ip_forward": "1" }),
    ["r:/proc/sys/kernel/shmmni", "r:/proc/sys/net/ipv4/ip_forward"],
  );
  expect([p.files["r:/proc/sys/kernel/shmmni"].content, p.files["r:/proc/sys/net/ipv4/ip_forward"].content]).toEqual(["1234\n", "1\n"]);
});

clause("config.md#root/readonly", "true: the root refuses a new file; false: it takes one", () => {
  expect(probe((c) => (c.root.readonly = true), ["c:/conf-new"]).files["c:/conf-new"].errno).toBe(EROFS);
  expect(probe((c) => (c.root.readonly = false), ["c:/conf-new"]).files["c:/conf-new"].errno).toBe(0);
});

clause("config.md#mounts/order", "tmpfs /mnt, then a tmpfs inside it, then a second tmpfs over /mnt: the later one wins", () => {
  const p = probe(
    (c) => {
      c.mounts.push({ destination: "/mnt", type: "tmpfs", source: "first", options: ["size=1m"] });
      c.mounts.push({ destination: "/mnt/inner", type: "tmpfs", source: "inner", options: ["size=1m"] });
      c.mounts.push({ destination: "/mnt", type: "tmpfs", source: "second", options: ["size=2m", "ro"] });
    },
    ["c:/mnt/x", "r:/mnt/inner"],
  );
  const m = mounts(p.mountinfo).filter((x) => x.point.startsWith("/mnt"));
  expect(m.map((x) => x.point)).toEqual(["/mnt", "/mnt/inner", "/mnt"]);
  expect(p.files["c:/mnt/x"].errno).toBe(EROFS);
});

clause("config.md#mounts/relative-destination", "destination tmp is /tmp", () => {
  const p = probe((c) => c.mounts.push({ destination: "tmp", type: "tmpfs", source: "rel", options: ["size=1m", "nosuid"] }));
  const tmp = mounts(p.mountinfo).filter((x) => x.point === "/tmp");
  expect(tmp.map((x) => x.fstype)).toEqual(["tmpfs"]);
});

clause("config.md#linux-mount-options/must", "ro, nosuid, nodev, noexec, noatime, bind, rbind, rprivate, strictatime", () => {
  const p = probe((c) => {
    c.mounts.push({ destination: "/mnt", type: "tmpfs", source: "opt", options: ["ro", "nosuid", "nodev", "noexec", "noatime"] });
    c.mounts.push({ destination: "/tmp", type: "bind", source: "/etc", options: ["rbind", "rprivate", "ro", "nosuid"] });
    c.mounts.push({
      destination: "/root",
      type: "tmpfs",
      source: "opt2",
      options: ["rw", "strictatime", "dev", "exec", "suid", "sync", "dirsync"],
    });
  });
  const m = mounts(p.mountinfo);
  const get = (pt: string) => m.filter((x) => x.point === pt).at(-1)!;
  expect(get("/mnt").opts).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec", "noatime"]));
  expect(get("/tmp").opts).toEqual(expect.arrayContaining(["ro", "nosuid"]));
  const root = get("/root");
  expect(root.opts).toContain("rw");
  expect(root.opts).not.toContain("noexec");
  expect(root.opts).not.toContain("relatime");
  expect(root.super).toEqual(expect.arrayContaining(["sync", "dirsync"]));
});

clause("config-linux.md#cgroups-path/absolute", "an absolute path lands under each hierarchy's mount point", () => {
  const path = `/conf-${process.pid}/c1`;
  const b = bundle(["sleep", "300"], (c) => (c.linux.cgroupsPath = path));
  const id = uniq(b, "cg");
  expect(run(b, ["create", "-b", b.dir, id]).exitCode).toBe(0);
  const dirs = cgroupDirsFor(path);
  expect(dirs.length).toBeGreaterThan(0);
  const pid = JSON.parse(run(b, ["state", id]).stdout).pid;
  for (const d of dirs)
    expect([d, readFileSync(join(d, "cgroup.procs"), "utf8").split("\n")]).toEqual([d, expect.arrayContaining([String(pid)])]);
  run(b, ["delete", "--force", id]);
  expect(cgroupDirsFor(path)).toEqual([]);
  // The parent berth made for this path is the test's to remove, if berth left it.
  for (const d of cgroupDirsFor(`/conf-${process.pid}`)) {
    try {
      require("node:fs").rmdirSync(d);
    } catch {
      /* not empty or gone */
    }
  }
});

clause("config-linux.md#cgroups-path/consistent", "the same cgroupsPath twice is the same cgroup", () => {
  const path = `/conf-${process.pid}/same`;
  const seen: string[] = [];
  for (const n of [1, 2]) {
    const b = bundle(["sleep", "300"], (c) => (c.linux.cgroupsPath = path));
    const id = uniq(b, `same${n}`);
    expect(run(b, ["create", "-b", b.dir, id]).exitCode).toBe(0);
    const pid = JSON.parse(run(b, ["state", id]).stdout).pid;
    seen.push(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
    run(b, ["delete", "--force", id]);
  }
  expect(seen[0]).toBe(seen[1]);
  expect(seen[0]).toContain(path);
  for (const d of cgroupDirsFor(`/conf-${process.pid}`)) {
    try {
      require("node:fs").rmdirSync(d);
    } catch {
      /* not empty or gone */
    }
  }
});

clause("config-linux.md#allowed-device-list/order", "allow then deny /dev/kmsg's numbers refuses it; deny then allow admits it", () => {
  const kmsg = { type: "c", major: 1, minor: 11 };
  const open = (rules: object[]) =>
    probe(
      (c) => {
        // Bound from the host (a node listed in linux.devices would do as well: it adds no rule).
        c.mounts.push({ destination: "/dev/conf-dev", type: "bind", source: "/dev/kmsg", options: ["bind"] });
        c.linux.resources = { devices: [{ allow: false, access: "rwm" }, ...rules] };
      },
      ["w:/dev/conf-dev"],
    ).files["w:/dev/conf-dev"].errno;
  expect(
    open([
      { allow: true, ...kmsg, access: "rwm" },
      { allow: false, ...kmsg, access: "rwm" },
    ]),
  ).toBe(EPERM);
  expect(
    open([
      { allow: false, ...kmsg, access: "rwm" },
      { allow: true, ...kmsg, access: "rwm" },
    ]),
  ).toBe(0);
});

clause("config-linux.md#namespaces/path-absolute", "a relative network namespace path", () => {
  const r = tryRun((c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === "network" ? { type: "network", path: "proc/1/ns/net" } : n,
    );
  });
  expect(r.r.exitCode).not.toBe(0);
  expect(r.r.stderr).toMatch(/namespaces\[\d+\]\.path/);
});

clause("config.md#posix-mounts/mappings-pair", "uidMappings without gidMappings on a bind mount", () => {
  const r = tryRun((c) => {
    c.mounts.push({
      destination: "/mnt",
      type: "bind",
      source: "/etc",
      options: ["bind", "idmap"],
      uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
    });
  });
  expect(r.r.exitCode).not.toBe(0);
  expect(r.r.stderr).toMatch(/mounts\[\d+\]/);
});

// config-linux.md "Network Devices": a veth pair per test (this host has veth, no dummy), the
// "a" end given addresses and moved in, the "b" end left on the host; both deleted afterwards
// (deleting either end of a veth deletes the pair).
const madeLinks: string[] = [];
let linkSeq = 0;
const ipCmd = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8" });
const hasLink = (name: string) => spawnSync("ip", ["link", "show", "dev", name], { stdio: "ignore" }).status === 0;
afterEach(() => {
  for (const l of madeLinks.splice(0)) if (hasLink(l)) spawnSync("ip", ["link", "del", "dev", l]);
});
function veth(): { a: string; b: string; v4: string; v6: string } {
  const n = ++linkSeq;
  const a = `cf${process.pid}${n}a`;
  const b = `cf${process.pid}${n}b`;
  madeLinks.push(b, a);
  ipCmd("link", "add", a, "type", "veth", "peer", "name", b);
  const net = 10 + ((process.pid * 3 + n) % 200);
  const v4 = `10.234.${net}.1`;
  const v6 = `2001:db8:c0f:${net.toString(16)}::1`;
  ipCmd("addr", "add", `${v4}/24`, "dev", a);
  ipCmd("-6", "addr", "add", `${v6}/64`, "dev", a, "nodad");
  return { a, b, v4, v6 };
}
/**
 * The interfaces in the container's network namespace, without the fallback tunnels a kernel
 * with sit/ipip/gre built in puts in every new namespace (sit0 in the UML guest).
 */
const interfaces = (ls: string) =>
  ls
    .split(/\s+/)
    .filter((n) => n && !/^(sit|tunl|ip6tnl|gre|gretap|erspan|ip6gre|ip_vti|ip6_vti)\d+$/.test(n))
    .sort();
/** A running container with these netDevices; `sh -c script` run inside it by exec. */
function withDevices(netDevices: Record<string, { name?: string }>) {
  const b = bundle(["sleep", "300"], (c) => (c.linux.netDevices = netDevices));
  const id = uniq(b, "netdev");
  const r = run(b, ["run", "-d", "-b", b.dir, id]);
  expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const sh = (script: string) => {
    const e = run(b, ["exec", id, "sh", "-c", script]);
    expect(e.stderr).toBe("");
    return e.stdout;
  };
  return { b, id, sh };
}

clause("config-linux.md#network-devices/move", "renamed, and without a name under the host's name; gone from the runtime namespace", () => {
  const v = veth();
  const w = veth();
  const { sh } = withDevices({ [v.a]: { name: "conf0" }, [w.a]: {} });
  expect(interfaces(sh("ls /sys/class/net"))).toEqual(["conf0", w.a, "lo"].sort());
  expect([hasLink(v.a), hasLink(w.a)]).toEqual([false, false]);
});

clause("config-linux.md#network-devices/check", "an interface the runtime namespace does not have", () => {
  const missing = `cf${process.pid}zz`;
  const r = tryRun((c) => (c.linux.netDevices = { [missing]: {} }));
  expect(r.r.exitCode).toBe(1);
  expect(r.r.stderr).toBe(
    `berth: create ${r.id}: linux.netDevices["${missing}"]: no such network interface in the runtime's network namespace\n`,
  );
});

clause("config-linux.md#network-devices/name-exists", "renamed to lo: an error, the device stays on the host", () => {
  const v = veth();
  const r = tryRun((c) => (c.linux.netDevices = { [v.a]: { name: "lo" } }));
  expect(r.r.exitCode).toBe(1);
  expect(r.r.stderr).toMatch(
    /linux\.netDevices\["[^"]+"\]\.name "lo": the container's network namespace already has an interface named "lo"/,
  );
  expect(hasLink(v.a)).toBe(true);
});

clause("config-linux.md#network-devices/name-exists", "a %d template twice: the kernel numbers them", () => {
  const v = veth();
  const w = veth();
  const { sh } = withDevices({ [v.a]: { name: "conf%d" }, [w.a]: { name: "conf%d" } });
  expect(interfaces(sh("ls /sys/class/net"))).toEqual(["conf0", "conf1", "lo"]);
});

clause("config-linux.md#network-devices/addresses", "an IPv4 and an IPv6 permanent global address", () => {
  const v = veth();
  const { sh } = withDevices({ [v.a]: { name: "conf0" } });
  const addrs = sh("ip -o addr show dev conf0");
  expect(addrs).toContain(`inet ${v.v4}/24 `);
  expect(addrs).toContain(`inet6 ${v.v6}/64 `);
});

clause("config-linux.md#network-devices/up", "IFF_UP in its flags inside", () => {
  const v = veth();
  const { sh } = withDevices({ [v.a]: { name: "conf0" } });
  expect(Number(sh("cat /sys/class/net/conf0/flags").trim()) & 0x1).toBe(0x1);
});

clause(
  "config-linux.md#network-devices/no-move-back",
  "after delete the veth is gone with the namespace, its end never back on the host",
  () => {
    const v = veth();
    const { b, id } = withDevices({ [v.a]: { name: "conf0" } });
    expect(run(b, ["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    // The kernel frees a network namespace asynchronously: the peer goes a moment later.
    for (let i = 0; i < 100 && hasLink(v.b); i++) execFileSync("sleep", ["0.05"]);
    expect([hasLink(v.a), hasLink(v.b), hasLink("conf0")]).toEqual([false, false, false]);
  },
);
