/**
 * seccompCompile, observed: the BPF's shape, then the real proof -- a child process loads the
 * filter (test/native/fixtures/seccomp-apply.c, built here with cc) and makes one system call,
 * and we check what the kernel answered or how the child died. Filters are planned by
 * planSeccomp, so this also checks that the planner's numbers mean to the kernel what they
 * should. Needs `npm run build:native` and a C compiler; no root (the child sets no_new_privs).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import * as native from "../../src/native";
import { planSeccomp, SECCOMP_FILTER_FLAG, type SeccompRequest } from "../../src/plan/seccomp";
import type { Seccomp } from "../../src/spec";

const { errno: E } = constants;
const AT_FDCWD = -100;

const NATIVE = native.seccompArchNative();
const work = mkdtempSync(join(tmpdir(), "berth-seccomp-"));
const applier = join(work, "seccomp-apply");

beforeAll(() => {
  execFileSync("cc", ["-O2", "-Wall", "-o", applier, join(__dirname, "fixtures", "seccomp-apply.c")], { stdio: "pipe" });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function compile(seccomp: Seccomp): native.SeccompCompiled & { req: SeccompRequest } {
  const req = planSeccomp(seccomp, NATIVE);
  return { ...native.seccompCompile(req), req };
}

/** The syscall's native number (libseccomp's table, which is also the kernel's). */
function nr(name: string): number {
  const n = native.seccompSyscallNumber(name);
  expect(n).toBeGreaterThanOrEqual(0);
  return n;
}

let seq = 0;
interface Outcome {
  load?: number;
  ret?: number;
  errno?: number;
  signal: NodeJS.Signals | null;
  status: number | null;
}

/** Run one syscall under the filter in a fresh child process. */
function applyAndCall(bpf: Buffer, flags: number, syscall: string | number, ...args: (number | bigint | string)[]): Outcome {
  const file = join(work, `filter-${seq++}.bpf`);
  writeFileSync(file, bpf);
  const argv = [file, String(flags), String(typeof syscall === "number" ? syscall : nr(syscall)), ...args.map((a) => (typeof a === "string" ? `s:${a}` : String(a)))];
  const r = spawnSync(applier, argv, { encoding: "utf8" });
  expect(r.error).toBeUndefined();
  const line = r.stdout.trim();
  return { ...(line ? (JSON.parse(line) as object) : {}), signal: r.signal, status: r.status };
}

/** A filter allowing everything except what `syscalls` says. */
function allowBut(syscalls: Seccomp["syscalls"], extra: Partial<Seccomp> = {}): Seccomp {
  return { defaultAction: "SCMP_ACT_ALLOW", syscalls, ...extra };
}

