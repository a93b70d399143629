/**
 * Mounts and the root filesystem, as the process inside sees them (its /proc/self/mountinfo,
 * writes that work or fail, stat), and what the host is left with: no mount of ours under the
 * bundle, no state dir, no cgroup dirs. runtime-spec 1.3 config.md "Mounts", config-linux.md
 * "Root" and "rootfs mount propagation". As root; every test has its own bundle and --root.
 *
 * The rootfs is a private copy of the busybox one inside the bundle (root.path "rootfs",
 * relative), so mount destinations berth creates never touch the shared rootfs. Mounts the
 * test itself makes on the host (a shared mount, a submount, an overlay rootfs) are recorded
 * and unmounted after the test, before the bundle is removed.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { busyboxRootfs, cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

let b: TestBundle | undefined;
const ids = testIds("mnt");
/** Mount points this test made on the host, unmounted (newest first) after it. */
let ours: string[] = [];
/** Directories outside the bundle to remove after the test. */
let extraDirs: string[] = [];

const uniq = ids.uniq;
const cli = (args: string[]) => berth(["--root", b!.root, ...args]);

function hostMount(args: string[], at: string): void {
  execFileSync("mount", [...args, at]);
  ours.push(at);
}

afterEach(() => {
  ids.deleteAll((id) => cli(["delete", "--force", id]));
  for (const at of ours.reverse()) execFileSync("umount", [at]);
  ours = [];
  // Never rm -rf through a mount: that would delete what it shows.
  if (b && hostMountsUnder(b.dir).length) throw new Error(`mounts left under ${b.dir}: ${hostMountsUnder(b.dir).join(", ")}`);
  b?.cleanup();
  b = undefined;
  for (const d of extraDirs) rmSync(d, { recursive: true, force: true });
  extraDirs = [];
});

interface MountLine {
  root: string;
  point: string;
  opts: string[];
  /** Propagation: "shared:N", "master:N", "unbindable"; empty for private. */
  optional: string[];
  fstype: string;
  source: string;
  superOpts: string[];
}

/** proc(5) mountinfo lines -> records (the mount point's octal escapes decoded). */
function parseMountinfo(text: string): MountLine[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split("\n")
    .filter((l) => /^\d+ \d+ \d+:\d+ /.test(l))
    .map((l) => {
      const [left, right] = l.split(" - ");
      const f = left!.split(" ");
      const r = right!.split(" ");
      return {
        root: unescape(f[3]!),
        point: unescape(f[4]!),
        opts: f[5]!.split(","),
        optional: f.slice(6),
        fstype: r[0]!,
        source: r[1]!,
        superOpts: (r[2] ?? "").split(","),
      };
    });
}

