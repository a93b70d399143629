/**
 * The plan wire format, both sides: src/plan/abi.ts + encode.ts (TypeScript, authoritative)
 * against native/abi/plan-abi.h as compiled into berth-init. `berth-init --ops` prints the C++
 * op table, `berth-init --decode` prints an encoded plan back as JSON; the two must agree with
 * the TypeScript table and encoder exactly, and malformed plans must be refused as a whole.
 * Needs `npm run build:native`; no root.
 */
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { opTable, PLAN_MAGIC, PLAN_VERSION, type OpName } from "../../src/plan/abi";
import { encodePlan, type ArgValue, type PlanOp } from "../../src/plan/encode";
import { berthInitPath } from "../../src/native";

const init = berthInitPath();

interface Run {
  status: number | null;
  stdout: unknown;
  stderr: string;
}

function initRun(args: string[], input?: Buffer): Run {
  const r = spawnSync(init, args, { input, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  const text = r.stdout.toString("utf8");
  let stdout: unknown = text;
  try {
    stdout = JSON.parse(text);
  } catch {
    // leave it as text: the assertion shows it
  }
  return { status: r.status, stdout, stderr: r.stderr.toString("utf8") };
}

const decode = (plan: Buffer): Run => initRun(["--decode"], plan);

/** What --decode prints for one argument. */
function jsonArg(v: ArgValue): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString("hex") };
  return v;
}

function expected(ops: PlanOp[]): unknown {
  return { version: PLAN_VERSION, ops: ops.map((o) => ({ op: o.op, args: o.args.map(jsonArg) })) };
}

const op = (name: OpName, ...args: ArgValue[]): PlanOp => ({ op: name, args, origin: "(test)" });

/** Every op in the table, with arguments that exercise each kind's edges. */
const everyOp: PlanOp[] = [
  op("waitParent"),
  op("setns", 3, 0x20000),
  op("sethostname", "t1"),
  op("setdomainname", ""),
  op("mount", "proc", "/proc", "proc", 14, ""),
  op("mountSetattr", "/sys", 0x1, 0x100000, 1),
  op("mountNoFollow", "sysfs", "/sys", "sysfs", 15, ""),
  op("mkdirInRoot", "/dev/pts", 0o755, 0),
  op("mknod", "/dev/null", 0o20666, 259, 0, 0, 1),
  op("symlink", "/proc/self/fd", "/dev/fd"),
  op("pivotRoot", "/var/lib/berth/c1/rootfs"),
  op("hideHostProcfs", "/run/ramfs/root"),
  op("chrootNoPivot", "/run/ramfs/root"),
  op("chroot", "/proc/4242/root"),
  op("maskPath", "/proc/kcore"),
  op("readonlyPath", "/proc/sys"),
  op("remountRoot", 1),
  op("sysctl", "net.ipv4.ip_forward", "1"),
  op("setrlimit", 7, 1024, -1),
  op("oomScoreAdj", -1000),
  op("setgroups", [0, 10, 65534, 4294967294]),
  op("setresgid", 1000),
  op("setresuid", 1000),
  op("umask", 0o22),
  op("keepCaps"),
  // A 41-bit mask: past 32 bits, so both halves of the i64 matter.
  op("capBounding", 2n ** 41n - 1n),
  op("capset", 0x1fffeffffff, 0x1fffeffffff, 0),
  op("capAmbient", 0x400),
  op("noNewPrivs"),
  op("seccompLoad", Uint8Array.from([0x20, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0xff, 0x7f]), 0),
  op("personality", 8),
  op("chdir", "/home/user name"),
  op("checkExec", "sh", "/usr/bin:/bin"),
  op("ready"),
  op("waitStart", 3),
  op("exec", "/bin/sh", ["sh", "-c", "echo \"hi\"\n"], ["PATH=/bin", "TERM=xterm"]),
  op("mountPropagation", "/", 0x40000 | 0x4000),
  op("closeFd", 9),
  op("unshareTime", 86400, 5, -3600, 999999999),
  op("joinSessionKeyring", "_ses.c1"),
  op("setExecLabel", "apparmor", "exec my-profile"),
  op("moveMount", 12, "/data/idmapped"),
  op("joinCgroup", "/sys/fs/cgroup/memory/berth/c1/tasks"),
  op("unshareCgroup"),
  op("forkIntoPidns"),
  op("chdirEarly", "/home/u"),
  op("guardProcTarget"),
  op("seccompListener"),
  op("openPty", 33, 111, 1000),
  op("mountConsole"),
  op("setCtty"),
  op("hooksSync"),
  op("runHook", "/usr/bin/hook", ["hook", "--flag"], ["PATH=/bin"], 5, '"ociVersion":"1.3.0","id":"c1","status":"creating","bundle":"/b"}', "/b/rootfs", 1),
  op("startResult", 7),
  op("startResultDone"),
  op("netDevicesSync"),
];

