/**
 * Security regressions about where the kernel's views (procfs, sysfs) get mounted, each proven
 * from inside a container and from what the host is left with, and shown beside runc 1.1 where
 * runc is installed:
 *
 * - --no-pivot (runc#1962) leaves the host's mounts in the container's mount namespace, under the moved
 *   rootfs. A bare procfs or sysfs among them counts as "fully visible" for the kernel's
 *   mount_too_revealing check, so any user inside could make a user namespace and mount an
 *   unmasked procfs there. runc detaches (or covers) them before its move; so does berth.
 * - a rootfs whose /proc or /sys is a symlink (CVE-2019-19921 class): the mount would land
 *   wherever the link points, and the container's /proc would be something else. Refused,
 *   naming the mount, and nothing is left behind.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runc as runcCli, runcBin } from "../helpers/runc";
import { berth } from "../helpers/cli";
import { busyboxRootfs, cgroupDirsFor, makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

const withRunc = runcBin ? test : test.skip;

let b: TestBundle | undefined;
const ids = testIds("secm");
const scratch: string[] = [];
const uniq = ids.uniq;
const run = (args: string[]) => berth(["--root", b!.root, ...args]);

const runc = (args: string[]) => runcCli(["--root", join(b!.dir, "root-runc"), ...args]);

afterEach(() => {
  ids.deleteAll((id) => {
    run(["delete", "--force", id]);
    if (runcBin) runc(["delete", "--force", id]);
  });
  b?.cleanup();
  b = undefined;
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mountinfo = () => readFileSync("/proc/self/mountinfo", "utf8");
/** The host's own procfs and sysfs mounts (at /proc, /sys), as mountinfo lines. */
const hostProcSys = () =>
  mountinfo()
    .split("\n")
    .filter((l) => ["/proc", "/sys"].includes(l.split(" ")[4]!) && / - (proc|sysfs) /.test(l));

describe("mount_too_revealing bypass class (runc#1962, no CVE of its own): --no-pivot leaves no bare host procfs or sysfs visible", () => {
  // Run as an unprivileged user (uid 1000, the default capabilities: no CAP_SYS_ADMIN): in a
  // user namespace of its own it has every capability over a new mount and pid namespace, and
  // `unshare -r` may map its uid without CAP_SETFCAP. The tmpfs mount proves those
  // capabilities; procfs and sysfs are then refused only because no instance is fully visible.
  const script = [
    'echo "own proc: $(grep -c ^Pid: /proc/self/status)"',
    'echo "masked /proc/keys: $(wc -c < /proc/keys) bytes"',
    'echo "masked /sys/firmware: $(ls -A /sys/firmware | wc -l) entries"',
    "unshare -U -r -m -n -p -f sh -c '" +
      'mount -t tmpfs tmpfs /tmp && echo "nested tmpfs: mounted" && umount /tmp; ' +
      'mount -t proc proc /tmp 2>&1; echo "nested proc: exit $?"; ' +
      'mount -t sysfs sysfs /tmp 2>&1; echo "nested sysfs: exit $?"\'',
  ].join("\n");
  const expected = [
    "own proc: 1",
    "masked /proc/keys: 0 bytes",
    "masked /sys/firmware: 0 entries",
    "nested tmpfs: mounted",
    // busybox's text for EPERM.
    "mount: permission denied (are you root?)",
    "nested proc: exit 1",
    "mount: permission denied (are you root?)",
    "nested sysfs: exit 1",
    "",
  ].join("\n");

  const bundle = (userns: boolean) =>
    makeBundle(["sh", "-c", script], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      if (userns) {
        // The host's mounts are then locked in the container's namespace: they cannot be
        // unmounted, and an empty tmpfs covers them instead.
        c.linux.namespaces.push({ type: "user" });
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }
    });

  test.each([
    ["without a user namespace", false],
    ["with a user namespace (the host's mounts locked: covered)", true],
  ])(
    "%s: a user namespace made inside cannot mount procfs or sysfs, as after pivot_root; the container's own /proc and masks hold",
    (_name, userns) => {
      b = bundle(userns);
      const host = hostProcSys();
      const noPivot = uniq("np");
      expect(run(["run", "--no-pivot", "-b", b.dir, noPivot])).toEqual({ exitCode: 0, stdout: expected, stderr: "" });
      // The same with pivot_root: --no-pivot gives nothing more.
      expect(run(["run", "-b", b.dir, uniq("pivot")])).toEqual({ exitCode: 0, stdout: expected, stderr: "" });
      // The host keeps its own /proc and /sys (the detach happened in the container's namespace),
      // and nothing of the container.
      expect(hostProcSys()).toEqual(host);
      expect(existsSync(join(b.root, noPivot))).toBe(false);
      expect(cgroupDirsFor(`/berth/${noPivot}`)).toEqual([]);
    },
  );

  withRunc("runc 1.1 --no-pivot shows the same, in both cases", () => {
    for (const userns of [false, true]) {
      b = bundle(userns);
      const id = uniq("runc");
      expect({ userns, ...runc(["run", "--no-pivot", "--bundle", b.dir, id]) }).toEqual({
        userns,
        exitCode: 0,
        stdout: expected,
        stderr: "",
      });
      b.cleanup();
    }
  });
});