function hostMountsUnder(dir: string): string[] {
  return parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"))
    .map((m) => m.point)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** What the host is left with after a container: nothing but the mounts the test made. */
function leftBehind(id: string) {
  return {
    state: existsSync(join(b!.root, id)),
    cgroups: cgroupDirsFor(`/berth/${id}`),
    mounts: hostMountsUnder(b!.dir).filter((p) => !ours.includes(p)),
    ourMounts: hostMountsUnder(b!.dir).filter((p) => ours.includes(p)).length,
  };
}
const nothing = () => ({ state: false, cgroups: [], mounts: [], ourMounts: ours.length });

/**
 * A bundle whose process runs `script` under sh and whose rootfs is a private copy at
 * <bundle>/rootfs (root.path relative). `mutate` edits the config and may fill the bundle.
 */
function bundle(script: string, mutate: (c: TestBundle["config"], dir: string) => void = () => undefined): TestBundle {
  b = makeBundle(["sh", "-c", script]);
  execFileSync("cp", ["-a", busyboxRootfs(), join(b.dir, "rootfs")]);
  b.config.root = { path: "rootfs", readonly: false };
  mutate(b.config, b.dir);
  b.write();
  return b;
}

/** Run to completion; the output split at "@@" lines: [mountinfo, answer 1, answer 2, ...]. */
function runSections(id: string, extra: string[] = []): { exitCode: number | null; stderr: string; mounts: MountLine[]; parts: string[] } {
  const r = cli(["run", ...extra, "--bundle", b!.dir, id]);
  const parts = r.stdout.split(/^@@\n/m);
  return { exitCode: r.exitCode, stderr: r.stderr, mounts: parseMountinfo(parts[0] ?? ""), parts: parts.slice(1).map((p) => p.trim()) };
}

const at = (mounts: MountLine[], point: string) => {
  const found = mounts.filter((m) => m.point === point);
  if (found.length === 0) throw new Error(`no mount at ${point} in the container: ${mounts.map((m) => m.point).join(" ")}`);
  return found[found.length - 1]!; // the top one
};
const MI = "cat /proc/self/mountinfo; echo @@; ";

test("bind mounts: ro, rw, nosuid/nodev/noexec and the atime flags take effect; a relative source resolves against the bundle", () => {
  bundle(`${MI} touch /m/ro/x 2>&1; echo @@; /m/ro/run.sh 2>&1; echo @@; /m/rw/run.sh && touch /m/rw/written && echo wrote`, (c, dir) => {
    mkdirSync(join(dir, "vol"));
    writeFileSync(join(dir, "vol/run.sh"), "#!/bin/sh\necho ran\n", { mode: 0o755 });
    c.mounts.push(
      { destination: "/m/ro", type: "bind", source: "vol", options: ["bind", "ro", "nosuid", "nodev", "noexec"] },
      { destination: "/m/rw", type: "bind", source: "vol", options: ["bind", "rw"] },
      { destination: "/m/noatime", type: "bind", source: "vol", options: ["bind", "noatime"] },
      { destination: "/m/strict", type: "bind", source: join(dir, "vol"), options: ["bind", "strictatime"] },
      { destination: "/m/relatime", type: "bind", source: "./vol", options: ["bind", "norelatime", "relatime"] },
    );
  });
  const id = uniq("bind");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  const ro = at(r.mounts, "/m/ro");
  expect(ro.root).toBe(join(b!.dir, "vol"));
  expect(ro.opts).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec"]));
  expect(at(r.mounts, "/m/rw").opts).toContain("rw");
  expect(at(r.mounts, "/m/rw").opts).not.toContain("noexec");
  expect(at(r.mounts, "/m/noatime").opts).toContain("noatime");
  expect(at(r.mounts, "/m/strict").opts.filter((o) => /atime/.test(o))).toEqual([]);
  expect(at(r.mounts, "/m/relatime").opts).toContain("relatime");
  expect(r.parts[0]).toBe("touch: /m/ro/x: Read-only file system");
  expect(r.parts[1]).toMatch(/\/m\/ro\/run\.sh: Permission denied/);
  expect(r.parts[2]).toBe("ran\nwrote");
  expect(existsSync(join(b!.dir, "vol/written"))).toBe(true);
  expect(existsSync(join(b!.dir, "vol/x"))).toBe(false);
  expect(leftBehind(id)).toEqual(nothing());
});

test("rbind keeps submounts; ro stops at the top, rro (mount_setattr AT_RECURSIVE) and rnosuid/rnodev/rnoexec/rnoatime reach them", () => {
  bundle(`${MI} touch /m/ro/sub/a && echo sub-writable; echo @@; touch /m/rro/sub/b 2>&1; echo @@; touch /m/rro/c 2>&1; true`, (c, dir) => {
    mkdirSync(join(dir, "tree/sub"), { recursive: true });
    c.mounts.push(
      { destination: "/m/ro", type: "bind", source: "tree", options: ["rbind", "ro"] },
      { destination: "/m/rro", type: "bind", source: "tree", options: ["rbind", "rro"] },
      { destination: "/m/rflags", type: "bind", source: "tree", options: ["rbind", "rnosuid", "rnodev", "rnoexec", "rnoatime"] },
      { destination: "/m/bind", type: "bind", source: "tree", options: ["bind"] },
    );
  });
  hostMount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], join(b!.dir, "tree/sub"));
  const id = uniq("rro");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(at(r.mounts, "/m/ro").opts).toContain("ro");
  expect(at(r.mounts, "/m/ro/sub").opts).toContain("rw");
  expect(at(r.mounts, "/m/rro").opts).toContain("ro");
  expect(at(r.mounts, "/m/rro/sub").opts).toContain("ro");
  for (const p of ["/m/rflags", "/m/rflags/sub"])
    expect(at(r.mounts, p).opts).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev", "noexec", "noatime"]));
  // A plain bind leaves the submount behind.
  expect(r.mounts.some((m) => m.point === "/m/bind/sub")).toBe(false);
  expect(r.parts).toEqual(["sub-writable", "touch: /m/rro/sub/b: Read-only file system", "touch: /m/rro/c: Read-only file system"]);
  expect(leftBehind(id)).toEqual(nothing());
});