describe("berth-init --ops", () => {
  test("is src/plan/abi.ts's opTable, exactly", () => {
    const r = initRun(["--ops"]);
    const table = Object.fromEntries(Object.entries(opTable).map(([name, [tag, sig]]) => [name, { tag, sig }]));
    expect(r).toEqual({ status: 0, stdout: { version: PLAN_VERSION, ops: table }, stderr: "" });
    // And in the same order (append-only tables grow at the end on both sides).
    expect(Object.keys((r.stdout as { ops: object }).ops)).toEqual(Object.keys(opTable));
  });
});

describe("berth-init --decode", () => {
  test("the test plan covers every op in the table", () => {
    expect(new Set(everyOp.map((o) => o.op))).toEqual(new Set(Object.keys(opTable)));
  });

  test("every op round-trips", () => {
    expect(decode(encodePlan(everyOp))).toEqual({ status: 0, stdout: expected(everyOp), stderr: "" });
  });

  test("an empty plan is valid", () => {
    expect(decode(encodePlan([]))).toEqual({ status: 0, stdout: { version: PLAN_VERSION, ops: [] }, stderr: "" });
  });

  test("strings: empty, quotes, backslashes, control characters, non-ASCII", () => {
    const ops = [
      op("sethostname", ""),
      op("sethostname", 'a"b\\c'),
      op("sethostname", "tab\there\nnewline\u0001\u001f\u007f"),
      op("sethostname", "héllo wörld ☃ 🐳"),
      op("exec", "", [], []),
      op("exec", "x", [""], ["A=", "=B"]),
      op("setgroups", []),
      op("seccompLoad", new Uint8Array(0), 0),
    ];
    expect(decode(encodePlan(ops))).toEqual({ status: 0, stdout: expected(ops), stderr: "" });
  });

  test("ints: zero, negatives, 32-bit edges, the largest safe integers", () => {
    const values = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, -(2 ** 32), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    const ops = values.map((v) => op("oomScoreAdj", v));
    ops.push(op("setgroups", values));
    expect(decode(encodePlan(ops))).toEqual({ status: 0, stdout: expected(ops), stderr: "" });
  });

  test("ints: the full i64 range is carried (printed exactly)", () => {
    const r = spawnSync(init, ["--decode"], {
      input: encodePlan([op("capBounding", 2n ** 63n - 1n), op("capBounding", -(2n ** 63n))]),
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('"args":[9223372036854775807]');
    expect(r.stdout).toContain('"args":[-9223372036854775808]');
  });

  test("bytes: every byte value, as lower-case hex", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const ops = [op("seccompLoad", all, 3)];
    expect(decode(encodePlan(ops))).toEqual({ status: 0, stdout: expected(ops), stderr: "" });
  });

  test("random plans round-trip (property)", () => {
    const str = fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !s.includes("\0"));
    const int = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    const argOf: Record<string, fc.Arbitrary<ArgValue>> = {
      i: int,
      s: str,
      S: fc.array(str, { maxLength: 4 }),
      b: fc.uint8Array({ maxLength: 24 }),
      I: fc.array(int, { maxLength: 4 }),
    };
    const names = Object.keys(opTable) as OpName[];
    const anyOp = fc.constantFrom(...names).chain((name) =>
      fc.tuple(...[...opTable[name][1]].map((k) => argOf[k])).map((args) => op(name, ...(args as ArgValue[]))),
    );
    fc.assert(
      fc.property(fc.array(anyOp, { maxLength: 8 }), (ops) => {
        expect(decode(encodePlan(ops))).toEqual({ status: 0, stdout: expected(ops), stderr: "" });
      }),
      { numRuns: 40 },
    );
  });
});

