/**
 * planSeccomp as tables: linux.seccomp in, the flat compiler request out (actions as SECCOMP_RET_*
 * values with their errno, operators, flags, the rule split), and the errors a user reads.
 * Pure: no addon, no root.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../src/errors";
import { planSeccomp, SCMP_CMP, SECCOMP_FILTER_FLAG as F, SECCOMP_RET as RET, type SeccompRequest } from "../../src/plan/seccomp";
import type { Seccomp } from "../../src/spec";

const NATIVE = "SCMP_ARCH_X86_64";
const EPERM = 1;
const ENOSYS = 38;

function plan(seccomp: Seccomp, kernelFlags?: string[]): SeccompRequest {
  return planSeccomp(seccomp, NATIVE, kernelFlags);
}

/** The user's line for a planning error, as `berth create c1` prints it. */
function errorLine(seccomp: Seccomp): string {
  try {
    plan(seccomp);
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return (err as BerthError).withContext("create", "c1").message;
  }
  throw new Error("planSeccomp did not throw");
}

describe("actions", () => {
  const cases: [string, Pick<Seccomp, "defaultAction" | "defaultErrnoRet">, number][] = [
    ["KILL is KILL_THREAD", { defaultAction: "SCMP_ACT_KILL" }, 0],
    ["KILL_THREAD", { defaultAction: "SCMP_ACT_KILL_THREAD" }, 0],
    ["KILL_PROCESS", { defaultAction: "SCMP_ACT_KILL_PROCESS" }, 0x80000000],
    ["TRAP", { defaultAction: "SCMP_ACT_TRAP" }, 0x00030000],
    ["ERRNO defaults to EPERM", { defaultAction: "SCMP_ACT_ERRNO" }, 0x00050000 | EPERM],
    ["ERRNO with defaultErrnoRet", { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: ENOSYS }, 0x00050026],
    ["ERRNO 0 is kept (success without the call)", { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 0 }, 0x00050000],
    ["TRACE defaults to EPERM, as runc", { defaultAction: "SCMP_ACT_TRACE" }, 0x7ff00000 | EPERM],
    ["TRACE with a message", { defaultAction: "SCMP_ACT_TRACE", defaultErrnoRet: 7 }, 0x7ff00007],
    ["LOG", { defaultAction: "SCMP_ACT_LOG" }, 0x7ffc0000],
    ["ALLOW", { defaultAction: "SCMP_ACT_ALLOW" }, 0x7fff0000],
  ];
  test.each(cases)("default %s", (_name, seccomp, expected) => {
    expect(plan(seccomp).defaultAction).toBe(expected);
  });

  test("NOTIFY as a rule action is USER_NOTIF", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/agent.sock",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
    });
    expect(r.rules[0]!.action).toBe(RET.USER_NOTIF);
    expect(r.rules[0]!.action).toBe(0x7fc00000);
  });

  test("each rule has its own errno, defaulting to EPERM", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["mkdir"], action: "SCMP_ACT_ERRNO" },
        { names: ["rmdir"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
        { names: ["ptrace"], action: "SCMP_ACT_TRACE", errnoRet: 3 },
      ],
    });
    expect(r.rules.map((x) => [x.syscall, x.action])).toEqual([
      ["mkdir", 0x00050001],
      ["rmdir", 0x00050026],
      ["ptrace", 0x7ff00003],
    ]);
  });

  test("defaultErrnoRet is reported for ERRNO and TRACE defaults only", () => {
    expect(plan({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: ENOSYS }).defaultErrnoRet).toBe(ENOSYS);
    expect(plan({ defaultAction: "SCMP_ACT_ERRNO" }).defaultErrnoRet).toBe(EPERM);
    expect(plan({ defaultAction: "SCMP_ACT_ALLOW" })).not.toHaveProperty("defaultErrnoRet");
  });
});