test("propagation options: shared, slave, private, unbindable and their r forms, as mountinfo shows them; nothing reaches the host", () => {
  bundle(MI, (c) => {
    const m = (destination: string, ...options: string[]) => ({
      destination,
      type: "bind",
      source: "shared",
      options: ["rbind", ...options],
    });
    c.mounts.push(
      m("/p/default"),
      m("/p/shared", "shared"),
      m("/p/rshared", "rshared"),
      m("/p/slave", "slave"),
      m("/p/private", "private"),
      m("/p/rprivate", "rprivate"),
      m("/p/unbindable", "unbindable"),
      m("/p/runbindable", "runbindable"),
    );
  });
  // A host mount that is shared, with a shared submount: the container's copies start as
  // slaves of them (berth makes the container's whole view rslave first).
  const shared = join(b!.dir, "shared");
  mkdirSync(join(shared, "sub"), { recursive: true });
  hostMount(["--bind", shared], shared);
  execFileSync("mount", ["--make-shared", shared]);
  hostMount(["-t", "tmpfs", "tmpfs"], join(shared, "sub"));
  execFileSync("mount", ["--make-shared", join(shared, "sub")]);
  const host = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"));
  const peer = (p: string) =>
    host
      .filter((m) => m.point === p)
      .pop()!
      .optional.find((o) => o.startsWith("shared:"))!
      .replace("shared:", "master:");
  const top = peer(shared);
  const sub = peer(join(shared, "sub"));

  const id = uniq("prop");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  const prop = (p: string) => at(r.mounts, p).optional.map((o) => o.replace(/^shared:\d+$/, "shared"));
  expect(prop("/p/default")).toEqual([top]);
  expect(prop("/p/default/sub")).toEqual([sub]);
  expect(prop("/p/shared")).toEqual(["shared", top]);
  expect(prop("/p/shared/sub")).toEqual([sub]);
  expect(prop("/p/rshared")).toEqual(["shared", top]);
  expect(prop("/p/rshared/sub")).toEqual(["shared", sub]);
  expect(prop("/p/slave")).toEqual([top]);
  expect(prop("/p/private")).toEqual([]);
  expect(prop("/p/private/sub")).toEqual([sub]);
  expect(prop("/p/rprivate")).toEqual([]);
  expect(prop("/p/rprivate/sub")).toEqual([]);
  expect(prop("/p/unbindable")).toEqual(["unbindable"]);
  expect(prop("/p/unbindable/sub")).toEqual([sub]);
  expect(prop("/p/runbindable")).toEqual(["unbindable"]);
  expect(prop("/p/runbindable/sub")).toEqual(["unbindable"]);
  expect(leftBehind(id)).toEqual(nothing());
});

test("a single file bind-mounted onto a file: over an existing one, and onto a new one berth creates", () => {
  bundle(
    `${MI} cat /etc/passwd; echo @@; cat /etc/berth-new; stat -c %F /etc/berth-new; echo @@; echo x 2>&1 >> /etc/berth-new; true`,
    (c, dir) => {
      writeFileSync(join(dir, "passwd"), "user:x:7:7::/:/bin/sh\n");
      writeFileSync(join(dir, "greeting"), "hello file\n");
      c.mounts.push(
        { destination: "/etc/passwd", type: "bind", source: "passwd", options: ["bind"] },
        { destination: "/etc/berth-new", type: "bind", source: "greeting", options: ["bind", "ro"] },
      );
    },
  );
  const id = uniq("file");
  const r = runSections(id);
  expect(r.exitCode).toBe(0);
  expect(at(r.mounts, "/etc/berth-new").root).toBe(join(b!.dir, "greeting"));
  expect(r.parts.slice(0, 2)).toEqual(["user:x:7:7::/:/bin/sh", "hello file\nregular file"]);
  expect(r.parts[2]).toMatch(/Read-only file system/);
  expect(readFileSync(join(b!.dir, "greeting"), "utf8")).toBe("hello file\n");
  expect(lstatSync(join(b!.dir, "rootfs/etc/berth-new")).isFile()).toBe(true);
  expect(leftBehind(id)).toEqual(nothing());
});

