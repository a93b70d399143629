/**
 * The CLI as a built program: exit code, stdout and stderr asserted together; stderr is empty
 * on success. Covers the foundation verbs (spec, check, features, --version) and the frame
 * every other verb shares (flags, errors, --log).
 */
import {
  chmodSync,
  closeSync,
  copyFileSync,
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
import Ajv from "ajv";
import { berth, repoRoot, runCaptured } from "../helpers/cli";
import { commands } from "../../src/cli/commands";
import * as native from "../../src/native";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-cli-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const config = (d: string) => JSON.parse(readFileSync(join(d, "config.json"), "utf8"));

test("--version names berth, the spec and libseccomp", () => {
  const r = berth(["--version"]);
  expect(r).toMatchObject({ exitCode: 0, stderr: "" });
  expect(r.stdout).toMatch(/^berth version \d+\.\d+\.\d+\ncommit: \S+\nspec: 1\.3\.0\nnode: v\d+\.\d+\.\d+\nlibseccomp: \d+\.\d+\.\d+\n$/);
  expect(berth(["-v"]).stdout).toBe(r.stdout);
});

/** A rootfs with an executable /bin/sh, enough for check's look at the filesystem. */
function plantRootfs(d: string, name = "rootfs"): void {
  mkdirSync(join(d, name, "bin"), { recursive: true });
  writeFileSync(join(d, name, "bin/sh"), "#!/bin/true\n", { mode: 0o755 });
}

test("spec writes runc's default config, and check finds it clean", () => {
  expect(berth(["spec"], { cwd: dir })).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  plantRootfs(dir);
  const c = config(dir);
  expect(c.process.args).toEqual(["sh"]);
  expect(c.root).toEqual({ path: "rootfs", readonly: true });
  expect(c.linux.namespaces.map((n: { type: string }) => n.type)).toEqual(["pid", "network", "ipc", "uts", "mount"]);
  expect(berth(["check"], { cwd: dir })).toEqual({ exitCode: 0, stdout: `${join(dir, "config.json")}: ok\n`, stderr: "" });
});

test("spec --rootless maps the caller and has no network namespace; check is clean", () => {
  expect(berth(["spec", "--rootless", "--bundle", dir])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const c = config(dir);
  expect(c.linux.uidMappings).toEqual([{ containerID: 0, hostID: process.getuid!(), size: 1 }]);
  expect(c.linux.namespaces.map((n: { type: string }) => n.type)).toContain("user");
  expect(c.linux.namespaces.map((n: { type: string }) => n.type)).not.toContain("network");
  plantRootfs(dir);
  expect(berth(["check", `--bundle=${dir}`]).exitCode).toBe(0);
});

test("spec writes ociVersion 1.1.0 (crun 1.8 refuses 1.2.0 and later), --oci-version another, and refuses one berth does not know", () => {
  expect(berth(["spec", "-b", dir])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(config(dir).ociVersion).toBe("1.1.0");
  rmSync(join(dir, "config.json"));
  expect(berth(["spec", "-b", dir, "--oci-version", "1.3.0"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(config(dir).ociVersion).toBe("1.3.0");
  rmSync(join(dir, "config.json"));
  for (const v of ["1.4.0", "2.0.0", "1.2"]) {
    expect(berth(["spec", "-b", dir, `--oci-version=${v}`])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: spec: --oci-version "${v}": must be a runtime-spec version from 1.0.0 to 1.3.0\n`,
    });
  }
  expect(existsSync(join(dir, "config.json"))).toBe(false);
});

test("spec refuses to overwrite a config.json", () => {
  writeFileSync(join(dir, "config.json"), "{}");
  expect(berth(["spec", "-b", dir])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: spec: ${join(dir, "config.json")}: already exists; remove it first\n`,
  });
  expect(readFileSync(join(dir, "config.json"), "utf8")).toBe("{}");
});

test("check prints all five planted mistakes with their field paths (an unknown capability as a warning) and exits 1", () => {
  berth(["spec", "-b", dir]);
  const c = config(dir);
  c.mounts[2].destination = 42;
  c.process.cwd = "home";
  c.linux.namespaces.push({ type: "uts" });
  c.process.capabilities.ambient.push("CAP_WIZARD");
  c.linux.sysctl = { "vm.overcommit_memory": "1" };
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  const r = berth(["check", "-b", dir]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toBe("");
  expect(r.stdout.split("\n")).toEqual([
    "error   mounts[2].destination 42: must be a string",
    'error   process.cwd "home": must be an absolute path',
    'warning process.capabilities.ambient[3] "CAP_WIZARD": unknown capability, skipped',
    'error   linux.namespaces[5].type "uts": is a duplicate of linux.namespaces[3]',
    'error   linux.sysctl["vm.overcommit_memory"] "1": is not namespaced: it would change the host, so berth refuses it',
    `${join(dir, "config.json")}: 4 errors, 1 warning`,
    "",
  ]);
});

test("check looks at the filesystem as create does, and reports everything in one run: a missing rootfs, bind source and program, a memory limit below 1 MiB, a hostname over 64 bytes, beside a config error", () => {
  berth(["spec", "-b", dir]);
  const c = config(dir);
  c.hostname = "h".repeat(70);
  c.linux.resources = { memory: { limit: 65536 } };
  c.mounts.push({ destination: "/data", type: "bind", source: join(dir, "no-such-source"), options: ["rbind"] });
  c.linux.sysctl = { "vm.overcommit_memory": "1" };
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  const limit =
    "error   linux.resources.memory.limit 65536: is below 1048576 bytes (1 MiB), too little to start a container: berth-init alone needs about 192 KiB, and runc's init over 2 MiB";
  const common = (middle: string) => [
    `error   hostname "${"h".repeat(70)}": is 70 bytes: the kernel takes at most 64`,
    'error   linux.sysctl["vm.overcommit_memory"] "1": is not namespaced: it would change the host, so berth refuses it',
    middle,
    `error   mounts[7].source "${join(dir, "no-such-source")}": ${join(dir, "no-such-source")}: no such file or directory`,
    limit,
    `${join(dir, "config.json")}: 5 errors`,
    "",
  ];
  // No rootfs at all.
  expect(berth(["check", "-b", dir])).toEqual({
    exitCode: 1,
    stderr: "",
    stdout: common(`error   root.path "rootfs": ${join(dir, "rootfs")}: no such file or directory`).join("\n"),
  });
  // A rootfs without the program: a symlink that points out of it is followed inside it.
  mkdirSync(join(dir, "rootfs/bin"), { recursive: true });
  symlinkSync("/../../../../../bin/sh", join(dir, "rootfs/bin/sh"));
  const notFound =
    'error   process.args[0] "sh": exec: "sh": executable file not found in $PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) in the rootfs';
  expect(berth(["check", "-b", dir])).toEqual({ exitCode: 1, stderr: "", stdout: common(notFound).join("\n") });
  // Found through process.env's PATH, by a symlink that stays in the rootfs.
  mkdirSync(join(dir, "rootfs/opt/tools"), { recursive: true });
  writeFileSync(join(dir, "rootfs/opt/tools/busy"), "", { mode: 0o755 });
  symlinkSync("../opt/tools/busy", join(dir, "rootfs/bin/shell"));
  c.process.args = ["shell"];
  c.process.env = ["PATH=/bin"];
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  expect(berth(["check", "-b", dir]).stdout).not.toContain("process.args[0]");
  // A path that is not executable.
  c.process.args = ["/opt/tools"];
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  expect(berth(["check", "-b", dir]).stdout).toContain(
    'error   process.args[0] "/opt/tools": exec: "/opt/tools": /opt/tools in the rootfs: is a directory\n',
  );
  // create refuses each of them too (the hostname before anything is made).
  const r = berth(["--root", join(dir, "root"), "create", "-b", dir, "c5"]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`berth: create c5: hostname "${"h".repeat(70)}": is 70 bytes: the kernel takes at most 64\n`);
});

test("check --explain prints values as people read them: mount flags by name, modes and the umask in octal, capabilities by name, rlimits by name, the seccomp program's size", () => {
  berth(["spec", "-b", dir]);
  plantRootfs(dir);
  const c = config(dir);
  c.linux.seccomp = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" }] };
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  const r = berth(["check", "--explain", "-b", dir]);
  expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
  const line = (op: string, origin: string) =>
    r.stdout
      .split("\n")
      .find((l) => new RegExp(`^\\s*\\d+  ${op}\\s`).test(l) && l.trimEnd().endsWith(origin))
      ?.replace(/\s+/g, " ")
      .trim();
  expect(line("mount", "root.path")).toMatch(/ mount "\S+rootfs" "\/" "" MS_BIND\|MS_REC "" root\.path$/);
  expect(line("mkdirInRoot", "mounts[1]")).toMatch(/ mkdirInRoot "\/dev" 0755 0 mounts\[1\]$/);
  expect(line("mknod", "(default devices)")).toMatch(/ mknod "\/dev\/null" S_IFCHR\|0666 1:3 0 0 existing=keep \(default devices\)$/);
  expect(line("umask", "process.user.umask")).toMatch(/ umask 0022 process\.user\.umask$/);
  expect(line("capBounding", "process.capabilities.bounding")).toMatch(
    / capBounding CAP_KILL\|CAP_NET_BIND_SERVICE\|CAP_AUDIT_WRITE process\.capabilities\.bounding$/,
  );
  expect(line("capset", "process.capabilities")).toMatch(
    / capset effective=CAP_KILL\|CAP_NET_BIND_SERVICE\|CAP_AUDIT_WRITE permitted=\S+ inheritable=\(none\) process\.capabilities$/,
  );
  expect(line("setrlimit", "process.rlimits[0]")).toMatch(/ setrlimit RLIMIT_NOFILE soft=1024 hard=1024 process\.rlimits\[0\]$/);
  expect(line("remountRoot", "root.readonly")).toMatch(/ remountRoot MS_RDONLY root\.readonly$/);
  expect(line("seccompLoad", "linux.seccomp")).toMatch(
    / seccompLoad [1-9]\d* BPF instructions SECCOMP_FILTER_FLAG_SPEC_ALLOW \(1 rule, default SCMP_ACT_ERRNO\) linux\.seccomp$/,
  );
  expect(r.stdout).not.toMatch(/0x[0-9a-f]+/);
  // --format json keeps the plan's values beside the shown ones.
  const json = JSON.parse(berth(["check", "--explain", "-f", "json", "-b", dir]).stdout);
  const umask = json.ops.find((o: { op: string }) => o.op === "umask");
  expect(umask).toMatchObject({ args: [0o22], shown: ["0022"], origin: "process.user.umask" });
});

test("check --format json reports problems with severity, field, value and source", () => {
  berth(["spec", "-b", dir]);
  const c = config(dir);
  c.process.user.uid = -3;
  c.mounts[1].destination = "dev";
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  const r = berth(["check", "-b", dir, "--format", "json"]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toBe("");
  const report = JSON.parse(r.stdout);
  expect(report.valid).toBe(false);
  expect(report.problems).toEqual([
    { field: "process.user.uid", value: -3, reason: "must be >= 0", severity: "error", source: "config" },
    {
      field: "mounts[1].destination",
      value: "dev",
      reason: 'is relative: deprecated, taken as "/dev"',
      severity: "warning",
      source: "config",
    },
  ]);
});

test("check reports malformed JSON with its line and column", () => {
  writeFileSync(join(dir, "config.json"), '{\n  "ociVersion": "1.0.0",\n  "root": }\n');
  const r = berth(["check", "-b", dir]);
  expect(r.exitCode).toBe(1);
  expect(r).toEqual({
    exitCode: 1,
    stderr: "",
    stdout: `error   ${join(dir, "config.json")}: invalid JSON at line 3 column 11: value expected near "}"\n${join(dir, "config.json")}: 1 error\n`,
  });
});

test("check reports what this host cannot do, from what the host really is", () => {
  berth(["spec", "-b", dir]);
  const c = config(dir);
  c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1073741816 }];
  c.process.selinuxLabel = "system_u:system_r:container_t:s0";
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  const r = berth(["check", "-b", dir, "-f", "json"]);
  const report = JSON.parse(r.stdout);
  const fields = report.problems.map((p: { field: string }) => p.field);
  const capEff = BigInt("0x" + /CapEff:\s*([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]);
  const hasSysResource = (capEff & (1n << 24n)) !== 0n;
  const hardNofile = /Max open files\s+\S+\s+(\S+)/.exec(readFileSync("/proc/self/limits", "utf8"))![1];
  const expectRlimitProblem = !hasSysResource && hardNofile !== "unlimited" && Number(hardNofile) < 1073741816;
  expect(fields.includes("process.rlimits[0].hard")).toBe(expectRlimitProblem);
  expect(fields.includes("process.selinuxLabel")).toBe(!existsSync("/sys/fs/selinux/enforce"));
  expect(r.exitCode).toBe(report.valid ? 0 : 1);
  expect(report.host.kernelRelease).toBe(readFileSync("/proc/sys/kernel/osrelease", "utf8").trim());
});

test("features prints a features document that validates and tells the truth about seccomp", () => {
  const r = berth(["features"]);
  expect(r.exitCode).toBe(0);
  expect(r.stderr).toBe("");
  const doc = JSON.parse(r.stdout);
  expect(doc.ociVersionMax).toBe("1.3.0");
  expect(doc.linux.namespaces).toEqual(expect.arrayContaining(["pid", "mount", "network"]));
  expect(doc.linux.seccomp.enabled).toBe(/^Seccomp:\s+\d/m.test(readFileSync("/proc/self/status", "utf8")));
  expect(doc.linux.apparmor.enabled).toBe(
    existsSync("/sys/module/apparmor/parameters/enabled") && readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").trim() === "Y",
  );
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const f of ["defs", "features"])
    ajv.addSchema(JSON.parse(readFileSync(join(__dirname, `../../spec-schemas/${f}.schema.json`), "utf8")));
  expect(ajv.validate("https://berth.dev/schemas/features.json", doc)).toBe(true);
});

describe("the command frame", () => {
  test("every runc subcommand is registered and its --help lists every flag", () => {
    const names = commands.map((c) => c.name).sort();
    expect(names).toEqual(
      // runc's, then berth's own (check; the layer model: image, bundle, diff, commit, export; help, completion).
      [
        "check",
        "checkpoint",
        "create",
        "delete",
        "events",
        "exec",
        "features",
        "kill",
        "list",
        "pause",
        "ps",
        "restore",
        "resume",
        "run",
        "spec",
        "start",
        "state",
        "update",
        "image",
        "bundle",
        "diff",
        "commit",
        "export",
        "help",
        "completion",
      ].sort(),
    );
    for (const c of commands) {
      const r = berth([c.name, "--help"]);
      expect({ name: c.name, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ name: c.name, exitCode: 0, stderr: "" });
      for (const flag of Object.keys(c.options)) expect(r.stdout).toContain(`--${flag}`);
      for (const flag of ["--root", "--log", "--log-format", "--debug", "--systemd-cgroup"]) expect(r.stdout).toContain(flag);
    }
  });

  test("global flags in any order, both --flag v and --flag=v, reach the verb", () => {
    expect(berth(["--root", dir, "create", "--bundle", dir, "--pid-file=/tmp/x.pid", "c1"])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create c1: ${dir}/config.json: open: no such file or directory\n`,
    });
    expect(berth(["--systemd-cgroup", "--log-format=json", `--root=${dir}`, "delete", "c1"]).stderr).toBe(
      "berth: delete c1: container does not exist\n",
    );
    // delete -f of a container that does not exist succeeds silently, as runc's (podman calls it
    // after every failed create).
    expect(berth(["--systemd-cgroup", "--log-format=json", `--root=${dir}`, "delete", "-f", "c1"])).toEqual({
      exitCode: 0,
      stdout: "",
      stderr: "",
    });
    expect(berth(["delete", `--root=${dir}`, "c1"]).stderr).toBe("berth: delete c1: container does not exist\n");
  });

  test("a verb not built yet says so, with runc's flags still accepted in any order", () => {
    expect(berth(["--root", dir, "checkpoint", "c1"])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: "berth: checkpoint c1: not implemented in this build of berth yet\n",
    });
    expect(berth(["--systemd-cgroup", "--log-format=json", `--root=${dir}`, "restore", "--bundle", dir, "c1"]).stderr).toBe(
      "berth: restore c1: not implemented in this build of berth yet\n",
    );
  });

  test("exec's trailing command keeps its own flags", () => {
    expect(berth(["--root", dir, "exec", "c1", "ls", "-la", "--bogus"]).stderr).toBe("berth: exec c1: container does not exist\n");
  });

  test("unknown commands and flags are named", () => {
    expect(berth(["frobnicate"])).toEqual({ exitCode: 1, stdout: "", stderr: 'berth: unknown command "frobnicate"\n' });
    expect(berth(["create", "--bogus", "c1"])).toEqual({ exitCode: 1, stdout: "", stderr: "berth: create: unknown flag --bogus\n" });
    expect(berth(["--nope", "state", "c1"])).toEqual({ exitCode: 1, stdout: "", stderr: "berth: state: unknown flag --nope\n" });
    expect(berth(["state"])).toEqual({ exitCode: 1, stdout: "", stderr: "berth: state: missing the <container-id> argument\n" });
    expect(berth(["list", "--format", "yaml"]).stderr).toBe("berth: list: --format yaml: must be one of table, json\n");
  });

  test("--log FILE --log-format json gets runc-style JSON lines, and stderr the same message", () => {
    const log = join(dir, "log.json");
    const r = berth(["--log", log, "--log-format", "json", "kill", "c9", "KILL"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe("berth: kill c9: container does not exist\n");
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[lines.length - 1]).toEqual({
      level: "error",
      msg: "kill c9: container does not exist",
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  test("--log-format json: a config with three problems writes one error line that carries all three (engines show the last line only); stderr has one line each", () => {
    berth(["spec", "-b", dir]);
    const c = config(dir);
    c.process.cwd = "home";
    c.linux.sysctl = { "vm.overcommit_memory": "1" };
    c.linux.namespaces.push({ type: "uts" });
    writeFileSync(join(dir, "config.json"), JSON.stringify(c));
    const log = join(dir, "log.json");
    const r = berth(["--root", join(dir, "root"), "--log", log, "--log-format", "json", "create", "-b", dir, "c3"]);
    const problems = [
      'linux.sysctl["vm.overcommit_memory"] "1": is not namespaced: it would change the host, so berth refuses it',
      'linux.namespaces[5].type "uts": is a duplicate of linux.namespaces[3]',
      'process.cwd "home": must be an absolute path',
    ];
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split("\n").filter(Boolean).sort()).toEqual(problems.map((p) => `berth: create c3: ${p}`).sort());
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.level === "error")).toHaveLength(1);
    const last = lines[lines.length - 1];
    expect(last.level).toBe("error");
    expect(last.msg).toMatch(/^create c3: 3 problems: /);
    for (const p of problems) expect(last.msg).toContain(p);
    expect(last.msg).not.toContain("\n");
  });

  test("--log with text format writes logrus-style lines", () => {
    const log = join(dir, "log.txt");
    berth(["--log", log, "state", "c9"]);
    expect(readFileSync(log, "utf8")).toMatch(/^time="[^"]+" level=error msg="state c9: container does not exist"\n$/);
  });
});

test("create without the native part: one line naming the missing file, and nothing left in the state root (not even the lock)", () => {
  // The bundles alone, away from the checkout's build/Release: the addon cannot be found.
  const bin = join(dir, "copy/bin");
  mkdirSync(bin, { recursive: true });
  for (const f of readdirSync(join(repoRoot, "bin")))
    if (f === "berth" || /^berth-.*\.js$/.test(f)) copyFileSync(join(repoRoot, "bin", f), join(bin, f));
  chmodSync(join(bin, "berth"), 0o755);
  const root = join(dir, "root");
  const env = { ...process.env };
  delete env.BERTH_NATIVE_DIR;
  const r = runCaptured(join(bin, "berth"), ["--root", root, "create", "-b", dir, "n1"], { env });
  expect({ exitCode: r.exitCode, stdout: r.stdout }).toEqual({ exitCode: 1, stdout: "" });
  expect(r.stderr).toMatch(/^berth: create n1: berth_native\.node not found in .*: reinstall berth[^\n]*\n$/);
  expect(readdirSync(root)).toEqual([]);
});

describe("bad input is refused at once, naming what is wrong (issue 16)", () => {
  test("a config.json that is no regular file (a link to /dev/zero), or larger than berth reads: refused at once, nothing made", () => {
    const root = join(dir, "root");
    symlinkSync("/dev/zero", join(dir, "config.json"));
    expect(berth(["--root", root, "create", "--bundle", dir, "z1"])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create z1: ${join(dir, "config.json")}: must be a regular file\n`,
    });
    expect(berth(["check", "--bundle", dir])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: check: ${join(dir, "config.json")}: must be a regular file\n`,
    });
    rmSync(join(dir, "config.json"));
    writeFileSync(join(dir, "config.json"), Buffer.alloc((16 << 20) + 1, " "));
    expect(berth(["--root", root, "create", "--bundle", dir, "z1"])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create z1: ${join(dir, "config.json")}: is ${(16 << 20) + 1} bytes: more than berth reads (${16 << 20})\n`,
    });
    expect(existsSync(join(root, "z1"))).toBe(false);
  });

  test('ids: one longer than 255 characters gets the id check\'s error; "-" is an id; a flag without its value says which', () => {
    const long = "a".repeat(300);
    expect(berth(["--root", dir, "state", long])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: state ${"a".repeat(32)}...: invalid container id: 300 characters, at most 255\n`,
    });
    expect(berth(["--root", dir, "delete", "-"])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: "berth: delete -: container does not exist\n",
    });
    expect(berth(["--root", dir, "kill", "-", "9"])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: "berth: kill -: container does not exist\n",
    });
    expect(berth(["list", "--root"])).toEqual({ exitCode: 1, stdout: "", stderr: "berth: list: --root: needs a value\n" });
    expect(berth(["--root"])).toEqual({ exitCode: 1, stdout: "", stderr: "berth: --root: needs a value\n" });
  });

  test("list: a state directory without a valid state.json is not listed but said on stderr, with the cure; a create or delete under way (the lock held) and a stray file are not; the JSON stays valid", () => {
    const root = join(dir, "root");
    const bundle = join(dir, "bundle");
    mkdirSync(join(root, "ok1"), { recursive: true });
    // A stopped container's record (pid 0 is never alive).
    writeFileSync(
      join(root, "ok1/state.json"),
      JSON.stringify({
        ociVersion: "1.3.0",
        id: "ok1",
        status: "stopped",
        pid: 0,
        bundle,
        rootfs: join(bundle, "rootfs"),
        created: "2024-01-01T00:00:00.000Z",
        owner: "",
        cgroupDirs: [],
      }),
    );
    writeFileSync(join(root, "ok1/lock"), "");
    mkdirSync(join(root, "bad1"));
    writeFileSync(join(root, "bad1/state.json"), "garbage\n");
    writeFileSync(join(root, "bad1/lock"), "");
    mkdirSync(join(root, "bad2"));
    writeFileSync(join(root, "bad2/state.json"), "null\n");
    mkdirSync(join(root, "bad3"));
    mkdirSync(join(root, "busy4"));
    writeFileSync(join(root, "busy4/lock"), "");
    writeFileSync(join(root, "notes"), "not a container\n");
    const held = openSync(join(root, "busy4/lock"), "r+");
    try {
      expect(native.flock(held, "ex")).toBe(true);
      const stderr =
        [
          `berth: list bad1: ${join(root, "bad1/state.json")}: is not a valid state file (Unexpected token 'g', "garbage " is not valid JSON): not listed; \`berth delete --force bad1\` removes it`,
          `berth: list bad2: ${join(root, "bad2/state.json")}: is not a valid state file (not a JSON object: null): not listed; \`berth delete --force bad2\` removes it`,
          `berth: list bad3: ${join(root, "bad3")}: has no state.json: not listed; \`berth delete --force bad3\` removes it`,
        ].join("\n") + "\n";
      const json = berth(["--root", root, "list", "--format", "json"]);
      expect({ ...json, stdout: "" }).toEqual({ exitCode: 0, stdout: "", stderr });
      expect(JSON.parse(json.stdout)).toEqual([
        {
          ociVersion: "1.3.0",
          id: "ok1",
          pid: 0,
          status: "stopped",
          bundle,
          rootfs: join(bundle, "rootfs"),
          created: "2024-01-01T00:00:00.000Z",
          owner: "",
        },
      ]);
      expect(berth(["--root", root, "list", "-q"])).toEqual({ exitCode: 0, stdout: "ok1\n", stderr });
      const table = berth(["--root", root, "list"]);
      expect(table.stderr).toBe(stderr);
      expect(table.stdout.split("\n").map((l) => l.split(/\s+/)[0])).toEqual(["ID", "ok1", ""]);
    } finally {
      closeSync(held);
    }
    // The cure works, and then list is quiet.
    for (const id of ["bad1", "bad2", "bad3"])
      expect(berth(["--root", root, "delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    rmSync(join(root, "busy4"), { recursive: true });
    expect(berth(["--root", root, "list", "-q"])).toEqual({ exitCode: 0, stdout: "ok1\n", stderr: "" });
  });

  test("a state directory without a valid state.json: state says so, delete --force removes it (lock file or not), and the id is free again", () => {
    const root = join(dir, "root");
    mkdirSync(join(root, "bad1"), { recursive: true });
    writeFileSync(join(root, "bad1/state.json"), "garbage\n");
    writeFileSync(join(root, "bad1/lock"), "");
    mkdirSync(join(root, "bad2"));
    writeFileSync(join(root, "bad2/state.json"), '{"id":');
    mkdirSync(join(root, "bad3"));
    const path = join(root, "bad1/state.json");
    expect(berth(["--root", root, "state", "bad1"])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: state bad1: ${path}: is not a valid state file (Unexpected token 'g', "garbage " is not valid JSON): \`berth delete --force bad1\` removes it\n`,
    });
    expect(berth(["--root", root, "delete", "bad1"]).exitCode).toBe(1);
    for (const id of ["bad1", "bad2", "bad3"])
      expect(berth(["--root", root, "delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(readdirSync(root)).toEqual([]);
  });
});

// Found by the CLI fuzzer (test/reliability/fuzz-cli.test.ts): --resources /dev/zero read
// without a bound, until berth died of std::bad_alloc (exit 134).
test("update --resources is read bounded, as config.json is: not a regular file, or too big on stdin, is refused", () => {
  const root = join(dir, "state");
  expect(berth(["--root", root, "update", "--resources", "/dev/zero", "c1"])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: 'berth: update c1: --resources "/dev/zero": must be a regular file\n',
  });
  expect(berth(["--root", root, "update", "-r", "-", "c1"], { input: " ".repeat((16 << 20) + 1) })).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: 'berth: update c1: --resources "-": is more than berth reads (16777216 bytes)\n',
  });
  expect(berth(["--root", root, "update", "-r", "-", "c1"], { input: "[".repeat(100_000) })).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: "berth: update c1: --resources: invalid JSON at line 1 column 1001: nests arrays and objects more than 1000 levels deep\n",
  });
});

// Found by the CLI fuzzer (test/reliability/fuzz-cli.test.ts).
test.each([
  // a flag given twice reached fs calls as an array: "internal error: The "path" argument must be of type string"
  [["--root", "/a", "state", "c1", "--root", "/b"], "berth: state c1: --root: given more than once\n"],
  [["create", "--bundle", "a", "-b", "b", "c1"], "berth: create c1: --bundle: given more than once\n"],
  // a --preserve-fds of 1e999 (Infinity) or -1 went on to create
  [["run", "--preserve-fds", "1e999", "c1"], 'berth: run c1: --preserve-fds "1e999": must be a whole number from 0 to 1048576\n'],
  [["exec", "--preserve-fds=-1", "c1", "ls"], 'berth: exec c1: --preserve-fds "-1": must be a whole number from 0 to 1048576\n'],
  // an extra argument was called an unknown flag
  [["start", "c1", "c2"], 'berth: start: unexpected argument "c2"\n'],
  [["resume", "a", "b", "c"], 'berth: resume: unexpected arguments "b", "c"\n'],
  [["features", "extra"], 'berth: features: unexpected argument "extra"\n'],
  // a short flag without its value was named as a long one (--f), and a number flag's text as NaN
  [["list", "-f"], "berth: list: -f: needs a value\n"],
  [["list", "--format"], "berth: list: --format: needs a value\n"],
  [["update", "--pids-limit", "abc", "c1"], 'berth: update c1: --pids-limit "abc": must be an integer\n'],
])("argument mistakes are named: %j", (args, stderr) => {
  expect(berth(["--root", join(dir, "state"), ...args])).toEqual({ exitCode: 1, stdout: "", stderr });
});

// Found by the CLI fuzzer: an id "a\nb" made the message two lines, the second not berth's.
test.each([
  ["a\nb", '"a\\nb"'],
  ["", '""'],
  ["a b", '"a b"'],
  ["\u001b[31m", '"\\u001b[31m"'],
  ["a/b", "a/b"],
])("an invalid id %j is shown in one word: %s", (id, shown) => {
  expect(berth(["--root", join(dir, "state"), "state", id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: state ${shown}: invalid container id: use letters, digits and _ + - . only\n`,
  });
});
