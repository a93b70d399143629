/**
 * Security regressions by CVE class (issue 16), each a real attempt from inside a container
 * (or, for the race, from a second writer of the rootfs) that must fail, and checked on the
 * host afterwards. They complete security.test.ts, security-exec.test.ts,
 * security-mounts.test.ts and security-cgroups.test.ts; docs/security.md lists them all.
 *
 * - CVE-2019-5736 through `berth exec`: a process inside tries to open /proc/<pid>/exe for
 *   writing of every process that appears while execs run (fixtures/exe-writer.c), with the
 *   default capabilities and with CAP_SYS_PTRACE (which lets it see non-dumpable processes).
 * - CVE-2021-30465 (the race): a second writer swaps the bind mount's destination with a
 *   symlink to a host directory (fixtures/swap-exchange.c, renameat2 RENAME_EXCHANGE) while
 *   containers are created.
 * - CVE-2019-16884: a config mount over /proc (by name or through a symlink in the rootfs), and
 *   a new procfs mounted from inside to get around the masked paths.
 * - device cgroup escape: mknod of a device the rules do not admit, and opening it.
 * - CVE-2024-21626 (fd leak) for exec, exec --preserve-fds, exec --tty and create/start.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth, berthBin, repoRoot } from "../helpers/cli";
import { busyboxRootfs, cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";
import { runc as runcCli, runcBin } from "../helpers/runc";
import { scale } from "../helpers/reliability";
import { until } from "../helpers/until";

const withRunc = runcBin ? test : test.skip;

let bundles: TestBundle[] = [];
let scratch: string[] = [];
let ids: { root: string; id: string }[] = [];
let runcIds: { root: string; id: string }[] = [];
let children: ChildProcess[] = [];

afterEach(() => {
  // Only what this file started, by pid.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  children = [];
  for (const { root, id } of ids.reverse()) berth(["--root", root, "delete", "--force", id]);
  ids = [];
  for (const { root, id } of runcIds) runcCli(["--root", root, "delete", "--force", id]);
  runcIds = [];
  for (const b of bundles) b.cleanup();
  bundles = [];
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
  scratch = [];
});

const uniq = (name: string) => `secr-${name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(d);
  return d;
};
const bundle = (args: string[], mutate?: (c: TestBundle["config"]) => void) => {
  const b = makeBundle(args, mutate);
  bundles.push(b);
  return b;
};
const cli = (b: TestBundle, args: string[]) => berth(["--root", b.root, ...args]);
const runcOn = (b: TestBundle, args: string[]) => runcCli(["--root", join(b.dir, "root-runc"), ...args]);
const runcRun = (b: TestBundle, name: string) => {
  const id = uniq(name);
  runcIds.push({ root: join(b.dir, "root-runc"), id });
  return runcOn(b, ["run", "--bundle", b.dir, id]);
};
const berthRun = (b: TestBundle, name: string, extra: string[] = []) => {
  const id = uniq(name);
  ids.push({ root: b.root, id });
  return cli(b, ["run", ...extra, "-b", b.dir, id]);
};
const addCaps = (caps: Record<string, string[]>, more: string[]) => {
  for (const set of ["bounding", "effective", "permitted"]) caps[set] = [...(caps[set] ?? []), ...more];
};
const inUserns = (c: TestBundle["config"]) => {
  c.linux.namespaces.push({ type: "user" });
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
};
/** A private copy of the busybox rootfs: the test may add to it. */
const rootfsCopy = () => {
  const dir = tempDir("berth-rootfs-");
  // Searchable by a container's root mapped to another uid (mkdtemp makes it 0700).
  chmodSync(dir, 0o755);
  const rootfs = join(dir, "rootfs");
  execFileSync("cp", ["-a", busyboxRootfs(), rootfs]);
  return rootfs;
};
const compile = (name: string, isStatic: boolean) => {
  const out = join(tempDir("berth-fixture-"), name);
  execFileSync("gcc", [...(isStatic ? ["-static"] : []), "-O2", "-o", out, join(__dirname, "fixtures", `${name}.c`)]);
  return out;
};
const lines = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : []);