test("tmpfs with size= and mode=, proc, read-only sysfs, a new devpts instance, mqueue, and the cgroup mounts of a hybrid host", () => {
  const script =
    MI +
    "stat -c %a /m/tmp; df -k /m/tmp | tail -1; echo @@; touch /sys/x 2>&1; echo @@; ls /dev/pts; readlink /dev/ptmx; echo @@; " +
    "cat /sys/fs/cgroup/pids/cgroup.procs; echo @@; cat /m/cg2/cgroup.procs; echo @@; echo $$";
  bundle(script, (c) => {
    c.mounts.push({ destination: "/m/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m", "mode=0710"] });
    c.mounts.push({ destination: "/m/cg2", type: "cgroup2", source: "cgroup2", options: ["nosuid", "nodev", "noexec"] });
  });
  const id = uniq("fs");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  const tmp = at(r.mounts, "/m/tmp");
  expect(tmp.fstype).toBe("tmpfs");
  expect(tmp.superOpts).toEqual(expect.arrayContaining(["size=1024k", "mode=710"]));
  expect(r.parts[0]!.split("\n")[0]).toBe("710");
  expect(r.parts[0]!.split("\n")[1]!.split(/\s+/)[1]).toBe("1024");
  expect(at(r.mounts, "/proc").fstype).toBe("proc");
  expect(r.parts[5]).toBe("1"); // this proc is the container's pid namespace
  expect(at(r.mounts, "/sys")).toMatchObject({ fstype: "sysfs", opts: expect.arrayContaining(["ro"]) });
  expect(r.parts[1]).toBe("touch: /sys/x: Read-only file system");
  expect(at(r.mounts, "/dev/pts").superOpts).toEqual(expect.arrayContaining(["ptmxmode=666", "mode=620", "gid=5"]));
  // newinstance: no host ptys, only its own ptmx.
  expect(r.parts[2]).toBe("ptmx\npts/ptmx");
  expect(at(r.mounts, "/dev/mqueue").fstype).toBe("mqueue");
  // cgroups: a read-only tmpfs with the container's own directories bound on it.
  expect(at(r.mounts, "/sys/fs/cgroup")).toMatchObject({ fstype: "tmpfs", opts: expect.arrayContaining(["ro"]) });
  for (const ctl of ["pids", "memory", "cpu"])
    expect(at(r.mounts, `/sys/fs/cgroup/${ctl}`)).toMatchObject({ fstype: "cgroup", root: `/berth/${id}` });
  expect(at(r.mounts, "/sys/fs/cgroup/unified")).toMatchObject({ fstype: "cgroup2", root: `/berth/${id}` });
  expect(at(r.mounts, "/m/cg2")).toMatchObject({
    fstype: "cgroup2",
    root: `/berth/${id}`,
    opts: expect.arrayContaining(["nosuid", "nodev", "noexec"]),
  });
  // The container's processes (its pid 1 and the cat reading the file) are in those cgroups.
  expect(r.parts[3]!.split("\n")).toContain("1");
  expect(r.parts[4]!.split("\n")).toContain("1");
  expect(leftBehind(id)).toEqual(nothing());
});

test("in a cgroup namespace the cgroup mounts are fresh ones rooted at the container's cgroup", () => {
  bundle(MI, (c) => c.linux.namespaces.push({ type: "cgroup" }));
  const id = uniq("cgns");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(at(r.mounts, "/sys/fs/cgroup/memory")).toMatchObject({ fstype: "cgroup", root: "/" });
  expect(at(r.mounts, "/sys/fs/cgroup/unified")).toMatchObject({ fstype: "cgroup2", root: "/" });
  expect(leftBehind(id)).toEqual(nothing());
});