describe("the BPF program", () => {
  test("is whole sock_filter records and starts by loading seccomp_data.arch", () => {
    const { bpf, skipped } = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_ERRNO" }]));
    expect(skipped).toEqual([]);
    expect(bpf.length).toBeGreaterThan(0);
    expect(bpf.length % 8).toBe(0);
    // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } in host order (little-endian here).
    expect(bpf.readUInt16LE(0)).toBe(0x20); // BPF_LD | BPF_W | BPF_ABS
    expect(bpf.readUInt32LE(4)).toBe(4); // offsetof(struct seccomp_data, arch)
  });

  test("checks every listed architecture's AUDIT_ARCH value", () => {
    if (NATIVE !== "SCMP_ARCH_X86_64") return; // the constants below are x86's
    const ks = (bpf: Buffer) => Array.from({ length: bpf.length / 8 }, (_, i) => bpf.readUInt32LE(i * 8 + 4));
    const AUDIT_ARCH_X86_64 = 0xc000003e;
    const AUDIT_ARCH_I386 = 0x40000003;
    const AUDIT_ARCH_AARCH64 = 0xc00000b7;
    const one = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_ERRNO" }]));
    expect(ks(one.bpf)).toContain(AUDIT_ARCH_X86_64);
    expect(ks(one.bpf)).not.toContain(AUDIT_ARCH_I386);
    const multi = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_ERRNO" }], { architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"] }));
    expect(ks(multi.bpf)).toEqual(expect.arrayContaining([AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64]));
  });

  test("unknown syscall names are skipped and reported once each; the rest still compiles", () => {
    const { bpf, skipped } = compile(
      allowBut([
        { names: ["no_such_call_a", "mkdirat", "no_such_call_b"], action: "SCMP_ACT_ERRNO" },
        { names: ["no_such_call_a"], action: "SCMP_ACT_LOG" },
      ]),
    );
    expect(skipped).toEqual(["no_such_call_a", "no_such_call_b"]);
    expect(applyAndCall(bpf, 0, "mkdirat", AT_FDCWD, join(work, "d-skip"), 0o700)).toMatchObject({ ret: -1, errno: E.EPERM });
  });

  test("syscalls another listed architecture lacks do not fail the compile", () => {
    // arch_prctl is x86-only, mmap2 32-bit only, set_tid_address everywhere.
    const { skipped } = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
      syscalls: [{ names: ["arch_prctl", "mmap2", "set_tid_address"], action: "SCMP_ACT_ALLOW" }],
    });
    expect(skipped).toEqual([]);
  });

  test("podman's default profile compiles and allows a program to run", () => {
    const cfg = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "valid", "podman-config.json"), "utf8")) as { linux: { seccomp: Seccomp } };
    const { bpf, req } = compile(cfg.linux.seccomp);
    expect(bpf.length % 8).toBe(0);
    expect(bpf.length / 8).toBeLessThanOrEqual(4096); // BPF_MAXINSNS
    expect(applyAndCall(bpf, req.flags, "getpid")).toMatchObject({ load: 0, errno: 0, status: 0 });
    // Not in podman's list: the default, ENOSYS.
    expect(applyAndCall(bpf, req.flags, "add_key", "user", "k", 0, 0, 0)).toMatchObject({ ret: -1, errno: E.ENOSYS });
    // Listed with errnoRet 1 (harmless arguments, in case the filter let it through).
    expect(applyAndCall(bpf, req.flags, "kcmp", 0x7ffffff0, 0x7ffffff0, 0, 0, 0)).toMatchObject({ ret: -1, errno: E.EPERM });
    // setns is listed twice, as ALLOW (syscalls[1]) and as ERRNO (syscalls[10]). libseccomp keeps
    // the first unconditional rule for a syscall and silently ignores later ones, so it is allowed
    // -- as under runc and crun, which use libseccomp the same way. EBADF is the kernel's answer.
    expect(applyAndCall(bpf, req.flags, "setns", -1, 0)).toMatchObject({ ret: -1, errno: E.EBADF });
    // personality: allowed for 0xffffffff (query), denied (default ENOSYS) for other values.
    expect(applyAndCall(bpf, req.flags, "personality", 0xffffffff)).toMatchObject({ errno: 0 });
    expect(applyAndCall(bpf, req.flags, "personality", 0x0400000)).toMatchObject({ ret: -1, errno: E.ENOSYS });
  });

  test("a syscall libseccomp refuses names the config entry", () => {
    // Hand-made request (the planner would have caught it): comparison on argument 6.
    const req = {
      defaultAction: 0x7fff0000,
      architectures: [NATIVE],
      rules: [{ syscall: "kill", action: 0x00050001, args: [{ index: 6, op: 4, value: 0n, valueTwo: 0n }], origin: "linux.seccomp.syscalls[7]" }],
    };
    expect(() => native.seccompCompile(req)).toThrow(
      expect.objectContaining({
        code: "EINVAL",
        errno: E.EINVAL,
        syscall: "seccomp_rule_add_array",
        origin: "linux.seccomp.syscalls[7]",
        syscallName: "kill",
        message: 'EINVAL: invalid argument, seccomp_rule_add_array (linux.seccomp.syscalls[7] "kill")',
      }),
    );
  });

  test("malformed requests are TypeErrors", () => {
    expect(() => native.seccompCompile({ defaultAction: 0x7fff0000, architectures: ["SCMP_ARCH_NOPE"], rules: [] })).toThrow(
      expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE", message: 'seccompCompile: unknown seccomp architecture "SCMP_ARCH_NOPE"' }),
    );
    const bad = { defaultAction: 0x7fff0000, architectures: [], rules: [{ syscall: "kill", action: 0x50001, args: [{ index: 0, op: 4, value: 2 ** 60, valueTwo: 0 }], origin: "o" }] };
    expect(() => native.seccompCompile(bad)).toThrow(
      expect.objectContaining({ name: "TypeError", message: "seccompCompile: rules[0].args[0].value must be a bigint or a safe non-negative integer" }),
    );
    expect(() => native.seccompCompile(undefined as unknown as SeccompRequest)).toThrow(expect.objectContaining({ name: "TypeError" }));
  });
});