describe("CVE-2019-19921 class: a rootfs whose /proc or /sys is a symlink is refused", () => {
  /** A private copy of the busybox rootfs (the shared one must stay intact), in a fresh bundle. */
  function bundleWithRootfsCopy(args: string[]): { rootfs: string } {
    const copy = mkdtempSync(join(tmpdir(), "berth-rootfs-"));
    scratch.push(copy);
    const rootfs = join(copy, "rootfs");
    execFileSync("cp", ["-a", busyboxRootfs(), rootfs]);
    b = makeBundle(args, (c) => (c.root.path = rootfs));
    return { rootfs };
  }
  const mountIndex = (dest: string) => (b!.config.mounts as { destination: string }[]).findIndex((m) => m.destination === dest);
  const reason = "in the rootfs: procfs and sysfs are mounted only on a real directory, never through a symlink";

  /** What a failed create could leave: all empty/false when nothing is. */
  function leftOnHost(id: string, paths: string[]) {
    return {
      stateDir: existsSync(join(b!.root, id)),
      cgroups: cgroupDirsFor(`/berth/${id}`),
      processes: processesMentioning(id),
      mounts: mountinfo()
        .split("\n")
        .filter((l) => paths.some((p) => l.includes(p))),
    };
  }
  const nothingLeft = { stateDir: false, cgroups: [], processes: [], mounts: [] };

  test("the rootfs copy runs as it is (the control)", () => {
    bundleWithRootfsCopy(["sh", "-c", "grep -c ^Pid: /proc/self/status"]);
    expect(run(["run", "-b", b!.dir, uniq("ctl")])).toEqual({ exitCode: 0, stdout: "1\n", stderr: "" });
  });

  test.each([
    ["/proc", "to a directory inside the rootfs", "/tmp/p"],
    ["/proc", "relative, inside the rootfs", "tmp/p"],
    ["/proc", "to an absolute path that exists on the host", "HOST"],
    ["/sys", "to a directory inside the rootfs", "/tmp/s"],
  ])("%s a symlink %s: create fails naming the mount, nothing is left, the target is not mounted over", (dest, _how, link) => {
    const { rootfs } = bundleWithRootfsCopy(["true"]);
    // A host directory the link names: it must not be mounted over (in the container's
    // namespace or the host's), and the rootfs must not grow it.
    const hostDir = mkdtempSync(join(tmpdir(), "berth-hostproc-"));
    scratch.push(hostDir);
    const target = link === "HOST" ? hostDir : link;
    const inRootfs = join(rootfs, target.startsWith("/") ? target : join(dest, "..", target));
    if (link !== "HOST") mkdirSync(inRootfs, { recursive: true });
    rmdirSync(join(rootfs, dest));
    symlinkSync(target, join(rootfs, dest));

    const id = uniq("link");
    const n = mountIndex(dest);
    const type = dest === "/proc" ? "proc" : "sysfs";
    expect(run(["create", "-b", b!.dir, id])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create ${id}: mounts[${n}]: mount ${type} on ${dest}: ${dest} is a symlink (to ${target}) ${reason}\n`,
    });
    expect(leftOnHost(id, [rootfs, hostDir, b!.dir])).toEqual(nothingLeft);
    expect(readdirSync(hostDir)).toEqual([]);
    if (link === "HOST") expect(existsSync(join(rootfs, hostDir))).toBe(false);
    else expect(readdirSync(inRootfs)).toEqual([]);
  });

  test("/proc a regular file: refused as not a directory, as runc does", () => {
    const { rootfs } = bundleWithRootfsCopy(["true"]);
    rmdirSync(join(rootfs, "proc"));
    writeFileSync(join(rootfs, "proc"), "");
    const id = uniq("file");
    expect(run(["create", "-b", b!.dir, id])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create ${id}: mounts[${mountIndex("/proc")}]: mount proc on /proc: /proc is not a directory ${reason}\n`,
    });
    expect(leftOnHost(id, [rootfs, b!.dir])).toEqual(nothingLeft);
  });

  test("a symlink on the way to a proc mount's destination is refused too (runc would follow it from the host's root)", () => {
    const { rootfs } = bundleWithRootfsCopy(["true"]);
    mkdirSync(join(rootfs, "real/proc"), { recursive: true });
    symlinkSync("/real", join(rootfs, "via"));
    b!.config.mounts.push({ destination: "/via/proc", type: "proc", source: "proc" });
    b!.write();
    const id = uniq("via");
    expect(run(["create", "-b", b!.dir, id])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create ${id}: mounts[${b!.config.mounts.length - 1}]: mount proc on /via/proc: /via is a symlink (to /real) ${reason}\n`,
    });
    expect(leftOnHost(id, [rootfs, b!.dir])).toEqual(nothingLeft);
  });

  withRunc("runc 1.1 refuses the same rootfs (/proc or /sys a symlink)", () => {
    for (const dest of ["/proc", "/sys"]) {
      const { rootfs } = bundleWithRootfsCopy(["true"]);
      mkdirSync(join(rootfs, "tmp/p"));
      rmdirSync(join(rootfs, dest));
      symlinkSync("/tmp/p", join(rootfs, dest));
      const type = dest === "/proc" ? "proc" : "sysfs";
      const r = runc(["create", "--bundle", b!.dir, uniq("runc")]);
      expect({
        exitCode: r.exitCode,
        refused: r.stderr.includes(`filesystem \\"${type}\\" must be mounted on ordinary directory`),
      }).toEqual({ exitCode: 1, refused: true });
      expect(readdirSync(join(rootfs, "tmp/p"))).toEqual([]);
      b!.cleanup();
    }
  });
});