test("an overlay-typed mount with lowerdir, upperdir and workdir: writes go to the upper layer", () => {
  bundle(`${MI} cat /m/ovl/lower.txt; echo new > /m/ovl/new.txt; rm /m/ovl/lower.txt; ls /m/ovl`, (c, dir) => {
    for (const d of ["lower", "upper", "work"]) mkdirSync(join(dir, "ovl", d), { recursive: true });
    writeFileSync(join(dir, "ovl/lower/lower.txt"), "from lower\n");
    const o = join(dir, "ovl");
    c.mounts.push({
      destination: "/m/ovl",
      type: "overlay",
      source: "overlay",
      options: [`lowerdir=${o}/lower`, `upperdir=${o}/upper`, `workdir=${o}/work`],
    });
  });
  const id = uniq("ovl");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(at(r.mounts, "/m/ovl").fstype).toBe("overlay");
  expect(r.parts[0]).toBe("from lower\nnew.txt");
  const o = join(b!.dir, "ovl");
  expect(readFileSync(join(o, "upper/new.txt"), "utf8")).toBe("new\n");
  expect(readFileSync(join(o, "lower/lower.txt"), "utf8")).toBe("from lower\n");
  // The removal is an overlay whiteout (a 0:0 character device) in the upper layer.
  expect(statSync(join(o, "upper/lower.txt")).isCharacterDevice()).toBe(true);
  expect(leftBehind(id)).toEqual(nothing());
});

test("idmapped mounts (mounts[].uidMappings/gidMappings): a file owned by host uid 1000 appears as the mapped ids; ridmap reaches submounts", () => {
  const maps = {
    uidMappings: [{ containerID: 1000, hostID: 2000, size: 10 }],
    gidMappings: [{ containerID: 1000, hostID: 3000, size: 10 }],
  };
  bundle("stat -c '%u:%g' /m/plain/owned /m/idmap/owned /m/idmap/sub /m/ridmap/owned /m/ridmap/sub/f", (c, dir) => {
    mkdirSync(join(dir, "ids/sub"), { recursive: true });
    writeFileSync(join(dir, "ids/owned"), "");
    chownSync(join(dir, "ids/owned"), 1000, 1001);
    c.mounts.push(
      { destination: "/m/plain", type: "bind", source: "ids", options: ["rbind"] },
      { destination: "/m/idmap", type: "bind", source: "ids", options: ["rbind", "idmap"], ...maps },
      { destination: "/m/ridmap", type: "bind", source: "ids", options: ["rbind", "ridmap"], ...maps },
    );
  });
  // A submount (tmpfs supports idmapped mounts) with a file owned by 1002:1003.
  hostMount(["-t", "tmpfs", "-o", "uid=0,gid=0", "tmpfs"], join(b!.dir, "ids/sub"));
  writeFileSync(join(b!.dir, "ids/sub/f"), "");
  chownSync(join(b!.dir, "ids/sub/f"), 1002, 1003);
  const id = uniq("idmap");
  const r = cli(["run", "--bundle", b!.dir, id]);
  // Disk ids 1000-1009 show as 2000-2009 (uids) and 3000-3009 (gids); the plain bind shows
  // the disk ids; with idmap (not ridmap) the submount is not idmapped: its root shows 0:0.
  expect(r).toEqual({ exitCode: 0, stdout: "1000:1001\n2000:3001\n0:0\n2000:3001\n2002:3003\n", stderr: "" });
  expect([statSync(join(b!.dir, "ids/owned")).uid, statSync(join(b!.dir, "ids/owned")).gid]).toEqual([1000, 1001]);
  expect(leftBehind(id)).toEqual(nothing());
});

test("the idmap option without mappings uses the container's user namespace mappings", () => {
  // Destinations the rootfs has: its directories belong to host root, which the container's
  // root (host uid 100000) is not, so berth-init could not create new ones there.
  bundle("stat -c '%u:%g' /tmp /root; touch /root/by-root && echo wrote", (c, dir) => {
    // The container's root must be able to reach the rootfs.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "vol"));
    c.linux.namespaces.push({ type: "user" });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.mounts.push({ destination: "/tmp", type: "bind", source: "vol", options: ["bind"] });
    c.mounts.push({ destination: "/root", type: "bind", source: "vol", options: ["bind", "idmap"] });
  });
  const id = uniq("idmapns");
  // vol is owned by host root: unmapped in the container (65534) except through the idmap,
  // where disk 0 is host 100000, which is the container's root.
  expect(cli(["run", "--bundle", b!.dir, id])).toEqual({ exitCode: 0, stdout: "65534:65534\n0:0\nwrote\n", stderr: "" });
  const st = statSync(join(b!.dir, "vol/by-root"));
  expect([st.uid, st.gid]).toEqual([0, 0]);
  expect(leftBehind(id)).toEqual(nothing());
});