describe("runc's -ENOSYS stub: calls newer than the profile get ENOSYS, not the default", () => {
  // What the applier needs after the load, and close_range, the highest of them everywhere
  // (436); faccessat2 (439) is newer than all, clone3 (435) older but not listed.
  const needs = ["write", "exit_group", "exit", "close_range"];
  const BEYOND_ANY_TABLE = 1000;

  test("an errno default: above the highest listed number ENOSYS, below it the default's errno", () => {
    const { bpf, enosysAbove } = compile({ defaultAction: "SCMP_ACT_ERRNO", architectures: [NATIVE], syscalls: [{ names: needs, action: "SCMP_ACT_ALLOW" }] });
    expect(enosysAbove).toEqual({ [NATIVE]: nr("close_range") });
    expect(applyAndCall(bpf, 0, "faccessat2", AT_FDCWD, "/", 0, 0)).toMatchObject({ load: 0, ret: -1, errno: E.ENOSYS });
    expect(applyAndCall(bpf, 0, BEYOND_ANY_TABLE)).toMatchObject({ ret: -1, errno: E.ENOSYS });
    expect(applyAndCall(bpf, 0, "clone3", 0, 0)).toMatchObject({ ret: -1, errno: E.EPERM });
    expect(applyAndCall(bpf, 0, "getpid")).toMatchObject({ ret: -1, errno: E.EPERM });
    // The listed calls still pass: the applier wrote its answer and exited.
    expect(applyAndCall(bpf, 0, "getpid")).toMatchObject({ status: 0 });
  });

  test("every rule counts, whatever its action or arguments; unknown names do not", () => {
    const { bpf, enosysAbove } = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: E.ENXIO,
      architectures: [NATIVE],
      syscalls: [
        { names: needs, action: "SCMP_ACT_ALLOW" },
        { names: ["futex_waitv"], action: "SCMP_ACT_ERRNO", errnoRet: E.ENXIO },
        { names: ["no_such_call"], action: "SCMP_ACT_ALLOW" },
      ],
    });
    expect(enosysAbove).toEqual({ [NATIVE]: nr("futex_waitv") });
    expect(applyAndCall(bpf, 0, "faccessat2", AT_FDCWD, "/", 0, 0)).toMatchObject({ ret: -1, errno: E.ENXIO });
    expect(applyAndCall(bpf, 0, BEYOND_ANY_TABLE)).toMatchObject({ ret: -1, errno: E.ENOSYS });
  });

  test("a killing default: a newer call gets ENOSYS and the process lives; an older one is killed", () => {
    const { bpf } = compile({ defaultAction: "SCMP_ACT_KILL_PROCESS", architectures: [NATIVE], syscalls: [{ names: needs, action: "SCMP_ACT_ALLOW" }] });
    expect(applyAndCall(bpf, 0, "faccessat2", AT_FDCWD, "/", 0, 0)).toMatchObject({ ret: -1, errno: E.ENOSYS, status: 0 });
    expect(applyAndCall(bpf, 0, "getpid")).toMatchObject({ signal: "SIGSYS" });
  });

  test("no architecture listed, or a default that lets calls through: no stub (as runc)", () => {
    const none = compile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: needs, action: "SCMP_ACT_ALLOW" }] });
    expect(none.req.enosys).toBeUndefined();
    expect(none.enosysAbove).toBeUndefined();
    expect(applyAndCall(none.bpf, 0, "faccessat2", AT_FDCWD, "/", 0, 0)).toMatchObject({ ret: -1, errno: E.EPERM });
    const log = compile({ defaultAction: "SCMP_ACT_LOG", architectures: [NATIVE], syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_ERRNO" }] });
    expect(log.req.enosys).toBeUndefined();
  });

  test("x86_64 and x32 each compare with their own highest number", () => {
    if (NATIVE !== "SCMP_ARCH_X86_64") return;
    const { bpf, enosysAbove } = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_X86"],
      syscalls: [{ names: [...needs, "futex_waitv"], action: "SCMP_ACT_ALLOW" }],
    });
    const X32 = 0x40000000;
    expect(enosysAbove).toEqual({ SCMP_ARCH_X86_64: 449, SCMP_ARCH_X32: X32 | 449, SCMP_ARCH_X86: 449 });
    // The stub compares x32 calls with the x32 number and x86_64's with theirs.
    const ks = Array.from({ length: bpf.length / 8 }, (_, i) => bpf.readUInt32LE(i * 8 + 4));
    expect(ks).toEqual(expect.arrayContaining([X32, 449, X32 | 449, 0xc000003e, 0x40000003]));
    expect(applyAndCall(bpf, 0, BEYOND_ANY_TABLE)).toMatchObject({ ret: -1, errno: E.ENOSYS });
    expect(applyAndCall(bpf, 0, "getpid")).toMatchObject({ ret: -1, errno: E.EPERM });
  });
});