describe("berth-init --decode refuses malformed plans", () => {
  /** A refusal: exit 2, one JSON object with a reason on stdout, nothing on stderr. */
  function expectRefused(plan: Buffer, reason: RegExp): void {
    const r = decode(plan);
    expect(r).toEqual({ status: 2, stdout: { error: expect.stringMatching(reason) }, stderr: "" });
  }

  const sample = encodePlan([op("sethostname", "abc"), op("mount", "proc", "/proc", "proc", 14, ""), op("ready")]);
  // Offsets in `sample`: header 0-15, op 0 header 16-23, its kind byte at 24.
  const FIRST_TAG = 16;
  const FIRST_ARGC = 18;
  const FIRST_KIND = 24;

  const patched = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(sample);
    f(b);
    return b;
  };

  test("the sample itself decodes", () => {
    expect(decode(sample).status).toBe(0);
  });

  test("bad magic", () => {
    expectRefused(patched((b) => b.writeUInt32LE(0x48545243, 0)), /magic/);
    expectRefused(Buffer.alloc(64, 0xab), /magic/);
  });

  test("bad version", () => {
    expectRefused(patched((b) => b.writeUInt16LE(PLAN_VERSION + 1, 4)), /version 2/);
    expectRefused(patched((b) => b.writeUInt16LE(0, 4)), /version 0/);
  });

  test("unknown header flags", () => {
    expectRefused(patched((b) => b.writeUInt16LE(1, 6)), /flags/);
  });

  test("totalLength that does not match the input", () => {
    expectRefused(patched((b) => b.writeUInt32LE(sample.length + 1, 12)), /bytes/);
    expectRefused(Buffer.concat([sample, Buffer.alloc(1)]), /bytes/);
  });

  test("an op count beyond the ops present", () => {
    expectRefused(patched((b) => b.writeUInt32LE(4, 8)), /op 3|truncated|too many/);
    expectRefused(patched((b) => b.writeUInt32LE(0xffffffff, 8)), /too many/);
  });

  test("fewer ops counted than present: trailing bytes", () => {
    expectRefused(patched((b) => b.writeUInt32LE(2, 8)), /after the last op/);
  });

  test("truncated: every proper prefix is refused (header patched to the cut length too)", () => {
    for (let len = 0; len < sample.length; len++) {
      const cut = Buffer.from(sample.subarray(0, len));
      if (len >= 16) cut.writeUInt32LE(len, 12); // only the structure inside can tell
      const r = decode(cut);
      expect([len, r.status]).toEqual([len, 2]);
      expect(r.stdout).toEqual({ error: expect.any(String) });
    }
  });

  test("an unknown tag", () => {
    expectRefused(patched((b) => b.writeUInt16LE(999, FIRST_TAG)), /op 0: unknown tag 999/);
    expectRefused(patched((b) => b.writeUInt16LE(0, FIRST_TAG)), /unknown tag 0/);
  });

  test("a known tag whose signature does not fit the arguments", () => {
    // sethostname ("s") relabelled as setns ("ii"): wrong count first.
    expectRefused(patched((b) => b.writeUInt16LE(opTable.setns[0], FIRST_TAG)), /op 0 \(setns\): 1 arguments/);
    // relabelled as chdir ("s"): fits, so it decodes as chdir.
    expect(decode(patched((b) => b.writeUInt16LE(opTable.chdir[0], FIRST_TAG))).status).toBe(0);
  });

  test("an argument of the wrong kind", () => {
    expectRefused(patched((b) => b.writeUInt8(1, FIRST_KIND)), /op 0 \(sethostname\) argument 0: kind 1 \(int\)/);
    expectRefused(patched((b) => b.writeUInt8(9, FIRST_KIND)), /kind 9/);
  });

  test("the wrong argument count", () => {
    expectRefused(patched((b) => b.writeUInt16LE(2, FIRST_ARGC)), /2 arguments/);
  });

  test("argBytes that disagree with the arguments", () => {
    // Shorter: the string's length runs past the op. Longer: bytes left over inside the op.
    expectRefused(patched((b) => b.writeUInt32LE(b.readUInt32LE(20) - 1, 20)), /./);
    const longer = Buffer.concat([sample.subarray(0, 16), sample.subarray(16, 20), Buffer.alloc(4), sample.subarray(24, 32), Buffer.alloc(1), sample.subarray(32)]);
    longer.writeUInt32LE(sample.readUInt32LE(20) + 1, 20);
    longer.writeUInt32LE(longer.length, 12);
    expectRefused(longer, /after the last argument/);
  });

  test("a NUL inside a string (the encoder refuses it; the decoder must too)", () => {
    expect(() => encodePlan([op("sethostname", "a\0b")])).toThrow(/NUL/);
    expectRefused(patched((b) => b.writeUInt8(0, FIRST_KIND + 5 + 1)), /NUL inside a string/);
  });

  test("a string list whose count cannot fit", () => {
    const plan = encodePlan([op("exec", "x", ["a"], [])]);
    // exec's args: kind(1) len(4) "x"(1) | kind(1) count(4) ...
    plan.writeUInt32LE(0x7fffffff, 16 + 8 + 1 + 4 + 1 + 1);
    expectRefused(plan, /length past the end/);
  });

  test("the magic constant is \"BRTH\"", () => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(PLAN_MAGIC);
    expect(b.toString("latin1")).toBe("BRTH");
  });
});