test("idmapped mount errors name the mount: a filesystem that cannot be idmapped, a mount that is not a bind", () => {
  const maps = { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] };
  bundle("true", (c) => c.mounts.push({ destination: "/m/proc", type: "bind", source: "/proc", options: ["bind"], ...maps }));
  const n = b!.config.mounts.length - 1;
  const id = uniq("idmaperr");
  expect(cli(["create", "--bundle", b!.dir, id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: create ${id}: mounts[${n}]: mount_setattr idmap on /m/proc: invalid argument\n`,
  });
  expect(leftBehind(id)).toEqual(nothing());
  b!.config.mounts[n] = { destination: "/m/t", type: "tmpfs", source: "tmpfs", options: ["idmap"], ...maps };
  b!.write();
  expect(cli(["create", "--bundle", b!.dir, id]).stderr).toBe(
    `berth: create ${id}: mounts[${n}].options ["idmap"]: an idmapped mount must be a bind mount (add "bind" or "rbind")\n`,
  );
  expect(leftBehind(id)).toEqual(nothing());
});

test("root.path relative to the bundle; root.readonly makes / read-only, without it writes land in the rootfs", () => {
  bundle(`${MI} touch /written 2>&1 && echo wrote; true`, (c) => (c.root = { path: "rootfs", readonly: true }));
  let id = uniq("roroot");
  let r = runSections(id);
  expect(r.exitCode).toBe(0);
  expect(at(r.mounts, "/")).toMatchObject({ root: join(b!.dir, "rootfs"), opts: expect.arrayContaining(["ro"]) });
  expect(r.parts).toEqual(["touch: /written: Read-only file system"]);
  expect(leftBehind(id)).toEqual(nothing());

  b!.config.root.readonly = false;
  b!.write();
  id = uniq("rwroot");
  r = runSections(id);
  expect(at(r.mounts, "/").opts).toContain("rw");
  expect(r.parts).toEqual(["wrote"]);
  expect(existsSync(join(b!.dir, "rootfs/written"))).toBe(true);
  expect(leftBehind(id)).toEqual(nothing());
});

test("--no-pivot: the rootfs is moved onto / and chrooted into; mounts and a read-only root still work", () => {
  bundle(`${MI} touch /x 2>&1; echo @@; ls /m/vol`, (c, dir) => {
    mkdirSync(join(dir, "vol"));
    writeFileSync(join(dir, "vol/seen"), "");
    c.root.readonly = true;
    c.mounts.push({ destination: "/m/vol", type: "bind", source: "vol", options: ["bind"] });
  });
  const id = uniq("nopivot");
  const r = runSections(id, ["--no-pivot"]);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(at(r.mounts, "/")).toMatchObject({ root: join(b!.dir, "rootfs"), opts: expect.arrayContaining(["ro"]) });
  expect(r.parts).toEqual(["touch: /x: Read-only file system", "seen"]);
  expect(leftBehind(id)).toEqual(nothing());
});

test("linux.rootfsPropagation sets the propagation of the container's /, whose mounts never reach the host", () => {
  bundle(`${MI}`, () => undefined);
  // The rootfs is a shared mount on the host, so the container's copy starts as its slave.
  const rootfs = join(b!.dir, "rootfs");
  hostMount(["--bind", rootfs], rootfs);
  execFileSync("mount", ["--make-shared", rootfs]);
  const master = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"))
    .filter((m) => m.point === rootfs)
    .pop()!
    .optional[0]!.replace("shared:", "master:");
  const seen: Record<string, string[]> = {};
  for (const p of [undefined, "shared", "rshared", "slave", "private", "rprivate", "unbindable", "runbindable"]) {
    if (p) b!.config.linux.rootfsPropagation = p;
    else delete b!.config.linux.rootfsPropagation;
    b!.write();
    const id = uniq("rprop");
    const r = runSections(id);
    expect({ p, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ p, exitCode: 0, stderr: "" });
    seen[p ?? "(unset)"] = [at(r.mounts, "/"), at(r.mounts, "/proc")].map((m) =>
      m.optional.map((o) => o.replace(/^shared:\d+$/, "shared")).join(" "),
    );
    expect(leftBehind(id)).toEqual(nothing());
  }
  // [/, a mount on it]: the r forms reach the mounts below.
  expect(seen).toEqual({
    "(unset)": [master, ""],
    shared: [`shared ${master}`, ""],
    rshared: [`shared ${master}`, "shared"],
    slave: [master, ""],
    private: ["", ""],
    rprivate: ["", ""],
    unbindable: ["unbindable", ""],
    runbindable: ["unbindable", "unbindable"],
  });
});

test("an overlayfs rootfs the caller mounted from busybox layers works as the root; writes go to its upper layer", () => {
  const lower = busyboxRootfs();
  bundle(`${MI} touch /from-container && echo wrote`, (c, dir) => {
    for (const d of ["upper", "work", "merged"]) mkdirSync(join(dir, d));
    c.root = { path: "merged", readonly: false };
    // A destination the rootfs lacks: berth creates it, in the upper layer.
    c.mounts.push({ destination: "/m/new", type: "tmpfs", source: "tmpfs" });
  });
  const dir = b!.dir;
  hostMount(["-t", "overlay", "-o", `lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work`, "overlay"], join(dir, "merged"));
  const id = uniq("ovlroot");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(at(r.mounts, "/").fstype).toBe("overlay");
  expect(at(r.mounts, "/m/new").fstype).toBe("tmpfs");
  expect(r.parts).toEqual(["wrote"]);
  expect(existsSync(join(dir, "upper/from-container"))).toBe(true);
  expect(existsSync(join(dir, "upper/m/new"))).toBe(true);
  expect(existsSync(join(lower, "from-container"))).toBe(false);
  expect(existsSync(join(lower, "m"))).toBe(false);
  expect(leftBehind(id)).toEqual(nothing());
});

test("an overlay mount at / assembles the root from the layers (first, whatever its place in mounts)", () => {
  const lower = busyboxRootfs();
  bundle(`${MI} touch /from-container && echo wrote`, (c, dir) => {
    for (const d of ["upper", "work", "base"]) mkdirSync(join(dir, d));
    c.root = { path: "base", readonly: false };
    c.mounts.push({
      destination: "/",
      type: "overlay",
      source: "overlay",
      options: [`lowerdir=${lower}`, `upperdir=${dir}/upper`, `workdir=${dir}/work`],
    });
  });
  const id = uniq("ovlslash");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(at(r.mounts, "/").fstype).toBe("overlay");
  expect(at(r.mounts, "/proc").fstype).toBe("proc");
  expect(r.parts).toEqual(["wrote"]);
  expect(existsSync(join(b!.dir, "upper/from-container"))).toBe(true);
  expect(readdirSync(join(b!.dir, "base"))).toEqual([]);
  expect(existsSync(join(lower, "from-container"))).toBe(false);
  expect(leftBehind(id)).toEqual(nothing());
});

test("CVE-2021-30465 class: mount destinations through absolute and ../ symlinks land inside the rootfs, never on the host", () => {
  const hostDir = mkdtempSync(join(tmpdir(), "berth-host-target-"));
  extraDirs.push(hostDir);
  writeFileSync(join(hostDir, "keep"), "host\n");
  bundle(`${MI} echo container > /evil/x; ls /evil2; echo @@; cat ${hostDir}/keep 2>&1; true`, (c, dir) => {
    writeFileSync(join(dir, "file"), "bound\n");
    const rootfs = join(dir, "rootfs");
    symlinkSync(hostDir, join(rootfs, "evil"));
    symlinkSync(`../../../../../../../..${hostDir}`, join(rootfs, "evil2"));
    symlinkSync(`../../../../../../../../${hostDir}/deeper`, join(rootfs, "evil3"));
    c.mounts.push(
      { destination: "/evil", type: "tmpfs", source: "tmpfs" },
      { destination: "/evil2/sub", type: "bind", source: "file", options: ["bind"] },
      { destination: "/evil3/deep", type: "tmpfs", source: "tmpfs" },
    );
  });
  const id = uniq("cve");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  // Inside, the symlinks were followed within the rootfs: the mounts sit at the in-root paths.
  expect(at(r.mounts, hostDir).fstype).toBe("tmpfs");
  expect(at(r.mounts, `${hostDir}/sub`).root).toBe(join(b!.dir, "file"));
  expect(at(r.mounts, `${hostDir}/deeper/deep`).fstype).toBe("tmpfs");
  expect(r.parts[0]).toBe("deeper\nsub\nx");
  expect(r.parts[1]).toMatch(/No such file or directory/);
  // The host directory is untouched, and nothing is mounted on it.
  expect(readdirSync(hostDir)).toEqual(["keep"]);
  expect(readFileSync(join(hostDir, "keep"), "utf8")).toBe("host\n");
  expect(hostMountsUnder(hostDir)).toEqual([]);
  // What berth created is inside the rootfs.
  expect(lstatSync(join(b!.dir, "rootfs", hostDir)).isDirectory()).toBe(true);
  expect(leftBehind(id)).toEqual(nothing());
});

test("in a user namespace, a read-only bind of a nosuid,nodev,noexec host mount keeps those locked flags instead of failing", () => {
  bundle(`${MI} touch /root/x 2>&1; true`, (c, dir) => {
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "locked"));
    c.linux.namespaces.push({ type: "user" });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.mounts.push({ destination: "/root", type: "bind", source: "locked", options: ["bind", "ro"] });
  });
  hostMount(["-t", "tmpfs", "-o", "nosuid,nodev,noexec,mode=777", "tmpfs"], join(b!.dir, "locked"));
  const id = uniq("locked");
  const r = runSections(id);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(at(r.mounts, "/root").opts).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec"]));
  expect(r.parts).toEqual(["touch: /root/x: Read-only file system"]);
  expect(leftBehind(id)).toEqual(nothing());
});

test("a read-only /dev (tmpfs with ro): devices, its submounts and symlinks are set up first, and /dev is read-only last, as runc does", () => {
  bundle(
    `${MI} touch /dev/new 2>&1; echo @@; echo x > /dev/null && echo null-ok; ls /dev/pts/ptmx /dev/shm /dev/mqueue /dev/stdin >/dev/null && echo submounts-ok`,
    (c) => {
      c.mounts.find((m: { destination: string }) => m.destination === "/dev").options.push("ro");
    },
  );
  const r = runSections(uniq("devro"));
  expect(r.exitCode).toBe(0);
  expect(r.stderr).toBe("");
  expect(at(r.mounts, "/dev").opts).toContain("ro");
  for (const sub of ["/dev/pts", "/dev/shm", "/dev/mqueue"]) expect(at(r.mounts, sub).opts).toContain("rw");
  expect(r.parts[0]).toMatch(/touch: \/dev\/new: Read-only file system/);
  expect(r.parts[1]).toBe("null-ok\nsubmounts-ok");
});

test("in a new user namespace, bind sources are opened on the host side: a source under a directory the container's root cannot search still mounts (as runc and crun)", () => {
  bundle(`cat /m/file; ls /m/dir; cat /m/dir/inside`, (c, dir) => {
    chmodSync(dir, 0o755); // the rootfs under it is the container root's to enter
    // The mount points exist: the container's root (host uid 100000) may not make them.
    mkdirSync(join(dir, "rootfs/m/dir"), { recursive: true });
    writeFileSync(join(dir, "rootfs/m/file"), "");
    const locked = mkdtempSync(join(tmpdir(), "berth-locked-"));
    extraDirs.push(locked);
    mkdirSync(join(locked, "dir"));
    writeFileSync(join(locked, "file"), "a file\n");
    writeFileSync(join(locked, "dir/inside"), "inside\n");
    chmodSync(locked, 0o000);
    c.linux.namespaces.push({ type: "user" });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.mounts.push({ destination: "/m/file", type: "bind", source: join(locked, "file"), options: ["bind", "ro"] });
    c.mounts.push({ destination: "/m/dir", type: "bind", source: join(locked, "dir"), options: ["rbind"] });
  });
  // The container's root is host uid 100000: it could not look anything up under mode 000.
  expect(cli(["run", "--bundle", b!.dir, uniq("userns-bind")])).toEqual({ exitCode: 0, stdout: "a file\ninside\ninside\n", stderr: "" });
});