describe("architectures", () => {
  test("none listed: the native one only", () => {
    expect(plan({ defaultAction: "SCMP_ACT_ALLOW" }).architectures).toEqual([NATIVE]);
    expect(plan({ defaultAction: "SCMP_ACT_ALLOW", architectures: [] }).architectures).toEqual([NATIVE]);
  });

  test("listed ones are added to the native one, which comes first, without duplicates", () => {
    expect(
      plan({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"] }).architectures,
    ).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(planSeccomp({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_ARM"] }, "SCMP_ARCH_AARCH64").architectures).toEqual([
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
    ]);
  });
});

describe("flags", () => {
  const cases: [string, string[] | undefined, string[] | undefined, number][] = [
    ["absent, kernel has SPEC_ALLOW: SPEC_ALLOW by default (runc, crun)", undefined, ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"], F.SPEC_ALLOW],
    ["absent, kernel lacks SPEC_ALLOW: none", undefined, ["SECCOMP_FILTER_FLAG_LOG"], 0],
    ["absent, kernel flags unknown: none", undefined, undefined, 0],
    ["explicitly empty: none, even if the kernel has SPEC_ALLOW", [], ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"], 0],
    ["TSYNC", ["SECCOMP_FILTER_FLAG_TSYNC"], undefined, 1],
    ["LOG", ["SECCOMP_FILTER_FLAG_LOG"], undefined, 2],
    ["SPEC_ALLOW", ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"], undefined, 4],
    // The kernel refuses WAIT_KILLABLE_RECV without NEW_LISTENER (EINVAL); without a NOTIFY
    // rule it has no meaning and is dropped (as libseccomp does for runc).
    ["WAIT_KILLABLE_RECV without a NOTIFY rule: dropped", ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"], undefined, 0],
    [
      "all four, without a NOTIFY rule",
      ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      undefined,
      1 | 2 | 4,
    ],
  ];
  test.each(cases)("%s", (_name, flags, kernelFlags, expected) => {
    expect(plan({ defaultAction: "SCMP_ACT_ALLOW", flags }, kernelFlags).flags).toBe(expected);
  });

  test("a NOTIFY rule adds NEW_LISTENER and drops TSYNC (the kernel refuses both together)", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
      listenerPath: "/run/agent.sock",
      listenerMetadata: "meta",
      syscalls: [{ names: ["mknod"], action: "SCMP_ACT_NOTIFY" }],
    });
    expect(r.flags).toBe(F.NEW_LISTENER | F.LOG);
    expect(r.needsListener).toBe(true);
    expect(r.listenerPath).toBe("/run/agent.sock");
    expect(r.listenerMetadata).toBe("meta");
  });

  test("with a NOTIFY rule WAIT_KILLABLE_RECV is kept, next to NEW_LISTENER", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      listenerPath: "/run/agent.sock",
      syscalls: [{ names: ["mknod"], action: "SCMP_ACT_NOTIFY" }],
    });
    expect(r.flags).toBe(F.NEW_LISTENER | F.WAIT_KILLABLE_RECV);
  });

  test("without a NOTIFY rule the listener fields are ignored, as the spec says", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/agent.sock",
      listenerMetadata: "m",
      syscalls: [{ names: ["mknod"], action: "SCMP_ACT_ERRNO" }],
    });
    expect(r.needsListener).toBe(false);
    expect(r.flags & F.NEW_LISTENER).toBe(0);
    expect(r).not.toHaveProperty("listenerPath");
    expect(r).not.toHaveProperty("listenerMetadata");
  });
});

