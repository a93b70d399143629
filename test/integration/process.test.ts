/**
 * Process attributes and seccomp, observed from inside real containers (config.md "Process",
 * config-linux.md "Seccomp", "Personality"; AppArmor and SELinux, which this host lacks).
 *
 * Where busybox cannot show what the kernel did, a static probe of ours runs in the container
 * (fixtures/syscall-probe.c, bind-mounted at /probe): it makes system calls with chosen
 * arguments, on a second thread, with a SIGSYS handler or through the i386 entry point, and
 * prints each answer. Notifications are answered by a tiny agent (fixtures/seccomp-agent.c)
 * listening at linux.seccomp.listenerPath. Every test checks that nothing is left behind.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import * as native from "../../src/native";
import { berth } from "../helpers/cli";
import { cgroupDirsFor, makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

const E = constants.errno;
const work = mkdtempSync(join(tmpdir(), "berth-process-"));
const probeDir = join(work, "probe");
const agentBin = join(work, "seccomp-agent");

beforeAll(() => {
  execFileSync("mkdir", ["-p", probeDir]);
  execFileSync(
    "cc",
    ["-O2", "-Wall", "-static", "-pthread", "-o", join(probeDir, "probe"), join(__dirname, "fixtures", "syscall-probe.c")],
    { stdio: "pipe" },
  );
  execFileSync("cc", ["-O2", "-Wall", "-o", agentBin, join(__dirname, "fixtures", "seccomp-agent.c")], { stdio: "pipe" });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let b: TestBundle | undefined;
const ids = testIds();
const uniq = ids.uniq;
const cli = (args: string[]) => berth(["--root", b!.root, ...args]);

afterEach(() => {
  ids.deleteAll((id) => cli(["delete", "--force", id]));
  b?.cleanup();
  b = undefined;
});

function leftBehind(id: string) {
  return { state: existsSync(join(b!.root, id)), cgroups: cgroupDirsFor(`/berth/${id}`), processes: processesMentioning(id) };
}
const nothing = { state: false, cgroups: [], processes: [] };

/* eslint-disable @typescript-eslint/no-explicit-any */
type Config = Record<string, any>;

/** A bundle with the probe at /probe/probe and a writable tmpfs at /tmp. */
function bundle(args: string[], mutate: (c: Config) => void = () => undefined): TestBundle {
  b = makeBundle(args, (c) => {
    c.mounts.push({ destination: "/probe", type: "bind", source: probeDir, options: ["rbind", "ro"] });
    c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"] });
    mutate(c);
  });
  return b;
}

/** Run the bundle in the foreground under a fresh id; the result and the id. */
function runIt(name: string): { exitCode: number | null; stdout: string; stderr: string; id: string } {
  const id = uniq(name);
  return { ...cli(["run", "--bundle", b!.dir, id]), id };
}

// runc beside berth on the same bundle, where it is installed: its own --root in the bundle,
// its cgroups under a parent of ours (removed after each test), output to files (a container
// would hold a pipe open).
const runcBin = ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));
const runcParent = `/berthproc-${process.pid}`;
afterEach(() => {
  for (const dir of cgroupDirsFor(runcParent)) rmdirSync(dir);
});

/** `runc run` of the current bundle (its cgroupsPath moved under runcParent), as berth's runIt. */
function runcRun(name: string): { exitCode: number | null; stdout: string; stderr: string } {
  const id = `t-${name}-runc-${process.pid}`;
  const dir = mkdtempSync(join(work, "runc-"));
  b!.config.linux.cgroupsPath = `${runcParent}/${id}`;
  b!.write();
  const out = openSync(join(dir, "out"), "w+");
  const err = openSync(join(dir, "err"), "w+");
  try {
    const r = spawnSync(runcBin!, ["--root", join(b!.dir, "runc-state"), "run", "--bundle", b!.dir, id], {
      stdio: ["ignore", out, err],
      timeout: 30_000,
    });
    return { exitCode: r.status, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: readFileSync(join(dir, "err"), "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
    spawnSync(runcBin!, ["--root", join(b!.dir, "runc-state"), "delete", "--force", id]);
  }
}

/** The native syscall number, as libseccomp (and the kernel) knows it. */
function nr(name: string): number {
  const n = native.seccompSyscallNumber(name);
  if (n < 0) throw new Error(`no syscall ${name}`);
  return n;
}

interface Answer {
  nr: number;
  ret: number;
  errno: number;
  sigsys?: number;
}
const answers = (stdout: string): Answer[] =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Answer);

/** A status line of /proc/self/status, from the container's output. */
function statusField(stdout: string, name: string): string | undefined {
  return new RegExp(`^${name}:\\s*(.*)$`, "m").exec(stdout)?.[1]?.trim();
}

const allowBut = (syscalls: Config[], extra: Config = {}) => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls, ...extra });
const MKDIR = () => `${nr("mkdir")},s:/tmp/d,0755`;

