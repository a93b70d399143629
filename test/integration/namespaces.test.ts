/**
 * Namespaces, as the container's process sees them: each of the eight types new (its
 * /proc/self/ns link differs from the host's) or joined by path (it is the other process's),
 * a user namespace with the parent's maps or joined, and time namespace offsets.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { busyboxRootfs, makeBundle, type TestBundle } from "../helpers/bundle";

const bundles: TestBundle[] = [];
const made: { root: string; id: string }[] = [];
const uniq = (b: TestBundle, name: string) => {
  const id = `t-ns-${name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  made.push({ root: b.root, id });
  return id;
};
function bundle(args: string[], mutate?: (c: TestBundle["config"]) => void): TestBundle {
  const b = makeBundle(args, mutate);
  bundles.push(b);
  return b;
}
const run = (b: TestBundle, args: string[]) => berth(["--root", b.root, ...args]);

afterEach(() => {
  for (const { root, id } of made.splice(0)) berth(["--root", root, "delete", "--force", id]);
  for (const b of bundles.splice(0)) b.cleanup();
});

// /proc/self/ns names of the spec's types.
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
const allTypes = Object.keys(procName) as NsType[];

const userMaps = (c: TestBundle["config"]) => {
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  // cgroup v1 hierarchies cannot be mounted from a non-initial user namespace.
  c.mounts = c.mounts.filter((m: { type: string }) => m.type !== "cgroup");
};

const showNs = allTypes.map((t) => `readlink /proc/self/ns/${procName[t]}`).join("; ");

test("all eight namespace types, new: each differs from the host's", () => {
  const b = bundle(["sh", "-c", showNs], (c) => {
    c.linux.namespaces = allTypes.map((type) => ({ type }));
    userMaps(c);
  });
  const r = run(b, ["run", "-b", b.dir, uniq(b, "new")]);
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  const inside = r.stdout.trim().split("\n");
  expect(inside).toHaveLength(8);
  allTypes.forEach((t, i) => {
    expect(inside[i]).toMatch(new RegExp(`^${procName[t]}:\\[\\d+\\]$`));
    expect({ type: t, link: inside[i] }).not.toEqual({ type: t, link: readlinkSync(`/proc/self/ns/${procName[t]}`) });
  });
});

test("a new cgroup namespace is rooted at the container's own cgroups in every hierarchy (as runc's), with a user namespace too", () => {
  // Cloned with the namespace, its v1 roots would be the caller's cgroups (the process joins
  // its v1 cgroups after the clone), and a fresh cgroup mount would show the caller's tree.
  const show = "cat /proc/self/cgroup; test -e /sys/fs/cgroup/pids/pids.max && echo pids.max: own cgroup at the mount root";
  const plain = bundle(["sh", "-c", show], (c) => c.linux.namespaces.push({ type: "cgroup" }));
  const r = run(plain, ["run", "-b", plain.dir, uniq(plain, "cgns")]);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  const lines = r.stdout.trim().split("\n");
  const hierarchies = readFileSync("/proc/self/cgroup", "utf8").trim().split("\n").length;
  expect(lines.filter((l) => /^\d+:[^:]*:\/$/.test(l))).toHaveLength(hierarchies);
  if (readFileSync("/proc/self/cgroup", "utf8").includes(":pids:")) expect(lines.at(-1)).toBe("pids.max: own cgroup at the mount root");

  const withUser = bundle(["cat", "/proc/self/cgroup"], (c) => {
    c.linux.namespaces.push({ type: "cgroup" }, { type: "user" });
    userMaps(c);
  });
  const u = run(withUser, ["run", "-b", withUser.dir, uniq(withUser, "cgns-user")]);
  expect({ exitCode: u.exitCode, stderr: u.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(
    u.stdout
      .trim()
      .split("\n")
      .filter((l) => !/^\d+:[^:]*:\/$/.test(l)),
  ).toEqual([]);
});

test("joined by path: network, ipc, uts, pid, cgroup and time of another container, the rest new", () => {
  const a = bundle(["sleep", "300"], (c) => {
    c.hostname = "first";
    c.linux.namespaces = allTypes.filter((t) => t !== "user").map((type) => ({ type }));
  });
  const idA = uniq(a, "a");
  expect(run(a, ["run", "-d", "-b", a.dir, idA])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const pidA = JSON.parse(run(a, ["state", idA]).stdout).pid as number;
  const joined: NsType[] = ["network", "ipc", "uts", "pid", "cgroup", "time"];

  const b = bundle(["sh", "-c", `${showNs}; hostname; ps -o pid,comm | grep -c sleep`], (c) => {
    delete c.hostname; // the UTS namespace is joined, its hostname is the first container's
    c.linux.namespaces = [{ type: "mount" }, ...joined.map((type) => ({ type, path: `/proc/${pidA}/ns/${procName[type]}` }))];
  });
  const r = run(b, ["run", "-b", b.dir, uniq(b, "b")]);
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  const lines = r.stdout.trim().split("\n");
  allTypes.forEach((t, i) => {
    const theirs = readlinkSync(`/proc/${pidA}/ns/${procName[t]}`);
    if (joined.includes(t)) expect({ t, link: lines[i] }).toEqual({ t, link: theirs });
    else if (t === "user") expect(lines[i]).toBe(readlinkSync("/proc/self/ns/user"));
    else expect({ t, link: lines[i] }).not.toEqual({ t, link: theirs });
  });
  expect(lines[8]).toBe("first");
  expect(lines[9]).toBe("1"); // the first container's sleep is visible: same pid namespace
});

test("a user namespace joined by path: the other container's maps, root inside, its own other namespaces", () => {
  const a = bundle(["sleep", "300"], (c) => {
    c.linux.namespaces.push({ type: "user" });
    userMaps(c);
  });
  const idA = uniq(a, "ua");
  expect(run(a, ["run", "-d", "-b", a.dir, idA])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const pidA = JSON.parse(run(a, ["state", idA]).stdout).pid as number;

  const b = bundle(
    [
      "sh",
      "-c",
      "cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user; readlink /proc/self/ns/pid; echo pid=$$; grep CapEff /proc/self/status",
    ],
    (c) => {
      c.linux.namespaces.push({ type: "user", path: `/proc/${pidA}/ns/user` });
      c.mounts = c.mounts.filter((m: { type: string }) => m.type !== "cgroup");
      c.process.capabilities.effective.push("CAP_SYS_ADMIN");
      c.process.capabilities.bounding.push("CAP_SYS_ADMIN");
      c.process.capabilities.permitted.push("CAP_SYS_ADMIN");
    },
  );
  const r = run(b, ["run", "-b", b.dir, uniq(b, "ub")]);
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  const [map, uid, userLink, pidLink, pid, capEff] = r.stdout.trim().split("\n");
  expect(map!.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
  expect(uid).toBe("0");
  expect(userLink).toBe(readlinkSync(`/proc/${pidA}/ns/user`));
  expect(pidLink).not.toBe(readlinkSync(`/proc/${pidA}/ns/pid`));
  expect(pid).toBe("pid=1");
  expect(BigInt(`0x${capEff!.split(/\s+/)[1]}`) & (1n << 21n)).toBe(1n << 21n); // CAP_SYS_ADMIN
  // The init is owned by the host uid the namespace maps 0 to.
  expect(readFileSync(`/proc/${pidA}/status`, "utf8")).toMatch(/^Uid:\s+100000\s/m);
});

test("time namespace offsets: the container's boot and monotonic clocks are moved", () => {
  const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const b = bundle(["sh", "-c", "cut -d' ' -f1 /proc/uptime; readlink /proc/self/ns/time"], (c) => {
    c.linux.namespaces.push({ type: "time" });
    c.linux.timeOffsets = { boottime: { secs: 1_000_000, nanosecs: 0 }, monotonic: { secs: 500_000 } };
  });
  const r = run(b, ["run", "-b", b.dir, uniq(b, "time")]);
  expect(r.stderr).toBe("");
  const [uptime, link] = r.stdout.trim().split("\n");
  expect(Number(uptime)).toBeGreaterThanOrEqual(hostUptime + 1_000_000);
  expect(Number(uptime)).toBeLessThan(hostUptime + 1_000_000 + 60);
  expect(link).not.toBe(readlinkSync("/proc/self/ns/time"));
});

test("a namespace path that cannot be opened is named in the error and nothing is left", () => {
  const b = bundle(["true"], (c) => {
    c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
      n.type === "network" ? { type: "network", path: "/proc/999999999/ns/net" } : n,
    );
  });
  const id = uniq(b, "badpath");
  expect(run(b, ["create", "-b", b.dir, id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: expect.stringMatching(
      new RegExp(`^berth: create ${id}: linux\\.namespaces\\[\\d\\]\\.path "/proc/999999999/ns/net": open: no such file or directory\\n$`),
    ),
  });
  expect(run(b, ["state", id]).stderr).toBe(`berth: state ${id}: container does not exist\n`);
});

test("a session keyring of its own, named _ses.<id>; --no-new-keyring keeps the caller's", () => {
  // /proc/keys lists every keyring the caller may view, other containers' included: look for
  // this container's own name only.
  const b = bundle(["sh", "-c", "grep -o ' _ses[^:]*' /proc/keys"], (c) => {
    c.linux.maskedPaths = c.linux.maskedPaths.filter((p: string) => p !== "/proc/keys");
  });
  const id = uniq(b, "keys");
  const own = run(b, ["run", "-b", b.dir, id]);
  expect(own.exitCode).toBe(0);
  expect(own.stdout.split("\n")).toContain(` _ses.${id}`);
  const other = uniq(b, "nokeys");
  const kept = run(b, ["run", "--no-new-keyring", "-b", b.dir, other]);
  expect(kept.stdout.split("\n")).not.toContain(` _ses.${other}`);
});

describe("no mount namespace (runc and crun allow it)", () => {
  /** The container's mounts land in the host's table under its rootfs: give it a rootfs of its own. */
  function hostMountBundle(args: string[], mutate?: (c: TestBundle["config"]) => void): TestBundle & { rootfs: string } {
    const b = bundle(args, (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "mount");
      delete c.linux.maskedPaths;
      delete c.linux.readonlyPaths;
      c.root.readonly = false;
      mutate?.(c);
    });
    const rootfs = join(b.dir, "rootfs");
    execFileSync("cp", ["-a", busyboxRootfs(), rootfs]);
    b.config.root.path = rootfs;
    b.write();
    return { ...b, rootfs };
  }
  const hostMountsUnder = (dir: string) =>
    readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" "))
      .filter((f) => f[4] === dir || f[4]?.startsWith(`${dir}/`))
      .map((f) => `${f[4]!.slice(dir.length) || "/"} ${f[f.indexOf("-") + 1]}`);

  test("the host's mount namespace, its root by chroot; its mounts are under the rootfs until delete", () => {
    const b = hostMountBundle(["sleep", "300"]);
    const id = uniq(b, "nomnt");
    expect(run(b, ["create", "-b", b.dir, id])).toMatchObject({ exitCode: 0, stderr: "" });
    expect(run(b, ["start", id])).toMatchObject({ exitCode: 0, stderr: "" });
    // The host sees the container's mounts, made where the config says, under the rootfs.
    expect(hostMountsUnder(b.rootfs)).toEqual(expect.arrayContaining(["/proc proc", "/dev tmpfs", "/dev/pts devpts", "/sys sysfs"]));
    // What the container's processes see: the host's mount namespace, the rootfs as "/", its own pid namespace.
    const inside = run(b, [
      "exec",
      id,
      "sh",
      "-c",
      "readlink /proc/self/ns/mnt; test -e /bin/busybox && echo busybox-root; test -e /work && echo host-root; tr '\\0' ' ' < /proc/1/cmdline",
    ]);
    expect(inside).toMatchObject({ exitCode: 0, stderr: "" });
    const [mnt, ...rest] = inside.stdout.trim().split("\n");
    expect(mnt).toBe(readlinkSync("/proc/self/ns/mnt"));
    expect(rest).toEqual(["busybox-root", "sleep 300"]);
    expect(run(b, ["delete", "--force", id])).toMatchObject({ exitCode: 0, stderr: "" });
    expect(hostMountsUnder(b.rootfs)).toEqual([]);
  });

  test("what a private mount table is needed for is refused, naming the field, and nothing is left", () => {
    const b = hostMountBundle(["true"], (c) => (c.linux.maskedPaths = ["/proc/kcore"]));
    const id = uniq(b, "nomnt-masked");
    const r = run(b, ["create", "-b", b.dir, id]);
    expect(r).toMatchObject({ exitCode: 1, stdout: "" });
    expect(r.stderr).toBe(
      `berth: create ${id}: linux.maskedPaths: needs a mount namespace (add {"type": "mount"} to linux.namespaces): a path masked in the host's mounts would protect nothing\n`,
    );
    expect(hostMountsUnder(b.rootfs)).toEqual([]);
    expect(run(b, ["state", id]).stderr).toMatch(/container does not exist/);
  });

  test("a failing create unmounts what it had mounted in the host's table", () => {
    const b = hostMountBundle(["/no/such/program"]);
    const id = uniq(b, "nomnt-fail");
    const r = run(b, ["create", "-b", b.dir, id]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/process\.args\[0\]/);
    expect(hostMountsUnder(b.rootfs)).toEqual([]);
  });
});