describe("rules", () => {
  test("one rule per name, in order, each with the entry's origin", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        { names: ["mkdir"], action: "SCMP_ACT_LOG" },
      ],
    });
    expect(r.rules).toEqual([
      { syscall: "read", action: RET.ALLOW, args: [], origin: "linux.seccomp.syscalls[0]" },
      { syscall: "write", action: RET.ALLOW, args: [], origin: "linux.seccomp.syscalls[0]" },
      { syscall: "mkdir", action: RET.LOG, args: [], origin: "linux.seccomp.syscalls[1]" },
    ]);
  });

  test("rules equal to the default action are dropped (libseccomp refuses them)", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: ENOSYS,
      syscalls: [
        { names: ["a1"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS }, // same as the default: dropped
        { names: ["a2"], action: "SCMP_ACT_ERRNO" }, // EPERM differs from ENOSYS: kept
        { names: ["a3"], action: "SCMP_ACT_ALLOW" },
      ],
    });
    expect(r.rules.map((x) => x.syscall)).toEqual(["a2", "a3"]);
  });

  test("KILL and KILL_THREAD are the same action, so one equal to the default is dropped", () => {
    expect(plan({ defaultAction: "SCMP_ACT_KILL", syscalls: [{ names: ["x"], action: "SCMP_ACT_KILL_THREAD" }] }).rules).toEqual([]);
  });

  test("operators map to enum scmp_compare; values become bigints; valueTwo defaults to 0", () => {
    const ops = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];
    const r = plan({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: ops.map((op, i) => ({ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: i, op }] })),
    });
    expect(r.rules.map((x) => x.args[0]!.op)).toEqual([
      SCMP_CMP.NE,
      SCMP_CMP.LT,
      SCMP_CMP.LE,
      SCMP_CMP.EQ,
      SCMP_CMP.GE,
      SCMP_CMP.GT,
      SCMP_CMP.MASKED_EQ,
    ]);
    expect(r.rules.map((x) => x.args[0]!.op)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(r.rules[3]!.args).toEqual([{ index: 1, op: 4, value: 3n, valueTwo: 0n }]);
  });

  test("MASKED_EQ keeps value as the mask and valueTwo as the datum (libseccomp's datum_a, datum_b)", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 2114060288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] },
      ],
    });
    expect(r.rules[0]!.args).toEqual([{ index: 0, op: SCMP_CMP.MASKED_EQ, value: 0x7e020000n, valueTwo: 0n }]);
  });

  test("bigint values pass through, up to 2^64-1", () => {
    const max = (1n << 64n) - 1n;
    const seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["bpf"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: max, valueTwo: 1n << 40n, op: "SCMP_CMP_MASKED_EQ" }] },
      ],
    } as unknown as Seccomp;
    expect(plan(seccomp).rules[0]!.args[0]).toEqual({ index: 0, op: 7, value: max, valueTwo: 1n << 40n });
  });

  test("args on distinct indexes stay in one rule (ANDed)", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        {
          names: ["setpriority", "getpriority"],
          action: "SCMP_ACT_ALLOW",
          args: [
            { index: 0, value: 0, op: "SCMP_CMP_EQ" },
            { index: 2, value: 20, op: "SCMP_CMP_LT" },
          ],
        },
      ],
    });
    expect(r.rules.map((x) => [x.syscall, x.args.map((a) => a.index)])).toEqual([
      ["setpriority", [0, 2]],
      ["getpriority", [0, 2]],
    ]);
  });

  test("args repeating an index become one rule per arg (ORed), as runc and crun do", () => {
    const r = plan({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        {
          names: ["setpriority"],
          action: "SCMP_ACT_ALLOW",
          args: [
            { index: 2, value: 0, op: "SCMP_CMP_GE" },
            { index: 2, value: 20, op: "SCMP_CMP_LT" },
            { index: 0, value: 0, op: "SCMP_CMP_EQ" },
          ],
        },
      ],
    });
    expect(r.rules).toEqual([
      {
        syscall: "setpriority",
        action: RET.ALLOW,
        args: [{ index: 2, op: SCMP_CMP.GE, value: 0n, valueTwo: 0n }],
        origin: "linux.seccomp.syscalls[0]",
      },
      {
        syscall: "setpriority",
        action: RET.ALLOW,
        args: [{ index: 2, op: SCMP_CMP.LT, value: 20n, valueTwo: 0n }],
        origin: "linux.seccomp.syscalls[0]",
      },
      {
        syscall: "setpriority",
        action: RET.ALLOW,
        args: [{ index: 0, op: SCMP_CMP.EQ, value: 0n, valueTwo: 0n }],
        origin: "linux.seccomp.syscalls[0]",
      },
    ]);
  });

  test("names are passed as written: resolving them is the compiler's job", () => {
    const r = plan({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["no_such_syscall_x"], action: "SCMP_ACT_ERRNO" }] });
    expect(r.rules.map((x) => x.syscall)).toEqual(["no_such_syscall_x"]);
  });
});

