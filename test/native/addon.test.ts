/**
 * The built native part, observed from outside: the addon's answers against what the host says
 * by other means (pkg-config, /proc, os.release), and berth-init as a program (its output, its
 * exit status, and that it is really static). Needs `npm run build:native` first; no root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { arch, release, tmpdir } from "node:os";
import { join } from "node:path";
import * as native from "../../src/native";

const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string };

/** The installed libseccomp's version, asked of the package tools rather than the library. */
function installedLibseccomp(): string {
  try {
    return execFileSync("pkg-config", ["--modversion", "libseccomp"], { encoding: "utf8" }).trim();
  } catch {
    // No pkg-config (it is only a build dependency): Debian's package version, minus its revision.
    const v = execFileSync("dpkg-query", ["-W", "-f=${Version}", "libseccomp2"], { encoding: "utf8" });
    return v.replace(/^\d+:/, "").replace(/-[^-]*$/, "");
  }
}

/** p_type of every program header of an ELF file (enough of the format to find PT_INTERP). */
function programHeaderTypes(file: string): number[] {
  // The ELF and program headers sit at the start of the file; 64 KiB is plenty for both, and
  // spares reading all of the node binary (the control case below).
  const fd = openSync(file, "r");
  const elf = Buffer.alloc(64 * 1024);
  try {
    readSync(fd, elf, 0, elf.length, 0);
  } finally {
    closeSync(fd);
  }
  expect(elf.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  const is64 = elf[4] === 2;
  const le = elf[5] === 1;
  const u16 = (o: number) => (le ? elf.readUInt16LE(o) : elf.readUInt16BE(o));
  const u32 = (o: number) => (le ? elf.readUInt32LE(o) : elf.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? elf.readBigUInt64LE(o) : elf.readBigUInt64BE(o));
  const phoff = is64 ? u64(0x20) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const types: number[] = [];
  for (let i = 0; i < phnum; i++) types.push(u32(phoff + i * phentsize));
  return types;
}
const PT_LOAD = 1;
const PT_INTERP = 3;

function seccompStatus(): string[] {
  return readFileSync("/proc/self/status", "utf8").match(/^Seccomp.*$/gm) ?? [];
}

describe("berth_native addon", () => {
  test("version() is package.json's", () => {
    expect(native.version()).toBe(pkg.version);
  });

  test("seccompVersion() is the installed libseccomp", () => {
    const v = native.seccompVersion();
    expect(`${v.major}.${v.minor}.${v.micro}`).toBe(installedLibseccomp());
  });

  test("seccompVersion() is the libseccomp actually mapped into this process", () => {
    const v = native.seccompVersion(); // loads the addon, and libseccomp with it
    // The shared object's real file name carries the full version (libseccomp.so.2.5.4).
    const mapped = /libseccomp\.so\.(\d+\.\d+\.\d+)/.exec(readFileSync("/proc/self/maps", "utf8"));
    expect(mapped?.[1]).toBe(`${v.major}.${v.minor}.${v.micro}`);
  });

  test("seccompSyscallNumber resolves names, -1 for unknown ones", () => {
    expect(native.seccompSyscallNumber("nosuchcall")).toBe(-1);
    expect(native.seccompSyscallNumber("nosuchcall", "SCMP_ARCH_AARCH64")).toBe(-1);
    // U+0000 must not resolve as the prefix before it.
    expect(native.seccompSyscallNumber("read\0junk")).toBe(-1);
    if (arch() === "x64") {
      expect(native.seccompSyscallNumber("read")).toBe(0);
      expect(native.seccompSyscallNumber("write")).toBe(1);
      expect(native.seccompSyscallNumber("read", "SCMP_ARCH_X86_64")).toBe(0);
    }
    // Per-arch numbers do not depend on the host: both spellings of the arch name work.
    expect(native.seccompSyscallNumber("read", "SCMP_ARCH_AARCH64")).toBe(63);
    expect(native.seccompSyscallNumber("read", "aarch64")).toBe(63);
    expect(native.seccompSyscallNumber("read", "SCMP_ARCH_X86")).toBe(3);
  });

  test("seccompSyscallNumber rejects bad arguments with Node-style TypeErrors", () => {
    expect(() => native.seccompSyscallNumber("read", "SCMP_ARCH_NOPE")).toThrow(
      expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }),
    );
    expect(() => native.seccompSyscallNumber(42 as unknown as string)).toThrow(
      expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" }),
    );
  });

  test("seccompArchNative() names the host architecture", () => {
    const expected: Record<string, string> = {
      x64: "SCMP_ARCH_X86_64",
      arm64: "SCMP_ARCH_AARCH64",
      ppc64: "SCMP_ARCH_PPC64LE",
      s390x: "SCMP_ARCH_S390X",
      riscv64: "SCMP_ARCH_RISCV64",
    };
    const name = native.seccompArchNative();
    expect(name).toMatch(/^SCMP_ARCH_[A-Z0-9_]+$/);
    if (expected[arch()]) expect(name).toBe(expected[arch()]);
    // And libseccomp takes its own answer back.
    expect(native.seccompSyscallNumber("read", name)).toBe(native.seccompSyscallNumber("read"));
  });
});