describe("the kernel enforces what was planned", () => {
  const mkdir = (bpf: Buffer, flags: number, name: string) => applyAndCall(bpf, flags, "mkdirat", AT_FDCWD, join(work, name), 0o700);

  test("no filter rule hit: the call works", () => {
    const { bpf } = compile(allowBut([{ names: ["rmdir"], action: "SCMP_ACT_ERRNO" }]));
    expect(mkdir(bpf, 0, "d-allowed")).toMatchObject({ load: 0, ret: 0, errno: 0 });
    expect(statSync(join(work, "d-allowed")).isDirectory()).toBe(true);
  });

  test("SCMP_ACT_ERRNO without errnoRet: EPERM, and nothing happens", () => {
    const { bpf } = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_ERRNO" }]));
    expect(mkdir(bpf, 0, "d-eperm")).toMatchObject({ ret: -1, errno: E.EPERM });
    expect(() => statSync(join(work, "d-eperm"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  test("errnoRet 38: ENOSYS", () => {
    const { bpf } = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }]));
    expect(mkdir(bpf, 0, "d-enosys")).toMatchObject({ ret: -1, errno: E.ENOSYS });
  });

  test("defaultErrnoRet applies to everything not listed", () => {
    const { bpf } = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: E.ENXIO,
      syscalls: [{ names: ["write", "exit_group", "exit"], action: "SCMP_ACT_ALLOW" }],
    });
    expect(applyAndCall(bpf, 0, "getpid")).toMatchObject({ ret: -1, errno: E.ENXIO });
  });

  test("an EQ condition matches only its value", () => {
    // Deny personality(0xffffffff) -- the query form -- and nothing else.
    const { bpf } = compile(allowBut([{ names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0xffffffff, op: "SCMP_CMP_EQ" }] }]));
    expect(applyAndCall(bpf, 0, "personality", 0xffffffff)).toMatchObject({ ret: -1, errno: E.EPERM });
    expect(applyAndCall(bpf, 0, "personality", 0)).toMatchObject({ ret: 0, errno: 0 });
  });

  test("MASKED_EQ compares (arg & value) with valueTwo", () => {
    // Deny kill() whose signal's low byte is 9 (SIGKILL): kill(self, 0) still works,
    // kill(self, 0x109) is denied by the mask rather than refused by the kernel as EINVAL.
    const { bpf } = compile(allowBut([{ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 0xff, valueTwo: 9, op: "SCMP_CMP_MASKED_EQ" }] }]));
    const pid = 0x7ffffff0; // beyond pid_max: ESRCH when the filter lets the call through
    expect(applyAndCall(bpf, 0, "kill", pid, 0)).toMatchObject({ ret: -1, errno: E.ESRCH });
    expect(applyAndCall(bpf, 0, "kill", pid, 9)).toMatchObject({ ret: -1, errno: E.EPERM });
    expect(applyAndCall(bpf, 0, "kill", pid, 0x109)).toMatchObject({ ret: -1, errno: E.EPERM });
    expect(applyAndCall(bpf, 0, "kill", pid, 10)).toMatchObject({ ret: -1, errno: E.ESRCH });
  });

  test("args on different indexes are ANDed", () => {
    const pid = 0x7ffffff0;
    const { bpf } = compile(
      allowBut([
        {
          names: ["kill"],
          action: "SCMP_ACT_ERRNO",
          args: [
            { index: 0, value: pid, op: "SCMP_CMP_EQ" },
            { index: 1, value: 0, op: "SCMP_CMP_EQ" },
          ],
        },
      ]),
    );
    expect(applyAndCall(bpf, 0, "kill", pid, 0)).toMatchObject({ errno: E.EPERM });
    expect(applyAndCall(bpf, 0, "kill", pid, 1)).toMatchObject({ errno: E.ESRCH });
    expect(applyAndCall(bpf, 0, "kill", pid + 1, 0)).toMatchObject({ errno: E.ESRCH });
  });

  test("args repeating an index are ORed (runc's and crun's split)", () => {
    const pid = 0x7ffffff0;
    const { bpf, req } = compile(
      allowBut([
        {
          names: ["kill"],
          action: "SCMP_ACT_ERRNO",
          args: [
            { index: 0, value: pid, op: "SCMP_CMP_EQ" },
            { index: 0, value: pid + 2, op: "SCMP_CMP_EQ" },
          ],
        },
      ]),
    );
    expect(req.rules).toHaveLength(2);
    expect(applyAndCall(bpf, 0, "kill", pid, 0)).toMatchObject({ errno: E.EPERM });
    expect(applyAndCall(bpf, 0, "kill", pid + 2, 0)).toMatchObject({ errno: E.EPERM });
    expect(applyAndCall(bpf, 0, "kill", pid + 1, 0)).toMatchObject({ errno: E.ESRCH });
  });

  test("GE and LT on one argument in two entries", () => {
    // ERRNO when arg1 >= 20 (entry 0) or arg1 < 5 (entry 1): the signal number of kill(pid, sig).
    const pid = 0x7ffffff0;
    const { bpf } = compile(
      allowBut([
        { names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 20, op: "SCMP_CMP_GE" }] },
        { names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: E.EACCES, args: [{ index: 1, value: 5, op: "SCMP_CMP_LT" }] },
      ]),
    );
    expect(applyAndCall(bpf, 0, "kill", pid, 25)).toMatchObject({ errno: E.EPERM });
    expect(applyAndCall(bpf, 0, "kill", pid, 2)).toMatchObject({ errno: E.EACCES });
    expect(applyAndCall(bpf, 0, "kill", pid, 10)).toMatchObject({ errno: E.ESRCH });
  });

  test("SCMP_ACT_KILL_PROCESS: death by SIGSYS", () => {
    const { bpf } = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_KILL_PROCESS" }]));
    expect(mkdir(bpf, 0, "d-kill")).toMatchObject({ signal: "SIGSYS", status: null });
  });

  test("SCMP_ACT_KILL (thread) on a single-threaded process: death by SIGSYS too", () => {
    const { bpf } = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_KILL" }]));
    expect(mkdir(bpf, 0, "d-killt")).toMatchObject({ signal: "SIGSYS" });
  });

  test("SCMP_ACT_TRAP: SIGSYS, whose default disposition kills", () => {
    const { bpf } = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_TRAP" }]));
    expect(mkdir(bpf, 0, "d-trap")).toMatchObject({ signal: "SIGSYS" });
  });

  test("SCMP_ACT_TRACE without a tracer: ENOSYS, whatever the errnoRet", () => {
    const { bpf } = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_TRACE", errnoRet: 5 }]));
    expect(mkdir(bpf, 0, "d-trace")).toMatchObject({ ret: -1, errno: E.ENOSYS });
  });

  test("SCMP_ACT_LOG: allowed (and logged)", () => {
    const { bpf } = compile(allowBut([{ names: ["mkdirat"], action: "SCMP_ACT_LOG" }]));
    expect(mkdir(bpf, 0, "d-log")).toMatchObject({ ret: 0, errno: 0 });
    expect(statSync(join(work, "d-log")).isDirectory()).toBe(true);
  });

  test("the planned flags load: LOG, SPEC_ALLOW, and NEW_LISTENER returning a listener fd", () => {
    const logged = compile(allowBut([{ names: ["rmdir"], action: "SCMP_ACT_ERRNO" }], { flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] }));
    expect(logged.req.flags).toBe(SECCOMP_FILTER_FLAG.LOG | SECCOMP_FILTER_FLAG.SPEC_ALLOW);
    expect(applyAndCall(logged.bpf, logged.req.flags, "getpid")).toMatchObject({ load: 0, errno: 0 });

    const notify = compile(
      allowBut([{ names: ["rmdir"], action: "SCMP_ACT_NOTIFY" }], { listenerPath: "/run/agent.sock", flags: ["SECCOMP_FILTER_FLAG_TSYNC"] }),
    );
    expect(notify.req.flags).toBe(SECCOMP_FILTER_FLAG.NEW_LISTENER);
    // The listener is an fd above stdio; getpid (not notified) goes through.
    const r = applyAndCall(notify.bpf, notify.req.flags, "getpid");
    expect(r.load).toBeGreaterThan(2);
    expect(r.errno).toBe(0);
  });
});