describe("the -ENOSYS stub (runc's patchbpf)", () => {
  const syscalls: Seccomp["syscalls"] = [
    { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
    { names: ["mkdir"], action: "SCMP_ACT_ERRNO" },
    { names: ["write", "futex_waitv"], action: "SCMP_ACT_KILL", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
  ];
  const everyName = ["read", "write", "mkdir", "futex_waitv"];

  test.each([
    ["ERRNO", { defaultAction: "SCMP_ACT_ERRNO" }],
    ["ERRNO with another errno", { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 95 }],
    ["KILL", { defaultAction: "SCMP_ACT_KILL" }],
    ["KILL_PROCESS", { defaultAction: "SCMP_ACT_KILL_PROCESS" }],
    ["TRAP", { defaultAction: "SCMP_ACT_TRAP" }],
  ] as const)("a refusing default (%s): the listed architectures, every name of every rule, once", (_name, dflt) => {
    const r = plan({ ...dflt, architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], syscalls });
    // The names of the rule equal to the default (mkdir, dropped from `rules`) count too.
    expect(r.enosys).toEqual({ architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"], syscalls: everyName });
  });

  test.each([
    ["ALLOW", { defaultAction: "SCMP_ACT_ALLOW" }],
    ["LOG", { defaultAction: "SCMP_ACT_LOG" }],
    ["TRACE (a tracer handles what it does not know)", { defaultAction: "SCMP_ACT_TRACE" }],
    ["ERRNO that is already ENOSYS", { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: ENOSYS }],
  ] as const)("no stub for a default of %s", (_name, dflt) => {
    expect(plan({ ...dflt, architectures: [NATIVE], syscalls }).enosys).toBeUndefined();
  });

  test("no stub when no architecture is listed (runc's stub covers only the listed ones)", () => {
    expect(plan({ defaultAction: "SCMP_ACT_ERRNO", syscalls }).enosys).toBeUndefined();
    expect(plan({ defaultAction: "SCMP_ACT_ERRNO", architectures: [], syscalls }).enosys).toBeUndefined();
  });
});

describe("errors name the field", () => {
  const cases: [string, Seccomp, string][] = [
    [
      "errnoRet on an action without errno (spec: MUST fail)",
      { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", errnoRet: 1 }] },
      "berth: create c1: linux.seccomp.syscalls[0].errnoRet 1: is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW",
    ],
    [
      "defaultErrnoRet on KILL_PROCESS",
      { defaultAction: "SCMP_ACT_KILL_PROCESS", defaultErrnoRet: 38 },
      "berth: create c1: linux.seccomp.defaultErrnoRet 38: is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_KILL_PROCESS",
    ],
    [
      "errnoRet beyond 16 bits",
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: 65537 }] },
      "berth: create c1: linux.seccomp.syscalls[0].errnoRet 65537: must be an integer from 0 to 65535 (seccomp's return data is 16 bits)",
    ],
    [
      "NOTIFY as the default",
      { defaultAction: "SCMP_ACT_NOTIFY" },
      'berth: create c1: linux.seccomp.defaultAction "SCMP_ACT_NOTIFY": SCMP_ACT_NOTIFY cannot be the default action',
    ],
    [
      "unknown action",
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_NOPE" }] },
      'berth: create c1: linux.seccomp.syscalls[0].action "SCMP_ACT_NOPE": unknown seccomp action',
    ],
    [
      "unknown flag",
      { defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NEW_LISTENER"] },
      'berth: create c1: linux.seccomp.flags[1] "SECCOMP_FILTER_FLAG_NEW_LISTENER": unknown seccomp flag',
    ],
    [
      "argument index 6",
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }],
      },
      "berth: create c1: linux.seccomp.syscalls[0].args[0].index 6: must be a system call argument index from 0 to 5",
    ],
    [
      "unknown operator",
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0, op: "SCMP_CMP_ABOUT" }] }],
      },
      'berth: create c1: linux.seccomp.syscalls[0].args[0].op "SCMP_CMP_ABOUT": unknown seccomp operator',
    ],
    [
      "a value JSON.parse has rounded (uint64 max)",
      // What JSON.parse("18446744073709551615") returns: 2^64, not the number written.
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["bpf"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 18446744073709551615, op: "SCMP_CMP_EQ" }] }],
      },
      "berth: create c1: linux.seccomp.syscalls[0].args[0].value 18446744073709552000: is too large to be represented exactly (above 2^53 - 1)",
    ],
    [
      "a negative valueTwo",
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["bpf"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, valueTwo: -1, op: "SCMP_CMP_MASKED_EQ" }] }],
      },
      "berth: create c1: linux.seccomp.syscalls[0].args[0].valueTwo -1: must be a uint64",
    ],
  ];
  test.each(cases)("%s", (_name, seccomp, line) => {
    expect(errorLine(seccomp)).toBe(line);
  });
});

describe("real profiles", () => {
  const fixture = (name: string) =>
    JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "valid", name), "utf8")) as { linux: { seccomp: Seccomp } };

  test("podman's default profile", () => {
    const seccomp = fixture("podman-config.json").linux.seccomp;
    const r = plan(seccomp, ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);
    expect(r.defaultAction).toBe(0x00050000 | ENOSYS);
    expect(r.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(r.flags).toBe(F.SPEC_ALLOW); // podman sends no flags
    expect(r.needsListener).toBe(false);
    // Every name of every entry becomes one rule: none of podman's entries repeats an index.
    const names = seccomp.syscalls!.reduce((n, s) => n + s.names.length, 0);
    expect(r.rules).toHaveLength(names);
    expect(r.rules.filter((x) => x.syscall === "personality").map((x) => x.args[0]!.value)).toEqual([
      0n,
      8n,
      131072n,
      131080n,
      4294967295n,
    ]);
    expect(new Set(r.rules.filter((x) => x.syscall === "open_by_handle_at").map((x) => x.action))).toEqual(new Set([0x00050000 | EPERM]));
    // Its default already answers ENOSYS: no stub needed.
    expect(r.enosys).toBeUndefined();
  });
});