describe("probe()", () => {
  const before = seccompStatus();
  const facts = native.probe();

  test("kernelRelease is uname's", () => {
    expect(facts.kernelRelease).toBe(release());
  });

  test("namespaces agree with /proc/self/ns", () => {
    const names = ["pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time"] as const;
    expect(Object.keys(facts.namespaces).sort()).toEqual([...names].sort());
    for (const ns of names) expect([ns, facts.namespaces[ns]]).toEqual([ns, existsSync(`/proc/self/ns/${ns}`)]);
  });

  test("every availability is a boolean, and the keys are exactly the documented ones", () => {
    expect(Object.keys(facts.syscalls).sort()).toEqual(
      ["clone3", "openat2", "mountSetattr", "openTree", "moveMount", "pidfdOpen", "pidfdSendSignal", "memfdCreate", "closeRange"].sort(),
    );
    expect(Object.keys(facts.seccomp.actions).sort()).toEqual(
      ["kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log", "allow"].sort(),
    );
    expect(Object.keys(facts.seccomp.flags).sort()).toEqual(
      ["tsync", "log", "spec_allow", "new_listener", "tsync_esrch", "wait_killable_recv"].sort(),
    );
    const values = [
      ...Object.values(facts.syscalls),
      facts.seccomp.mode,
      ...Object.values(facts.seccomp.actions),
      ...Object.values(facts.seccomp.flags),
    ];
    for (const v of values) expect(typeof v).toBe("boolean");
  });

  test("seccomp facts agree with /proc/self/status", () => {
    // The kernel shows a Seccomp: line exactly when it has CONFIG_SECCOMP.
    expect(facts.seccomp.mode).toBe(before.some((l) => l.startsWith("Seccomp:")));
    // ALLOW is as old as SECCOMP_GET_ACTION_AVAIL itself, so any action implies it.
    if (Object.values(facts.seccomp.actions).some(Boolean)) expect(facts.seccomp.actions.allow).toBe(true);
  });

  test("probing installed no filter", () => {
    // The flag probes call SECCOMP_SET_MODE_FILTER; with a NULL program it must stay a question.
    native.probe();
    expect(seccompStatus()).toEqual(before);
  });
});

describe("berth-init", () => {
  const init = native.berthInitPath();

  test("--version prints berth-init <version>", () => {
    const r = spawnSync(init, ["--version"], { encoding: "utf8" });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 0,
      stdout: `berth-init ${pkg.version}\n`,
      stderr: "",
    });
  });

  test("--decode refuses a non-plan in JSON, exits 2, consumes its input", () => {
    // The format itself is tested in abi.test.ts; here: the refusal comes after reading
    // everything, so a writer piping a big buffer sees the answer, not EPIPE.
    const r = spawnSync(init, ["--decode"], { input: Buffer.alloc(256 * 1024, 0xab), encoding: "utf8" });
    expect(r.error).toBeUndefined(); // no EPIPE: the input was read
    expect({ status: r.status, stdout: JSON.parse(r.stdout), stderr: r.stderr }).toEqual({
      status: 2,
      stdout: { error: 'bad magic 0xabababab, expected 0x48545242 ("BRTH")' },
      stderr: "",
    });
  });

  test("no arguments: usage on stderr, exit 2", () => {
    const r = spawnSync(init, [], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^usage: berth-init/);
  });

  test("is statically linked (no PT_INTERP)", () => {
    // Control: the parser does find the interpreter of a dynamic executable.
    expect(programHeaderTypes(process.execPath)).toContain(PT_INTERP);
    const types = programHeaderTypes(init);
    expect(types).toContain(PT_LOAD);
    expect(types).not.toContain(PT_INTERP);
  });
});

describe("file search", () => {
  const saved = process.env.BERTH_NATIVE_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.BERTH_NATIVE_DIR;
    else process.env.BERTH_NATIVE_DIR = saved;
  });

  test("BERTH_NATIVE_DIR comes first; a directory without the file is skipped", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-native-"));
    try {
      process.env.BERTH_NATIVE_DIR = dir;
      const built = native.nativeSearchDirs().slice(1);
      expect(native.berthInitPath()).not.toContain(dir); // empty: falls through to build/Release
      expect(built.some((d) => native.berthInitPath().startsWith(d))).toBe(true);
      writeFileSync(join(dir, "berth-init"), "");
      expect(native.berthInitPath()).toBe(join(dir, "berth-init"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("from sources, the build directory is <repo>/build/Release", () => {
    delete process.env.BERTH_NATIVE_DIR;
    expect(native.berthInitPath()).toBe(join(__dirname, "..", "..", "build", "Release", "berth-init"));
  });
});