describe.each([
  ["the default capabilities", [] as string[]],
  ["CAP_SYS_PTRACE and CAP_DAC_OVERRIDE added", ["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE"]],
])("CVE-2019-5736 class through berth exec, %s", (_name, caps) => {
  let exeWriter: string;
  beforeAll(() => {
    exeWriter = join(mkdtempSync(join(tmpdir(), "berth-fixture-")), "exe-writer");
    execFileSync("gcc", ["-static", "-O2", "-o", exeWriter, join(__dirname, "fixtures/exe-writer.c")]);
  });
  afterAll(() => rmSync(join(exeWriter, ".."), { recursive: true, force: true }));

  /** Every host file a rewritten /proc/<pid>/exe could be: the CLI, its addon, berth-init, node. */
  const hostBinaries = () => [
    ...readdirSync(join(repoRoot, "bin")).map((f) => join(repoRoot, "bin", f)),
    join(repoRoot, "build/Release/berth-init"),
    join(repoRoot, "build/Release/berth_native.node"),
    process.execPath,
  ];
  const hashes = () => Object.fromEntries(hostBinaries().map((p) => [p, createHash("sha256").update(readFileSync(p)).digest("hex")]));

  test(`${scale(6, 200)} execs: a process inside opens no /proc/<pid>/exe for writing (O_WRONLY, O_RDWR, reopened through /proc/self/fd); no host binary changes`, async () => {
    const before = hashes();
    const out = tempDir("berth-out-");
    execFileSync("cp", [exeWriter, join(out, "exe-writer")]);
    const b = bundle(["/out/exe-writer", "/out/exe.log"], (c) => {
      c.mounts.push({ destination: "/out", type: "bind", source: out, options: ["rbind", "rw"] });
      addCaps(c.process.capabilities, caps);
    });
    const id = uniq("exe");
    ids.push({ root: b.root, id });
    expect(cli(b, ["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    await until("the attacker to say ready", () => lines(join(out, "exe.log"))[0] === "ready");
    const execs = scale(6, 200);
    for (let i = 0; i < execs; i++) {
      // Short-lived, but long enough for the attacker to go round /proc while it lives.
      expect(cli(b, ["exec", id, "sh", "-c", "sleep 0.03"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    }
    const tried = lines(join(out, "exe.log")).filter((l) => l.startsWith("tried "));
    // It did see the exec'd processes (their busybox, under several executables).
    expect(tried.length).toBeGreaterThan(0);
    expect(tried.filter((l) => / \/bin\/busybox /.test(l)).length).toBeGreaterThan(0);
    // Not one open for writing succeeded.
    expect(tried.filter((l) => /OPENED/.test(l))).toEqual([]);
    // Whatever of berth's it could see is its sealed memfd, never a host path; and writing it
    // is refused by the seal (EPERM) or as a running executable (ETXTBSY).
    const berths = tried.filter((l) => /memfd:berth|\/berth|node/.test(l));
    // seals=15: F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE, so no opener could
    // change it even once nothing executes it.
    // ("moved": the process exec'd between the attacker's readlink and its read-only open.)
    for (const l of berths)
      expect(l).toMatch(
        /^tried \d+ \/memfd:berth-init \(deleted\) wronly=(EPERM|ETXTBSY) rdwr=(EPERM|ETXTBSY) reopen=(EPERM|ETXTBSY) seals=(15|moved)$/,
      );
    // Without CAP_SYS_PTRACE nothing of berth's is visible at all (berth-init is outside the pid
    // namespace; the process it forks in is not dumpable until it execs).
    if (caps.length === 0) expect(berths).toEqual([]);
    expect(hashes()).toEqual(before);
  });
});

describe("CVE-2021-30465 class, the race: a bind mount's destination swapped with a symlink to a host path while containers are created", () => {
  test(`${scale(8, 500)} creates: the mount always lands inside the rootfs, never on the host directory; a create that fails names the mount`, async () => {
    const swapper = compile("swap-exchange", false);
    const rootfs = rootfsCopy();
    const source = tempDir("berth-race-src-");
    writeFileSync(join(source, "from-source"), "source\n");
    // The host directory the symlink names: a runtime that follows it would mount there.
    const host = tempDir("berth-race-host-");
    writeFileSync(join(host, "keep"), "host\n");
    mkdirSync(join(rootfs, "vol"));
    symlinkSync(host, join(rootfs, "vol-swap"));
    const b = bundle(["true"], (c) => {
      c.root.path = rootfs;
      c.mounts.push({ destination: "/vol", type: "bind", source, options: ["rbind"] });
    });
    const volIndex = b.config.mounts.length - 1;
    const count = join(tempDir("berth-race-count-"), "count");
    const sw = spawn(swapper, [rootfs, "vol", "vol-swap", count], { stdio: "ignore" });
    children.push(sw);
    await until("the swapper to run", () => existsSync(count));

    const tries = scale(8, 500);
    const outcomes = { inside: 0, refused: 0 };
    const hostMountinfo = () =>
      readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter((l) => l.includes(host));
    for (let i = 0; i < tries; i++) {
      const id = uniq(`race${i}`);
      const r = cli(b, ["create", "-b", b.dir, id]);
      if (r.exitCode === 0) {
        ids.push({ root: b.root, id });
        const pid = JSON.parse(readFileSync(join(b.root, id, "state.json"), "utf8")).pid as number;
        // The container's mount table: the bind (its root is the source directory) is there, at
        // a path inside the container. One made on the host directory in the container's mount
        // namespace would have gone with the old root at pivot_root and not be listed.
        const binds = readFileSync(`/proc/${pid}/mountinfo`, "utf8")
          .split("\n")
          .filter((l) => l.split(" ")[3] === source);
        expect({ i, binds: binds.length }).toEqual({ i, binds: 1 });
        outcomes.inside++;
        expect(cli(b, ["delete", "--force", id]).exitCode).toBe(0);
        ids.pop();
      } else {
        expect({ i, r }).toEqual({
          i,
          r: { exitCode: 1, stdout: "", stderr: expect.stringMatching(new RegExp(`^berth: create ${id}: mounts\\[${volIndex}\\]`)) },
        });
        expect(existsSync(join(b.root, id))).toBe(false);
        expect(cgroupDirsFor(`/berth/${id}`)).toEqual([]);
        outcomes.refused++;
      }
      expect({ i, host: readdirSync(host), mounts: hostMountinfo() }).toEqual({ i, host: ["keep"], mounts: [] });
    }
    sw.kill("SIGKILL");
    expect(Number(readFileSync(count, "utf8"))).toBeGreaterThan(0);
    expect(outcomes.inside + outcomes.refused).toBe(tries);
    expect(outcomes.inside).toBeGreaterThan(0);
    expect(readFileSync(join(host, "keep"), "utf8")).toBe("host\n");
  });
});

describe("CVE-2019-16884 class: a config mount over /proc or a file below it", () => {
  const fake = () => {
    const dir = tempDir("berth-fake-");
    writeFileSync(join(dir, "file"), "fake\n");
    mkdirSync(join(dir, "dir"));
    return dir;
  };

  test("by name: refused at mounts[i].destination before anything runs (/proc/self/attr/exec, /proc/sys/kernel, /proc itself from a non-procfs); runc's allowed files pass", () => {
    const f = fake();
    for (const [dest, src, reason] of [
      ["/proc/self/attr/exec", "file", "is inside /proc: a mount may cover only /proc/cpuinfo, "],
      ["/proc/sys/kernel", "dir", "is inside /proc: a mount may cover only /proc/cpuinfo, "],
      ["/proc", "dir", "only a procfs may be mounted on /proc (this source is not one)"],
    ] as const) {
      const b = bundle(["true"], (c) => c.mounts.push({ destination: dest, type: "bind", source: join(f, src), options: ["bind"] }));
      const id = uniq("byname");
      const r = cli(b, ["create", "-b", b.dir, id]);
      expect({ dest, r }).toEqual({
        dest,
        r: {
          exitCode: 1,
          stdout: "",
          stderr: expect.stringContaining(
            `berth: create ${id}: mounts[${b.config.mounts.length - 1}].destination ${JSON.stringify(dest)}: ${reason}`,
          ),
        },
      });
      expect(existsSync(join(b.root, id))).toBe(false);
    }
    // lxcfs's files, and a bind of the host's procfs onto /proc, are allowed as by runc.
    const ok = bundle(["cat", "/proc/uptime"], (c) =>
      c.mounts.push({ destination: "/proc/uptime", type: "bind", source: join(f, "file"), options: ["bind"] }),
    );
    expect(berthRun(ok, "lxcfs")).toEqual({ exitCode: 0, stdout: "fake\n", stderr: "" });
  });

  test("through a symlink in the rootfs (/attr -> /proc/self/attr, /p -> /proc): refused naming the mount and where it resolved; nothing is mounted or left", () => {
    const f = fake();
    const rootfs = rootfsCopy();
    symlinkSync("/proc/self/attr", join(rootfs, "attr"));
    symlinkSync("/proc", join(rootfs, "p"));
    for (const [dest, src, resolved] of [
      ["/attr/exec", "file", /the target resolves to \/proc\/\d+\/attr\/exec in the rootfs: /],
      ["/p/sys/kernel", "dir", /the target resolves to \/proc\/sys\/kernel in the rootfs: /],
      ["/p", "dir", /the target resolves to \/proc in the rootfs: /],
    ] as const) {
      const b = bundle(["true"], (c) => {
        c.root.path = rootfs;
        c.mounts.push({ destination: dest, type: "bind", source: join(f, src), options: ["bind"] });
      });
      const id = uniq("via");
      const r = cli(b, ["create", "-b", b.dir, id]);
      expect({ dest, exitCode: r.exitCode, stdout: r.stdout }).toEqual({ dest, exitCode: 1, stdout: "" });
      expect(r.stderr).toMatch(
        new RegExp(`^berth: create ${id}: mounts\\[${b.config.mounts.length - 1}\\]: mount ${join(f, src)} on ${dest}: `),
      );
      expect(r.stderr).toMatch(resolved);
      expect(existsSync(join(b.root, id))).toBe(false);
      expect(cgroupDirsFor(`/berth/${id}`)).toEqual([]);
    }
    // With the same rootfs in user namespace (the bind source opened by the parent, attached
    // with move_mount): refused the same way.
    const b = bundle(["true"], (c) => {
      c.root.path = rootfs;
      inUserns(c);
      c.mounts.push({ destination: "/attr/exec", type: "bind", source: join(f, "file"), options: ["bind"] });
    });
    const r = cli(b, ["create", "-b", b.dir, uniq("via-userns")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/: move_mount fd \d+ on \/attr\/exec: the target resolves to \/proc\/\d+\/attr\/exec in the rootfs: /);
  });

  withRunc("runc 1.1 refuses the same by-name and through-symlink binds", () => {
    const f = fake();
    const rootfs = rootfsCopy();
    symlinkSync("/proc/self/attr", join(rootfs, "attr"));
    for (const [dest, src] of [
      ["/proc/self/attr/exec", "file"],
      ["/proc/sys/kernel", "dir"],
      ["/attr/exec", "file"],
    ] as const) {
      const b = bundle(["true"], (c) => {
        c.root.path = rootfs;
        c.mounts.push({ destination: dest, type: "bind", source: join(f, src), options: ["bind"] });
      });
      const r = runcRun(b, "runc-proc");
      expect({ dest, exitCode: r.exitCode, refused: /cannot be mounted because it is inside \/proc/.test(r.stderr) }).toEqual({
        dest,
        exitCode: 1,
        refused: true,
      });
    }
  });

  // A new procfs mounted from inside would show what the masks cover. Root with the default
  // capabilities, with and without a user namespace of the container's. (The nested user
  // namespace a user inside can make, where the container's masks are locked mounts, is
  // security-mounts.test.ts's mount_too_revealing test: mapping root there needs CAP_SETFCAP.)
  const probe = [
    'mount -t proc proc /mnt 2>/dev/null && echo "proc mounted, keys: $(wc -c < /mnt/keys)" || echo "proc refused"',
    'for p in /proc/keys /proc/timer_list /proc/acpi /proc/scsi; do umount $p 2>/dev/null && echo "umounted $p"; umount -l $p 2>/dev/null && echo "detached $p"; done',
    'echo "keys: $(wc -c < /proc/keys) timer_list: $(wc -c < /proc/timer_list)"',
  ].join("; ");
  const expected = "proc refused\nkeys: 0 timer_list: 0\n";

  test.each([
    ["without a user namespace", false],
    ["in a user namespace", true],
  ])("masked paths stay masked, %s: mount -t proc and umount of the masks fail", (_name, userns) => {
    const b = bundle(["sh", "-c", probe], (c) => {
      if (userns) inUserns(c);
    });
    expect(berthRun(b, "masks")).toEqual({ exitCode: 0, stdout: expected, stderr: "" });
  });

  withRunc("runc 1.1 on the same bundles: the same", () => {
    for (const userns of [false, true]) {
      const b = bundle(["sh", "-c", probe], (c) => {
        if (userns) inUserns(c);
      });
      expect({ userns, ...runcRun(b, "runc-masks") }).toEqual({ userns, exitCode: 0, stdout: expected, stderr: "" });
    }
  });

  test("with CAP_SYS_ADMIN in a user namespace the masks are the container's own mounts (not locked): it may unmount them and mount a procfs, as under runc; that procfs is its namespaces' view", () => {
    const script =
      'mount -t proc proc /mnt && echo mounted; umount /proc/keys && echo umounted; (echo 1 > /mnt/sys/kernel/hostname) 2>/dev/null || echo "host sysctl refused"; (echo b > /mnt/sysrq-trigger) 2>/dev/null || echo "sysrq refused"';
    const b = bundle(["sh", "-c", script], (c) => {
      inUserns(c);
      addCaps(c.process.capabilities, ["CAP_SYS_ADMIN"]);
    });
    const want = { exitCode: 0, stdout: "mounted\numounted\nhost sysctl refused\nsysrq refused\n", stderr: "" };
    expect(berthRun(b, "sysadmin")).toEqual(want);
    if (runcBin) expect(runcRun(b, "runc-sysadmin")).toEqual(want);
  });
});

describe("device cgroup escape: a node the rules do not admit cannot be made or opened from inside", () => {
  // /dev/mem (c 1:1) and a disk (b 8:0, sda's numbers): neither is in the default rules.
  const probe = [
    "for n in 'mem c 1 1' 'sda b 8 0'; do set -- $n",
    'if mknod /scratch/$1 $2 $3 $4 2>/dev/null; then echo "$1 made"; head -c1 /scratch/$1 >/dev/null 2>&1 && echo "$1 READ"; (: > /scratch/$1) 2>/dev/null && echo "$1 WRITTEN"; (head -c1 /scratch/$1 2>&1 >/dev/null | grep -q "Operation not permitted") && echo "$1 open: EPERM"; else echo "$1 mknod refused"; fi',
    "done",
  ].join("\n");
  const scratchMount = (c: TestBundle["config"]) =>
    c.mounts.push({ destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid"] });

  test.each([
    ["the default capabilities: mknod itself is refused (no CAP_MKNOD)", false, "mem mknod refused\nsda mknod refused\n"],
    [
      "CAP_MKNOD added: the nodes are made, and opening either is refused by the device cgroup (EPERM)",
      true,
      "mem made\nmem open: EPERM\nsda made\nsda open: EPERM\n",
    ],
  ])("%s", (_name, mknod, want) => {
    const b = bundle(["sh", "-c", probe], (c) => {
      scratchMount(c);
      if (mknod) addCaps(c.process.capabilities, ["CAP_MKNOD"]);
    });
    expect(berthRun(b, "mknod")).toEqual({ exitCode: 0, stdout: want, stderr: "" });
    if (runcBin) expect(runcRun(b, "runc-mknod")).toEqual({ exitCode: 0, stdout: want, stderr: "" });
  });
});

describe("CVE-2024-21626 class: no fd of berth's reaches a process it starts", () => {
  // The shell's own fds, listed by a child while the shell waits for it (`; true`: busybox sh
  // would exec a last command in its own place, and ls would list its own directory fd).
  const probe = "ls -l /proc/$$/fd; true";
  /** fd -> target, from ls -l. */
  const fds = (out: string) => Object.fromEntries([...out.matchAll(/ (\d+) -> (\S+)/g)].map((m) => [m[1]!, m[2]!]));
  /** The caller's stdio as berth() gives it: /dev/null in, files out; nothing of berth's own. */
  const callersStdio = {
    "0": "/dev/null",
    "1": expect.stringMatching(/\/berth-cli-\w+\/out$/),
    "2": expect.stringMatching(/\/berth-cli-\w+\/err$/),
  };

  test("exec, and exec --preserve-fds 1: 0, 1, 2 (and the preserved 3) only", () => {
    const b = bundle(["sleep", "300"]);
    const id = uniq("fd-exec");
    ids.push({ root: b.root, id });
    expect(cli(b, ["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    const r = cli(b, ["exec", id, "sh", "-c", probe]);
    expect(r.exitCode).toBe(0);
    expect(fds(r.stdout)).toEqual(callersStdio);

    const dir = tempDir("berth-fds-");
    const extra = join(dir, "preserved");
    writeFileSync(extra, "");
    const fd3 = openSync(extra, "r");
    const out = openSync(join(dir, "out"), "w");
    try {
      const p = spawnSync(berthBin, ["--root", b.root, "exec", "--preserve-fds", "1", id, "sh", "-c", probe], {
        stdio: ["ignore", out, "inherit", fd3],
      });
      expect(p.status).toBe(0);
    } finally {
      closeSync(out);
      closeSync(fd3);
    }
    expect(fds(readFileSync(join(dir, "out"), "utf8"))).toEqual({
      "0": "/dev/null",
      "1": join(dir, "out"),
      "2": expect.any(String),
      "3": extra,
    });
  });

  test("create then start: 0, 1, 2 only, none a socket or memfd of berth's", async () => {
    const b = bundle(["sh", "-c", probe]);
    const dir = tempDir("berth-fds-");
    const out = openSync(join(dir, "out"), "w");
    const id = uniq("fd-create");
    ids.push({ root: b.root, id });
    try {
      const c = spawnSync(berthBin, ["--root", b.root, "create", "-b", b.dir, id], { stdio: ["ignore", out, out] });
      expect(c.status).toBe(0);
    } finally {
      closeSync(out);
    }
    expect(cli(b, ["start", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    await until("the process to end", () => JSON.parse(cli(b, ["state", id]).stdout).status === "stopped");
    // The exec fifo, the sync socket, the plan's and berth-init's memfds, the start-result
    // fifo: none is left to the process.
    expect(fds(readFileSync(join(dir, "out"), "utf8"))).toEqual({ "0": "/dev/null", "1": join(dir, "out"), "2": join(dir, "out") });
  });

  test("exec --tty: 0, 1, 2 the pty, nothing else", () => {
    const b = bundle(["sleep", "300"]);
    const id = uniq("fd-tty");
    ids.push({ root: b.root, id });
    expect(cli(b, ["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    const driver = join(__dirname, "fixtures", "pty-drive.py");
    const r = spawnSync(
      "python3",
      [
        driver,
        JSON.stringify({
          argv: [berthBin, "--root", b.root, "exec", "-t", id, "sh", "-c", `echo ready; ${probe}; echo end`],
          rows: 24,
          cols: 80,
          waitFor: "ready",
          timeout: 30,
        }),
      ],
      { encoding: "utf8", timeout: 40_000 },
    );
    expect(r.status).toBe(0);
    const output = (JSON.parse(r.stdout) as { output: string }).output.replace(/\r/g, "");
    const table = output.slice(output.indexOf("ready\n") + 6, output.indexOf("end\n"));
    const pts = expect.stringMatching(/^\/dev\/pts\/\d+$/);
    expect(fds(table)).toEqual({ "0": pts, "1": pts, "2": pts });
  });
});