describe("seccomp actions", () => {
  test("SCMP_ACT_ERRNO returns errnoRet, and EPERM without it; the filter is visible in /proc/self/status", () => {
    bundle(
      [
        "sh",
        "-c",
        "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status; /probe/probe " +
          `${MKDIR()} ${nr("getppid")} ${nr("rmdir")},s:/tmp`,
      ],
      (c) => {
        c.linux.seccomp = allowBut([
          { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: E.EXDEV },
          { names: ["rmdir"], action: "SCMP_ACT_ERRNO" },
        ]);
      },
    );
    const r = runIt("errno");
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(statusField(r.stdout, "Seccomp")).toBe("2");
    expect(statusField(r.stdout, "Seccomp_filters")).toBe("1");
    expect(statusField(r.stdout, "NoNewPrivs")).toBe("1");
    const [mkdir, getppid, rmdir] = answers(r.stdout);
    expect(mkdir).toMatchObject({ ret: -1, errno: E.EXDEV });
    expect(getppid).toMatchObject({ ret: 0, errno: 0 }); // pid 1's parent is outside its namespace
    expect(rmdir).toMatchObject({ ret: -1, errno: E.EPERM });
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("calls newer than every listed one get ENOSYS (libc falls back), older unlisted ones the default errno, as under runc", () => {
    // runc 1.1.5's -ENOSYS stub covers the architectures the profile lists: a profile that
    // lists none keeps the default errno for everything, under both runtimes.
    if (native.seccompArchNative() !== "SCMP_ARCH_X86_64") return; // the names below are read from x86_64's table
    const table = readFileSync("/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "utf8");
    const known = [...table.matchAll(/#define __NR_(\w+) (\d+)/g)].map((m) => ({ name: m[1]!, nr: Number(m[2]) }));
    // Everything the runtimes and the probe could need, up to clone3 (435, left out), but
    // mkdir; close_range (436) is the highest listed, faccessat2 (439) newer.
    const allowed = [...known.filter((k) => k.nr < nr("clone3") && k.name !== "mkdir").map((k) => k.name), "close_range"];
    const calls = [MKDIR(), `${nr("clone3")},0,0`, `${nr("faccessat2")},-100,s:/,0,0`, "1000", `${nr("getppid")}`];
    const expected = (newer: number) => [
      { nr: nr("mkdir"), ret: -1, errno: E.EPERM },
      { nr: nr("clone3"), ret: -1, errno: E.EPERM },
      { nr: nr("faccessat2"), ret: -1, errno: newer },
      { nr: 1000, ret: -1, errno: newer },
      { nr: nr("getppid"), ret: 0, errno: 0 },
    ];
    for (const architectures of [["SCMP_ARCH_X86_64"], undefined]) {
      bundle(["/probe/probe", ...calls], (c) => {
        c.process.noNewPrivileges = true;
        c.linux.seccomp = {
          defaultAction: "SCMP_ACT_ERRNO",
          ...(architectures ? { architectures } : {}),
          syscalls: [{ names: allowed, action: "SCMP_ACT_ALLOW" }],
        };
      });
      const r = runIt("enosys");
      expect({ architectures, exitCode: r.exitCode, stderr: r.stderr, answers: answers(r.stdout) }).toEqual({
        architectures,
        exitCode: 0,
        stderr: "",
        answers: expected(architectures ? E.ENOSYS : E.EPERM),
      });
      expect(leftBehind(r.id)).toEqual(nothing);
      if (runcBin) {
        const theirs = runcRun("enosys");
        expect({ architectures, exitCode: theirs.exitCode, stderr: theirs.stderr, answers: answers(theirs.stdout) }).toEqual({
          architectures,
          exitCode: 0,
          stderr: "",
          answers: expected(architectures ? E.ENOSYS : E.EPERM),
        });
      }
      b!.cleanup();
    }
  });

  test("busybox mkdir fails with the configured errno's text", () => {
    bundle(["sh", "-c", "mkdir /tmp/x; echo rc=$?"], (c) => {
      c.linux.seccomp = allowBut([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: E.EXDEV }]);
    });
    const r = runIt("mkdir");
    expect(r.stdout).toBe("rc=1\n");
    expect(r.stderr).toMatch(/mkdir: can't create directory '\/tmp\/x': Invalid cross-device link/);
  });

  test("defaultAction SCMP_ACT_ERRNO with defaultErrnoRet: only the listed calls work", () => {
    // What the static probe, glibc's start-up and berth-init after the load (ready, wait for
    // start, exec) need; everything else gets defaultErrnoRet.
    const needed = [
      "read",
      "write",
      "close",
      "execve",
      "brk",
      "mmap",
      "munmap",
      "mprotect",
      "arch_prctl",
      "set_tid_address",
      "set_robust_list",
      "rseq",
      "prlimit64",
      "readlinkat",
      "readlink",
      "getrandom",
      "newfstatat",
      "fstat",
      "exit",
      "exit_group",
      "sendto",
      "sendmsg",
      "rt_sigprocmask",
      "rt_sigaction",
      "futex",
      "uname",
      "ioctl",
      "getpid",
      "rt_sigreturn",
      "openat",
      "close_range",
      "fcntl",
    ];
    bundle(["/probe/probe", MKDIR(), `${nr("getppid")}`, `${nr("getuid")}`], (c) => {
      c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: E.ENOTSUP,
        syscalls: [{ names: [...needed, "getppid"], action: "SCMP_ACT_ALLOW" }],
      };
    });
    const r = runIt("default");
    expect(r.stderr).toBe("");
    const [mkdir, getppid, getuid] = answers(r.stdout);
    expect(mkdir).toMatchObject({ ret: -1, errno: E.ENOTSUP });
    expect(getppid).toMatchObject({ ret: 0, errno: 0 });
    expect(getuid).toMatchObject({ ret: -1, errno: E.ENOTSUP });
    expect(r.exitCode).toBe(0);
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test.each([
    ["SCMP_ACT_KILL", 159],
    ["SCMP_ACT_KILL_PROCESS", 159],
    ["SCMP_ACT_KILL_THREAD", 159],
  ])("%s kills the caller with SIGSYS: exit 159", (action, code) => {
    bundle(["/probe/probe", `${nr("getppid")}`, MKDIR(), `${nr("getppid")}`], (c) => {
      c.linux.seccomp = allowBut([{ names: ["mkdir"], action }]);
    });
    const r = runIt("kill");
    expect(r.exitCode).toBe(code);
    // The first call answered, the second killed: the third never ran.
    expect(answers(r.stdout).map((a) => a.nr)).toEqual([nr("getppid")]);
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("SCMP_ACT_KILL_THREAD and SCMP_ACT_KILL end only the thread; SCMP_ACT_KILL_PROCESS the whole process", () => {
    const args = ["/probe/probe", `thread:${MKDIR()}`, `${nr("getppid")}`];
    for (const [action, exitCode, survivors] of [
      ["SCMP_ACT_KILL_THREAD", 0, 2],
      ["SCMP_ACT_KILL", 0, 2],
      ["SCMP_ACT_KILL_PROCESS", 159, 0],
    ] as const) {
      bundle(args, (c) => {
        c.linux.seccomp = allowBut([{ names: ["mkdir"], action }]);
      });
      const r = runIt("thread");
      expect({ action, exitCode: r.exitCode, lines: answers(r.stdout).length }).toEqual({ action, exitCode, lines: survivors });
      expect(leftBehind(r.id)).toEqual(nothing);
      b!.cleanup();
    }
  });

  test("SCMP_ACT_TRAP sends SIGSYS naming the call; unhandled it kills (159)", () => {
    bundle(["/probe/probe", `trap:${MKDIR()}`, MKDIR()], (c) => {
      c.linux.seccomp = allowBut([{ names: ["mkdir"], action: "SCMP_ACT_TRAP" }]);
    });
    const r = runIt("trap");
    expect(r.exitCode).toBe(159);
    const [trapped] = answers(r.stdout);
    // The call was not made; what its return register holds is up to the architecture.
    expect(trapped).toMatchObject({ nr: nr("mkdir"), sigsys: nr("mkdir") });
    expect(answers(r.stdout)).toHaveLength(1);
  });

  test("SCMP_ACT_TRACE without a tracer fails the call with ENOSYS (seccomp(2)); the rest runs", () => {
    bundle(["/probe/probe", MKDIR(), `${nr("getppid")}`], (c) => {
      c.linux.seccomp = allowBut([{ names: ["mkdir"], action: "SCMP_ACT_TRACE", errnoRet: 7 }]);
    });
    const r = runIt("trace");
    expect(r.exitCode).toBe(0);
    expect(answers(r.stdout)).toEqual([
      { nr: nr("mkdir"), ret: -1, errno: E.ENOSYS },
      { nr: nr("getppid"), ret: 0, errno: 0 },
    ]);
  });

  test("SCMP_ACT_LOG lets the call through and the kernel logs it", () => {
    // The probe is the container's process itself, so its host pid is the one in --pid-file.
    bundle(["/probe/probe", MKDIR()], (c) => {
      c.linux.seccomp = allowBut([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_LOG" }]);
    });
    const id = uniq("log");
    const pidFile = join(b!.dir, "pid");
    const r = cli(["run", "--pid-file", pidFile, "--bundle", b!.dir, id]);
    expect(r).toEqual({ exitCode: 0, stdout: `${JSON.stringify({ nr: nr("mkdir"), ret: 0, errno: 0 })}\n`, stderr: "" });
    const pid = readFileSync(pidFile, "utf8").trim();
    const log = execFileSync("dmesg", { encoding: "utf8" });
    // The audit record of a logged action: code is SECCOMP_RET_LOG.
    expect(log).toMatch(new RegExp(`type=1326 .* pid=${pid} .*syscall=${nr("mkdir")} .*code=0x7ffc0000`));
    expect(leftBehind(id)).toEqual(nothing);
  });

  test("an action equal to the default action changes nothing (the rule is dropped)", () => {
    bundle(["/probe/probe", MKDIR()], (c) => {
      c.linux.seccomp = allowBut([{ names: ["mkdir"], action: "SCMP_ACT_ALLOW" }]);
    });
    const r = runIt("same");
    expect(answers(r.stdout)).toEqual([{ nr: nr("mkdir"), ret: 0, errno: 0 }]);
  });
});

describe("seccomp architectures, conditions and flags", () => {
  const I386_GETPID = 20;

  test("a call from an architecture not in the filter is killed; listed, the rules apply to it too", () => {
    if (native.seccompArchNative() !== "SCMP_ARCH_X86_64") return;
    // Some hosts cannot make i386 system calls at all (int 0x80 faults: ia32 emulation off, or
    // a hypervisor without it): detect it on the host, outside any filter, and say so.
    const host = spawnSync(join(probeDir, "probe"), [`i386:${I386_GETPID}`]);
    if (host.signal === "SIGSEGV") {
      console.warn("seccomp architectures: this host cannot make i386 system calls (int 0x80 faults); the case is not testable here");
      return;
    }
    bundle(["/probe/probe", `${nr("getpid")}`, `i386:${I386_GETPID}`], (c) => {
      c.linux.seccomp = allowBut([{ names: ["getppid"], action: "SCMP_ACT_ERRNO" }], { architectures: ["SCMP_ARCH_X86_64"] });
    });
    let r = runIt("arch");
    expect(r.exitCode).toBe(159);
    expect(answers(r.stdout)).toEqual([{ nr: nr("getpid"), ret: 1, errno: 0 }]);
    b!.cleanup();

    bundle(["/probe/probe", `${nr("getpid")}`, `i386:${I386_GETPID}`], (c) => {
      c.linux.seccomp = allowBut([{ names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: E.EXDEV }], {
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      });
    });
    r = runIt("arch2");
    expect(r.exitCode).toBe(0);
    expect(answers(r.stdout)).toEqual([
      { nr: nr("getpid"), ret: -1, errno: E.EXDEV },
      { nr: I386_GETPID, ret: -1, errno: E.EXDEV },
    ]);
  });

  test("argument conditions: every operator hits only matching values", () => {
    // Calls that ignore their arguments, so only the filter decides; one operator each.
    const ops: [string, string, Config][] = [
      ["getppid", "SCMP_CMP_EQ", { value: 10 }],
      ["getuid", "SCMP_CMP_NE", { value: 10 }],
      ["getgid", "SCMP_CMP_LT", { value: 10 }],
      ["geteuid", "SCMP_CMP_LE", { value: 10 }],
      ["getegid", "SCMP_CMP_GT", { value: 10 }],
      ["getpgrp", "SCMP_CMP_GE", { value: 10 }],
      ["gettid", "SCMP_CMP_MASKED_EQ", { value: 0xf0, valueTwo: 0x10 }],
    ];
    const probes = [9, 10, 11, 0x1f, 0x20];
    const calls = ops.flatMap(([name]) => probes.map((v) => `${nr(name)},${v}`));
    bundle(["/probe/probe", ...calls], (c) => {
      c.linux.seccomp = allowBut(
        ops.map(([name, op, vals]) => ({ names: [name], action: "SCMP_ACT_ERRNO", errnoRet: E.EXDEV, args: [{ index: 0, op, ...vals }] })),
      );
    });
    const r = runIt("args");
    expect(r.stderr).toBe("");
    const hit = answers(r.stdout).map((a) => a.errno === E.EXDEV);
    const expected = ops.flatMap(([, op]) =>
      probes.map((v) => {
        switch (op) {
          case "SCMP_CMP_EQ":
            return v === 10;
          case "SCMP_CMP_NE":
            return v !== 10;
          case "SCMP_CMP_LT":
            return v < 10;
          case "SCMP_CMP_LE":
            return v <= 10;
          case "SCMP_CMP_GT":
            return v > 10;
          case "SCMP_CMP_GE":
            return v >= 10;
          default:
            return (v & 0xf0) === 0x10;
        }
      }),
    );
    expect(hit).toEqual(expected);
  });

  test("conditions on different arguments are ANDed; 64-bit values compare in full", () => {
    const big = 2 ** 32 + 5;
    bundle(
      [
        "/probe/probe",
        `${nr("getppid")},1,2`,
        `${nr("getppid")},1,3`,
        `${nr("getppid")},0,2`,
        `${nr("getuid")},${big}`,
        `${nr("getuid")},5`,
      ],
      (c) => {
        c.linux.seccomp = allowBut([
          {
            names: ["getppid"],
            action: "SCMP_ACT_ERRNO",
            errnoRet: E.EXDEV,
            args: [
              { index: 0, op: "SCMP_CMP_EQ", value: 1 },
              { index: 1, op: "SCMP_CMP_EQ", value: 2 },
            ],
          },
          { names: ["getuid"], action: "SCMP_ACT_ERRNO", errnoRet: E.EXDEV, args: [{ index: 0, op: "SCMP_CMP_EQ", value: big }] },
        ]);
      },
    );
    const r = runIt("and");
    expect(answers(r.stdout).map((a) => a.errno)).toEqual([E.EXDEV, 0, 0, E.EXDEV, 0]);
  });

  test("SECCOMP_FILTER_FLAG_LOG logs an ERRNO action, which is not logged without it", () => {
    const pids: Record<string, string> = {};
    for (const flags of [["SECCOMP_FILTER_FLAG_LOG"], []]) {
      bundle(["/probe/probe", MKDIR()], (c) => {
        c.linux.seccomp = allowBut([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }], { flags });
      });
      const id = uniq("flaglog");
      const pidFile = join(b!.dir, "pid");
      expect(cli(["run", "--pid-file", pidFile, "--bundle", b!.dir, id]).exitCode).toBe(0);
      pids[flags.length ? "log" : "none"] = readFileSync(pidFile, "utf8").trim();
      expect(leftBehind(id)).toEqual(nothing);
      b!.cleanup();
    }
    const log = execFileSync("dmesg", { encoding: "utf8" });
    // The record's code is the action without its data (SECCOMP_RET_ERRNO).
    const logged = (pid: string) => new RegExp(`type=1326 .* pid=${pid} .*syscall=${nr("mkdir")} .*code=0x50000`).test(log);
    expect({ log: logged(pids.log!), none: logged(pids.none!) }).toEqual({ log: true, none: false });
  });

  test("SECCOMP_FILTER_FLAG_SPEC_ALLOW and WAIT_KILLABLE_RECV (without NOTIFY) load; the filter works", () => {
    const host = native.probe().seccomp.flags;
    const flags = ["SECCOMP_FILTER_FLAG_SPEC_ALLOW", ...(host.wait_killable_recv ? ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] : [])];
    bundle(["sh", "-c", "grep -E '^(Seccomp|Speculation_Store_Bypass):' /proc/self/status; /probe/probe " + MKDIR()], (c) => {
      c.linux.seccomp = allowBut([{ names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: E.EXDEV }], { flags });
    });
    const r = runIt("flags");
    expect(r.stderr).toBe("");
    expect(statusField(r.stdout, "Seccomp")).toBe("2");
    // With SPEC_ALLOW the filter does not force the Speculative Store Bypass mitigation.
    expect(statusField(r.stdout, "Speculation_Store_Bypass")).not.toBe("thread force mitigated");
    expect(answers(r.stdout)).toEqual([{ nr: nr("mkdir"), ret: -1, errno: E.EXDEV }]);
  });

  test("an unknown action is refused at its field before anything is made", () => {
    bundle(["true"], (c) => {
      c.linux.seccomp = allowBut([
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO" },
        { names: ["rmdir"], action: "SCMP_ACT_ALLOW" },
        { names: ["chdir"], action: "SCMP_ACT_FOO" },
      ]);
    });
    const r = runIt("badaction");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^berth: create ${r.id}: linux\\.seccomp\\.syscalls\\[2\\]\\.action "SCMP_ACT_FOO": `));
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("errnoRet on an action that takes none is refused at its field", () => {
    bundle(["true"], (c) => {
      c.linux.seccomp = allowBut([{ names: ["mkdir"], action: "SCMP_ACT_KILL", errnoRet: 5 }]);
    });
    const r = runIt("badretno");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^berth: create ${r.id}: linux\\.seccomp\\.syscalls\\[0\\]\\.errnoRet 5: `));
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("linux.mountLabel without SELinux: the container runs, unlabelled (as crun); check warns", () => {
    if (existsSync("/sys/fs/selinux/enforce")) return;
    bundle(
      ["sh", "-c", "grep -c context= /proc/self/mountinfo || true"],
      (c: Config) => (c.linux.mountLabel = "system_u:object_r:container_file_t:s0"),
    );
    const r = runIt("mountlabel");
    expect(r).toEqual({ id: r.id, exitCode: 0, stdout: "0\n", stderr: "" });
  });
});

describe("seccomp notify (listenerPath)", () => {
  interface Agent {
    child: ChildProcess;
    socket: string;
    /** Everything the agent printed, once it has exited. */
    done: Promise<{ code: number | null; out: string; err: string }>;
  }

  /** Start the agent and resolve once it listens (it says so on stdout: no sleeping). */
  async function startAgent(mode: string[]): Promise<Agent> {
    const socket = join(mkdtempSync(join(work, "agent-")), "agent.sock");
    const child = spawn(agentBin, [socket, ...mode], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    const listening = new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.startsWith("listening\n")) resolve();
      });
      child.on("exit", () => reject(new Error(`agent exited: ${err}`)));
    });
    const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
      child.on("close", (code) => resolve({ code, out, err })),
    );
    await listening;
    return { child, socket, done };
  }

  const notifyMkdir =
    (socket: string, extra: Config = {}) =>
    (c: Config) => {
      c.annotations = { "org.example.test": "notify" };
      c.linux.seccomp = allowBut([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }], {
        listenerPath: socket,
        listenerMetadata: "MKDIR=answer",
        ...extra,
      });
    };

  test("the agent gets the state and the listener fd; its errno answer is what mkdir returns", async () => {
    const agent = await startAgent(["errno", String(E.EXDEV)]);
    bundle(["/probe/probe", MKDIR(), `${nr("getppid")}`], notifyMkdir(agent.socket));
    const r = runIt("notify");
    const seen = await agent.done;
    expect(seen.err).toBe("");
    expect(seen.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(answers(r.stdout)).toEqual([
      { nr: nr("mkdir"), ret: -1, errno: E.EXDEV },
      { nr: nr("getppid"), ret: 0, errno: 0 },
    ]);
    const lines = seen.out.split("\n");
    const message = JSON.parse(lines[1]!);
    expect(message).toEqual({
      ociVersion: "1.3.0",
      fds: ["seccompFd"],
      pid: expect.any(Number),
      metadata: "MKDIR=answer",
      state: {
        ociVersion: "1.3.0",
        id: r.id,
        status: "creating",
        pid: message.pid,
        bundle: b!.dir,
        annotations: { "org.example.test": "notify" },
      },
    });
    // One fd, one notification (mkdir), and the listener hung up when the container exited.
    expect(lines.slice(2)).toEqual(["fds 1", `notify ${nr("mkdir")}`, "done", ""]);
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("SECCOMP_USER_NOTIF_FLAG_CONTINUE: the call goes on and succeeds (with WAIT_KILLABLE_RECV when the kernel has it)", async () => {
    const agent = await startAgent(["continue"]);
    const flags = native.probe().seccomp.flags.wait_killable_recv ? ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] : [];
    bundle(["sh", "-c", "mkdir /tmp/made && ls -d /tmp/made"], notifyMkdir(agent.socket, { flags }));
    const r = runIt("continue");
    const seen = await agent.done;
    expect(r).toMatchObject({ exitCode: 0, stdout: "/tmp/made\n", stderr: "" });
    expect(seen.out).toContain(`notify ${nr("mkdir")}\ndone\n`);
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("without noNewPrivileges the filter (and its listener) comes before the user switch: still delivered", async () => {
    const agent = await startAgent(["errno", String(E.EROFS)]);
    bundle(["/probe/probe", MKDIR()], (c) => {
      notifyMkdir(agent.socket)(c);
      c.process.noNewPrivileges = false;
      c.process.user = { uid: 1000, gid: 1000 };
    });
    const r = runIt("notifynnp");
    const seen = await agent.done;
    expect(r).toMatchObject({ exitCode: 0, stderr: "" });
    expect(answers(r.stdout)).toEqual([{ nr: nr("mkdir"), ret: -1, errno: E.EROFS }]);
    expect(seen.out).toContain(`fds 1\nnotify ${nr("mkdir")}\ndone\n`);
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("SCMP_ACT_NOTIFY on write is refused at create, naming the rule, as runc refuses it", () => {
    // No agent: the refusal comes before anything is made (crun 1.8.1 accepts the profile and
    // then hangs in create).
    bundle(["true"], (c) => {
      c.linux.seccomp = allowBut(
        [
          { names: ["mkdir"], action: "SCMP_ACT_NOTIFY" },
          { names: ["read", "write"], action: "SCMP_ACT_NOTIFY" },
        ],
        { listenerPath: join(work, "none.sock") },
      );
    });
    const r = runIt("notifywrite");
    expect(r).toEqual({
      id: r.id,
      exitCode: 1,
      stdout: "",
      stderr: `berth: create ${r.id}: linux.seccomp.syscalls[1].action "SCMP_ACT_NOTIFY": cannot be used for the write syscall (names[1]): runc refuses it, as its init reports the listener with write after loading the filter, which could then never reach the agent; berth keeps profiles portable between the two\n`,
    });
    expect(leftBehind(r.id)).toEqual(nothing);
    if (runcBin)
      expect(runcRun("notifywrite")).toMatchObject({
        exitCode: 1,
        stdout: "",
        stderr: expect.stringContaining("SCMP_ACT_NOTIFY cannot be used for the write syscall"),
      });
  });

  test("SCMP_ACT_NOTIFY on sendmsg is refused too: berth-init hands the listener over with it", () => {
    bundle(["true"], (c) => {
      c.linux.seccomp = allowBut([{ names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" }], { listenerPath: join(work, "none.sock") });
    });
    const r = runIt("notifysendmsg");
    expect(r).toMatchObject({ exitCode: 1, stdout: "" });
    expect(r.stderr).toMatch(
      new RegExp(
        `^berth: create ${r.id}: linux\\.seccomp\\.syscalls\\[0\\]\\.action "SCMP_ACT_NOTIFY": cannot be used for the sendmsg syscall \\(names\\[0\\]\\): `,
      ),
    );
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("a listenerPath nobody listens on fails create at that field, and nothing is left", () => {
    const socket = join(work, "nobody.sock");
    bundle(["true"], notifyMkdir(socket));
    const r = runIt("nolistener");
    expect(r).toMatchObject({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create ${r.id}: linux.seccomp.listenerPath "${socket}": cannot send the seccomp listener to the agent: connect: no such file or directory\n`,
    });
    expect(leftBehind(r.id)).toEqual(nothing);
  });
});

describe("process", () => {
  const status = "grep -E '^(Cap|NoNewPrivs)' /proc/self/status";

  test("user: uid, gid, additionalGids and umask", () => {
    bundle(["sh", "-c", "id; umask; touch /tmp/f; stat -c %a /tmp/f"], (c) => {
      c.process.user = { uid: 1234, gid: 2345, additionalGids: [5, 7], umask: 0o027 };
      c.mounts = c.mounts.map((m: Config) => (m.destination === "/tmp" ? { ...m, options: ["mode=1777"] } : m));
    });
    const r = runIt("user");
    expect(r).toMatchObject({ exitCode: 0, stdout: "uid=1234 gid=2345 groups=5,7\n0027\n640\n", stderr: "" });
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("the default umask is 0022", () => {
    bundle(["sh", "-c", "umask"]);
    expect(runIt("umask")).toMatchObject({ exitCode: 0, stdout: "0022\n" });
  });

  test("capabilities: all five sets as root; ambient only where permitted and inheritable", () => {
    const caps = {
      bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"],
      effective: ["CAP_CHOWN", "CAP_KILL"],
      permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
      inheritable: ["CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"],
      ambient: ["CAP_KILL", "CAP_CHOWN"],
    };
    const bit = (n: number) => 1n << BigInt(n);
    const hex = (v: bigint) => v.toString(16).padStart(16, "0");
    const CHOWN = bit(0),
      KILL = bit(5),
      NET_RAW = bit(13),
      SYS_ADMIN = bit(21);

    // A non-root user: after execve, permitted and effective are the ambient set (a binary
    // without file capabilities), and ambient is CAP_KILL only (CAP_CHOWN is not inheritable).
    bundle(["sh", "-c", status], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.capabilities = caps;
    });
    let r = runIt("caps");
    expect(r.stderr).toBe("");
    expect({
      CapInh: statusField(r.stdout, "CapInh"),
      CapPrm: statusField(r.stdout, "CapPrm"),
      CapEff: statusField(r.stdout, "CapEff"),
      CapBnd: statusField(r.stdout, "CapBnd"),
      CapAmb: statusField(r.stdout, "CapAmb"),
    }).toEqual({
      CapInh: hex(KILL | NET_RAW | SYS_ADMIN),
      CapPrm: hex(KILL),
      CapEff: hex(KILL),
      CapBnd: hex(CHOWN | KILL | NET_RAW | SYS_ADMIN),
      CapAmb: hex(KILL),
    });
    b!.cleanup();

    // Root: execve gives root its bounding set as permitted and effective -- unless
    // no_new_privs holds it to the permitted set it had (the default config sets it).
    for (const nnp of [true, false]) {
      bundle(["sh", "-c", status], (c) => {
        c.process.capabilities = caps;
        c.process.noNewPrivileges = nnp;
      });
      r = runIt("capsroot");
      const prm = nnp ? CHOWN | KILL | NET_RAW : CHOWN | KILL | NET_RAW | SYS_ADMIN;
      expect({
        nnp,
        CapPrm: statusField(r.stdout, "CapPrm"),
        CapEff: statusField(r.stdout, "CapEff"),
        CapBnd: statusField(r.stdout, "CapBnd"),
        CapAmb: statusField(r.stdout, "CapAmb"),
      }).toEqual({
        nnp,
        CapPrm: hex(prm),
        CapEff: hex(prm),
        CapBnd: hex(CHOWN | KILL | NET_RAW | SYS_ADMIN),
        CapAmb: hex(KILL),
      });
      expect(leftBehind(r.id)).toEqual(nothing);
      b!.cleanup();
    }
  });

  test("an unknown capability name is skipped with a warning on stderr: create and run succeed with the known ones", () => {
    const caps = {
      bounding: ["CAP_CHOWN", "CAP_UNKNOWN", "CAP_KILL"],
      effective: ["CAP_CHOWN", "CAP_KILL"],
      permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_UNKNOWN"],
    };
    bundle(["sh", "-c", "grep -E '^Cap(Bnd|Prm)' /proc/self/status"], (c) => (c.process.capabilities = caps));
    const r = runIt("capunknown");
    const warned = (op: string, id: string) =>
      `berth: ${op} ${id}: process.capabilities.bounding[1] "CAP_UNKNOWN": unknown capability, skipped\n` +
      `berth: ${op} ${id}: process.capabilities.permitted[2] "CAP_UNKNOWN": unknown capability, skipped\n`;
    expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({
      exitCode: 0,
      stdout: "CapPrm:\t0000000000000021\nCapBnd:\t0000000000000021\n",
      stderr: warned("create", r.id),
    });
    expect(leftBehind(r.id)).toEqual(nothing);
    // create alone: the same warning, exit 0, and the container starts with the known set.
    const id = uniq("capunknown-create");
    expect(cli(["create", "--bundle", b!.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: warned("create", id) });
    expect(cli(["start", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  });

  test("noNewPrivileges true and false, with and without a seccomp filter", () => {
    for (const [nnp, filter] of [
      [true, false],
      [false, false],
      [false, true],
    ] as const) {
      bundle(["sh", "-c", "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; mkdir /tmp/x; echo rc=$?"], (c) => {
        c.process.noNewPrivileges = nnp;
        if (filter) c.linux.seccomp = allowBut([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }]);
      });
      const r = runIt("nnp");
      expect({
        nnp,
        filter,
        NoNewPrivs: statusField(r.stdout, "NoNewPrivs"),
        Seccomp: statusField(r.stdout, "Seccomp"),
        rc: /rc=(\d+)/.exec(r.stdout)?.[1],
      }).toEqual({
        nnp,
        filter,
        NoNewPrivs: nnp ? "1" : "0",
        Seccomp: filter ? "2" : "0",
        rc: filter ? "1" : "0",
      });
      expect(leftBehind(r.id)).toEqual(nothing);
      b!.cleanup();
    }
  });

  test("rlimits: soft and hard as configured, lowered and raised below the host's hard limit", () => {
    bundle(["sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Sc; ulimit -Hc; ulimit -Hs"], (c) => {
      c.process.rlimits = [
        { type: "RLIMIT_NOFILE", soft: 513, hard: 777 },
        { type: "RLIMIT_CORE", soft: 0, hard: 4096 },
        { type: "RLIMIT_STACK", soft: 8388608, hard: 18446744073709551615 },
      ];
    });
    const r = runIt("rlimits");
    // ulimit -c counts 512-byte blocks in busybox, like bash; -s kilobytes.
    expect(r).toMatchObject({ exitCode: 0, stdout: "513\n777\n0\n8\nunlimited\n", stderr: "" });
  });

  test("an rlimit above berth's own hard limit, without CAP_SYS_RESOURCE, is an error at process.rlimits[i]", () => {
    const host = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))![1]!;
    const hasSysResource = (BigInt(`0x${/^CapEff:\s*(\S+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]}`) & (1n << 24n)) !== 0n;
    if (hasSysResource || host === "unlimited") return; // nothing to exceed on this host
    const above = Number(host) + 10000;
    bundle(["true"], (c) => {
      c.process.rlimits = [
        { type: "RLIMIT_CORE", soft: 0, hard: 0 },
        { type: "RLIMIT_NOFILE", soft: above, hard: above },
      ];
    });
    const r = runIt("rlimithi");
    expect(r).toMatchObject({ exitCode: 1, stdout: "" });
    expect(r.stderr).toMatch(
      new RegExp(`^berth: create ${r.id}: process\\.rlimits\\[1\\]\\.hard ${above}: is above berth's own hard RLIMIT_NOFILE \\(${host}\\)`),
    );
    expect(leftBehind(r.id)).toEqual(nothing);
  });

  test("oomScoreAdj", () => {
    bundle(["cat", "/proc/self/oom_score_adj"], (c) => {
      c.process.oomScoreAdj = 421;
    });
    expect(runIt("oom")).toMatchObject({ exitCode: 0, stdout: "421\n", stderr: "" });
  });

  test("env is passed as given; PATH, and HOME from /etc/passwd, are added when missing (as runc)", () => {
    bundle(["/bin/env"], (c) => {
      c.process.env = ["FOO=bar baz", "EMPTY="];
    });
    const r = runIt("env");
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual([
      "EMPTY=",
      "FOO=bar baz",
      "HOME=/root",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
    b!.cleanup();
    bundle(["sh", "-c", "echo $PATH"], (c) => {
      c.process.env = ["PATH=/bin"];
    });
    expect(runIt("envpath").stdout).toBe("/bin\n");
  });

  test("cwd: the process starts there; a missing cwd is created (as runc does), also on a read-only root", () => {
    bundle(["sh", "-c", "pwd; stat -c '%a %u' ."], (c) => {
      c.process.cwd = "/tmp/a/b";
    });
    expect(runIt("cwd")).toMatchObject({ exitCode: 0, stdout: "/tmp/a/b\n755 0\n", stderr: "" });
    b!.cleanup();
    const dir = `berth-cwd-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    bundle(["pwd"], (c) => {
      c.process.cwd = `/${dir}`;
      c.root.readonly = true;
    });
    const r = runIt("cwdroot");
    try {
      expect(r).toMatchObject({ exitCode: 0, stdout: `/${dir}\n`, stderr: "" });
    } finally {
      rmSync(join(b!.config.root.path, dir), { recursive: true, force: true });
    }
  });

  test("personality LINUX32: uname -m says i686", () => {
    bundle(["uname", "-m"], (c) => {
      c.linux.personality = { domain: "LINUX32" };
    });
    const r = runIt("pers");
    expect(r).toMatchObject({ exitCode: 0, stdout: "i686\n", stderr: "" });
    b!.cleanup();
    bundle(["uname", "-m"], (c) => {
      c.linux.personality = { domain: "LINUX" };
    });
    expect(runIt("pers64").stdout).toBe(`${execFileSync("uname", ["-m"], { encoding: "utf8" }).trim()}\n`);
  });
});

describe("AppArmor and SELinux, absent on this host", () => {
  const hasAppArmor = () => readFileSync("/sys/module/apparmor/parameters/enabled", { encoding: "utf8", flag: "r" }).trim() === "Y";

  test.each([
    [
      "process.apparmorProfile",
      (c: Config) => (c.process.apparmorProfile = "berth-test"),
      "berth-test",
      "AppArmor is not enabled on this host",
    ],
    [
      "process.selinuxLabel",
      (c: Config) => (c.process.selinuxLabel = "system_u:system_r:container_t:s0"),
      "system_u:system_r:container_t:s0",
      "SELinux is not enabled on this host",
    ],
  ])("%s is an error naming the field; nothing is left", (field, set, value, reason) => {
    if (field.includes("apparmor") ? existsSync("/sys/module/apparmor") && hasAppArmor() : existsSync("/sys/fs/selinux/enforce")) return;
    bundle(["true"], set);
    const r = runIt("lsm");
    expect(r).toEqual({ id: r.id, exitCode: 1, stdout: "", stderr: `berth: create ${r.id}: ${field} "${value}": ${reason}\n` });
    expect(leftBehind(r.id)).toEqual(nothing);
  });
});
