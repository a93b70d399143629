/**
 * The lifecycle verbs' flags as engines and users pass them: --preserve-fds, signals by name
 * and number, kill --all, relative --bundle and --pid-file, and the errors they get.
 */
import { spawnSync } from "node:child_process";
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { berth, berthBin } from "../helpers/cli";
import { makeBundle, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

let b: TestBundle;
const ids = testIds("cli");
const uniq = ids.uniq;
const run = (args: string[], cwd?: string) => berth(["--root", b.root, ...args], { cwd });
afterEach(() => {
  ids.deleteAll((id) => run(["delete", "--force", id]));
  b?.cleanup();
});

const statusOf = (id: string) => JSON.parse(run(["state", id]).stdout).status as string;
function waitStopped(id: string): string {
  for (let i = 0; i < 5000 && statusOf(id) !== "stopped"; i++);
  return statusOf(id);
}

test("--preserve-fds N: the container gets fds 3..3+N-1 and nothing else", () => {
  b = makeBundle(["sh", "-c", "ls /proc/self/fd | tr '\\n' ' '; cat <&3; cat <&4"]);
  const dir = mkdtempSync(join(tmpdir(), "berth-fds-"));
  const files = ["three", "four"].map((name) => {
    const path = join(dir, name);
    writeFileSync(path, `${name}\n`);
    return openSync(path, "r");
  });
  const out = openSync(join(dir, "out"), "w+");
  try {
    const r = spawnSync(berthBin, ["--root", b.root, "run", "--preserve-fds", "2", "-b", b.dir, uniq("fds")], {
      stdio: ["ignore", out, out, files[0]!, files[1]!],
    });
    expect(r.status).toBe(0);
    // ls opens one more (the directory it lists).
    expect(readFileSync(join(dir, "out"), "utf8")).toBe("0 1 2 3 4 5 three\nfour\n");
  } finally {
    for (const fd of [...files, out]) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("kill takes signal names with and without SIG, and numbers; unknown ones are named", () => {
  // The container writes down which signal reached it, into a directory bound from the host.
  b = makeBundle(
    ["sh", "-c", "trap 'echo USR1 > /out/sig; exit' USR1; trap 'echo HUP > /out/sig; exit' HUP; while :; do sleep 0.1; done"],
    (c) => {
      c.mounts.push({ destination: "/out", type: "bind", source: "out", options: ["rbind"] });
    },
  );
  mkdirSync(join(b.dir, "out"));
  for (const [signal, seen] of [
    ["USR1", "USR1"],
    ["SIGHUP", "HUP"],
    ["10", "USR1"],
  ]) {
    const id = uniq("sig");
    expect(run(["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(run(["kill", id, signal!])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(waitStopped(id)).toBe("stopped");
    expect({ signal, seen: readFileSync(join(b.dir, "out/sig"), "utf8") }).toEqual({ signal, seen: `${seen}\n` });
  }
  const id = uniq("badsig");
  run(["run", "-d", "-b", b.dir, id]);
  expect(run(["kill", id, "SIGNOPE"])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: kill ${id}: signal "SIGNOPE": unknown signal\n`,
  });
  expect(statusOf(id)).toBe("running");
});

test("kill ID 0 and kill --all ID 0 ask whether the container exists: 0 while it does, runc's error once stopped or gone", () => {
  b = makeBundle(["sleep", "300"]);
  const id = uniq("sig0");
  expect(run(["create", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(run(["kill", id, "0"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(statusOf(id)).toBe("created");
  expect(run(["start", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  for (const args of [
    ["kill", id, "0"],
    ["kill", "--all", id, "0"],
    ["kill", "-a", id, "0"],
  ]) {
    expect(run(args)).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  }
  // Nothing was sent: the process runs on.
  expect(statusOf(id)).toBe("running");
  expect(run(["kill", id, "KILL"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(waitStopped(id)).toBe("stopped");
  for (const args of [
    ["kill", id, "0"],
    ["kill", "--all", id, "0"],
  ]) {
    expect(run(args)).toEqual({ exitCode: 1, stdout: "", stderr: `berth: kill ${id}: container not running\n` });
  }
  expect(run(["delete", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(run(["kill", id, "0"])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: kill ${id}: container does not exist\n` });
});

test("a foreground run exits with the container's status after a signal berth relays", () => {
  b = makeBundle(["sh", "-c", "trap 'exit 42' TERM; echo up; while :; do sleep 1; done"]);
  const dir = mkdtempSync(join(tmpdir(), "berth-relay-"));
  const out = join(dir, "out");
  const fd = openSync(out, "w+");
  try {
    const child = spawn(berthBin, ["--root", b.root, "run", "-b", b.dir, uniq("relay")], { stdio: ["ignore", fd, fd] });
    return new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (readFileSync(out, "utf8").includes("up")) {
          clearInterval(poll);
          child.kill("SIGTERM");
        }
      }, 20);
      child.on("exit", (code: number | null) => {
        clearInterval(poll);
        try {
          expect(code).toBe(42);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
  } finally {
    closeSync(fd);
  }
});

test("kill --all reaches every process of the container, not only its init", () => {
  b = makeBundle(["sh", "-c", "sleep 300 & sleep 301 & wait"], (c) => {
    // Without a pid namespace, the init's death does not take the others with it.
    c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
  });
  const id = uniq("all");
  run(["run", "-d", "-b", b.dir, id]);
  const procs = join("/sys/fs/cgroup/unified/berth", id, "cgroup.procs");
  for (let i = 0; i < 5000 && readFileSync(procs, "utf8").trim().split("\n").length < 3; i++);
  expect(readFileSync(procs, "utf8").trim().split("\n")).toHaveLength(3);
  expect(run(["kill", "--all", id, "KILL"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  for (let i = 0; i < 5000 && readFileSync(procs, "utf8").trim() !== ""; i++);
  expect(readFileSync(procs, "utf8").trim()).toBe("");
  expect(waitStopped(id)).toBe("stopped");
});

test("relative --bundle and --pid-file resolve against the working directory, as runc", () => {
  b = makeBundle(["sleep", "300"]);
  const id = uniq("rel");
  const cwd = join(b.dir, "..");
  expect(run(["create", "--bundle", relative(cwd, b.dir), "--pid-file", `${relative(cwd, b.dir)}/init.pid`, id], cwd)).toEqual({
    exitCode: 0,
    stdout: "",
    stderr: "",
  });
  const state = JSON.parse(run(["state", id]).stdout);
  expect(state.bundle).toBe(b.dir);
  expect(readFileSync(join(b.dir, "init.pid"), "utf8")).toBe(String(state.pid));
});

test("start, kill and delete of a container that does not exist say so in runc's words", () => {
  b = makeBundle(["true"]);
  for (const verb of ["start", "kill", "delete", "state"]) {
    expect(run([verb, "nope"])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: ${verb} nope: container does not exist\n` });
  }
});

test("warnings reach stderr without --log or --debug (one line naming the field), and only the log with --log", () => {
  b = makeBundle(["true"], (c) => {
    c.linux.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["getcwd", "no_such_syscall_berth"], action: "SCMP_ACT_ERRNO" }],
    };
  });
  const warning = `linux.seccomp.syscalls[0].names[1] "no_such_syscall_berth": libseccomp does not know this system call on this architecture: skipped`;
  const id = uniq("warn");
  expect(run(["run", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: `berth: create ${id}: ${warning}\n` });
  const log = join(b.dir, "log.json");
  const id2 = uniq("warn-log");
  expect(run(["--log", log, "--log-format", "json", "run", "-b", b.dir, id2])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const lines = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines.map((l) => [l.level, l.msg])).toEqual([["warning", `create ${id2}: ${warning}`]]);
});
