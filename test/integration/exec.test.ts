/**
 * exec, ps and events against real containers: what the exec'd process sees from inside
 * (namespaces, hostname, pid, uid, caps, env, cwd, rlimits, fds, cgroups), its exit status,
 * --detach with --pid-file, runc's error wording, and the ps / events output engines parse.
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth, berthBin } from "../helpers/cli";
import { until } from "../helpers/until";
import { cgroupDirsFor, makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

let b: TestBundle;
const ids = testIds("exec");
let scratch: string;
const uniq = ids.uniq;
const run = (args: string[]) => berth(["--root", b.root, ...args]);
const ok = { exitCode: 0, stderr: "" };

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), "berth-exec-"));
});
afterEach(() => {
  ids.deleteAll((id) => run(["delete", "--force", id]));
  b?.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

/** A running container whose init sleeps; returns its id and host pid. */
function startSleeper(mutate?: Parameters<typeof makeBundle>[1]): { id: string; pid: number } {
  b = makeBundle(["sleep", "100000"], (c) => {
    c.hostname = "exec-host";
    mutate?.(c);
  });
  const id = uniq("c");
  expect(run(["run", "-d", "-b", b.dir, id])).toEqual({ ...ok, stdout: "" });
  const pid = JSON.parse(run(["state", id]).stdout).pid as number;
  return { id, pid };
}

function processFile(p: Record<string, unknown>): string {
  const file = join(scratch, `process-${Math.floor(Math.random() * 1e6)}.json`);
  writeFileSync(file, JSON.stringify(p));
  return file;
}

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
};

describe("exec", () => {
  test("enters every namespace of the init: same hostname, mount and pid namespace, not pid 1, sees the init", () => {
    const { id, pid } = startSleeper();
    const r = run([
      "exec",
      id,
      "sh",
      "-c",
      "hostname; echo $$; for n in mnt pid uts ipc net; do readlink /proc/self/ns/$n; done; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    expect(r).toMatchObject(ok);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("exec-host");
    expect(Number(lines[1])).toBeGreaterThan(1);
    const host = ["mnt", "pid", "uts", "ipc", "net"].map((ns) => readlinkSync(`/proc/${pid}/ns/${ns}`));
    expect(lines.slice(2, 7)).toEqual(host);
    // and they are not the host's own
    expect(host[0]).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    expect(lines[7]).toBe("sleep 100000");
  });

  test("--process: uid, gid, groups, caps, env, cwd, rlimits and no_new_privs from process.json; no host fd leaks", () => {
    const { id } = startSleeper();
    const file = processFile({
      user: { uid: 1000, gid: 1001, additionalGids: [2000] },
      args: [
        "sh",
        "-c",
        "id -u; id -g; id -G; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; echo $FOO; pwd; ulimit -n; ulimit -Hn; ls /proc/self/fd | tr '\\n' ' '",
      ],
      env: ["PATH=/bin:/usr/bin", "FOO=from-process-json"],
      cwd: "/tmp",
      // A non-root user keeps capabilities across its execve only as ambient ones.
      capabilities: {
        bounding: ["CAP_KILL", "CAP_CHOWN"],
        effective: ["CAP_KILL"],
        permitted: ["CAP_KILL"],
        inheritable: ["CAP_KILL"],
        ambient: ["CAP_KILL"],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", soft: 123, hard: 456 }],
      noNewPrivileges: true,
    });
    const r = run(["exec", "--process", file, id]);
    expect(r).toMatchObject(ok);
    expect(r.stdout.split("\n")).toEqual([
      "1000",
      "1001",
      "1001 2000",
      "CapEff:\t0000000000000020",
      "CapBnd:\t0000000000000021",
      "NoNewPrivs:\t1",
      "from-process-json",
      "/tmp",
      "123",
      "456",
      // ls opens one more: the directory it lists
      "0 1 2 3 ",
    ]);
  });

  test("the argument form takes runc's flags over the container's process", () => {
    const { id } = startSleeper((c) => {
      c.process.env = ["PATH=/bin:/usr/bin", "BASE=1"];
    });
    const r = run([
      "exec",
      "--user",
      "123:456",
      "--cwd",
      "/etc",
      "-e",
      "EXTRA=2",
      "--additional-gids",
      "7",
      id,
      "sh",
      "-c",
      "id -u; id -g; id -G; pwd; echo $BASE$EXTRA",
    ]);
    expect(r).toEqual({ ...ok, stdout: "123\n456\n456 7\n/etc\n12\n" });
  });

  test("unknown capabilities in --cap and in process.json are skipped with a warning; the exec runs with the known ones", () => {
    const { id } = startSleeper();
    const r = run(["exec", "--cap", "CAP_UNKNOWN", "--cap", "sys_admin", "--cap", "nope", id, "grep", "CapBnd", "/proc/self/status"]);
    // The busybox bundle's default bounding set (AUDIT_WRITE, KILL, NET_BIND_SERVICE) plus SYS_ADMIN.
    expect(r).toEqual({
      exitCode: 0,
      stdout: "CapBnd:\t0000000020200420\n",
      stderr: `berth: exec ${id}: --cap "CAP_UNKNOWN": unknown capability, skipped\nberth: exec ${id}: --cap "nope": unknown capability, skipped\n`,
    });
    const file = processFile({
      user: { uid: 0, gid: 0 },
      args: ["grep", "-E", "^Cap(Bnd|Eff)", "/proc/self/status"],
      cwd: "/",
      capabilities: { bounding: ["CAP_KILL", "CAP_BOGUS"], effective: ["CAP_BOGUS", "CAP_KILL"], permitted: ["CAP_KILL"] },
    });
    expect(run(["exec", "--process", file, id])).toEqual({
      exitCode: 0,
      stdout: "CapEff:\t0000000000000020\nCapBnd:\t0000000000000020\n",
      stderr:
        `berth: exec ${id}: process.capabilities.bounding[1] "CAP_BOGUS": unknown capability, skipped\n` +
        `berth: exec ${id}: process.capabilities.effective[0] "CAP_BOGUS": unknown capability, skipped\n`,
    });
  });

  test("--process without user runs as uid 0, gid 0 (runc's default), even in a container whose process runs as another user", () => {
    const { id } = startSleeper((c) => (c.process.user = { uid: 1000, gid: 1000 }));
    const file = processFile({ args: ["sh", "-c", "id -u; id -g; id -G"], cwd: "/", env: ["PATH=/bin"] });
    expect(run(["exec", "--process", file, id])).toEqual({ ...ok, stdout: "0\n0\n0\n" });
  });

  test("the process is in the container's cgroups, in every hierarchy", () => {
    const { id } = startSleeper();
    const r = run(["exec", id, "cat", "/proc/self/cgroup"]);
    expect(r).toMatchObject(ok);
    const lines = r.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    // Inside a container without a cgroup namespace, the paths are the host's.
    for (const line of lines) expect(line).toMatch(new RegExp(`:/berth/${id}$`));
  });

  test("the exit status is the process's, 128+n for a signal", () => {
    const { id } = startSleeper();
    expect(run(["exec", id, "sh", "-c", "exit 7"])).toEqual({ exitCode: 7, stdout: "", stderr: "" });
    expect(run(["exec", id, "sh", "-c", "kill -9 $$"])).toEqual({ exitCode: 137, stdout: "", stderr: "" });
    expect(run(["exec", id, "true"])).toEqual({ ...ok, stdout: "" });
  });

  test("--detach --pid-file: returns while the process runs, its pid in the file, nothing of berth left", () => {
    const { id } = startSleeper();
    const pidFile = join(scratch, "exec.pid");
    expect(run(["exec", "--detach", "--pid-file", pidFile, id, "sleep", "100000"])).toEqual({ ...ok, stdout: "" });
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(alive(pid)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("sleep\u0000100000\u0000");
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(`/berth/${id}\n`);
    expect(processesMentioning(berthBin)).toEqual([]);
    // ps --format json lists it with the init
    expect(JSON.parse(run(["ps", "--format", "json", id]).stdout)).toContain(pid);
  });

  test("errors in runc's words and with runc's exit status 255: no such container, stopped, paused; process.json errors name the field", async () => {
    expect(run(["exec", "nope", "true"])).toEqual({ exitCode: 255, stdout: "", stderr: "berth: exec nope: container does not exist\n" });
    const { id } = startSleeper();
    const bad = processFile({ user: { uid: "root", gid: 0 }, args: ["true"], cwd: "/" });
    const r1 = run(["exec", "--process", bad, id]);
    expect(r1.exitCode).toBe(255);
    expect(r1.stderr).toContain("process.user.uid");
    const noArgs = processFile({ user: { uid: 0, gid: 0 }, cwd: "/" });
    expect(run(["exec", "--process", noArgs, id])).toMatchObject({ exitCode: 255, stderr: expect.stringContaining("process.args") });
    const missing = run(["exec", id, "/no/such/program"]);
    expect(missing.exitCode).toBe(255);
    expect(missing.stderr).toContain("process.args[0]");
    expect(missing.stderr).toContain("no such file or directory");
    expect(run(["exec", "--apparmor", "prof", id, "true"])).toEqual({
      exitCode: 255,
      stdout: "",
      stderr: `berth: exec ${id}: process.apparmorProfile "prof": AppArmor is not enabled on this host\n`,
    });
    expect(run(["exec", "--detach", "--tty", id, "true"]).stderr).toBe(
      `berth: exec ${id}: process.terminal true: cannot allocate a terminal if berth will detach without a console socket (--console-socket)\n`,
    );

    expect(run(["pause", id])).toEqual({ ...ok, stdout: "" });
    expect(run(["exec", id, "true"])).toEqual({
      exitCode: 255,
      stdout: "",
      stderr: `berth: exec ${id}: cannot exec in a paused container (use --ignore-paused to override)\n`,
    });
    expect(run(["resume", id])).toEqual({ ...ok, stdout: "" });

    // An unwritable --pid-file fails the exec, and the process it started is killed (as runc).
    const unwritable = join(scratch, "no/such/dir/exec.pid");
    expect(run(["exec", "--pid-file", unwritable, id, "sleep", "100001"])).toEqual({
      exitCode: 255,
      stdout: "",
      stderr: `berth: exec ${id}: --pid-file "${unwritable}": write: no such file or directory\n`,
    });
    expect(processesMentioning("sleep 100001")).toEqual([]);
    // A usage error is not an exec failure: 1, as runc's.
    expect(run(["exec", "--bogus", id, "true"]).exitCode).toBe(1);

    expect(run(["kill", id, "KILL"])).toEqual({ ...ok, stdout: "" });
    await until("the container to stop", () => JSON.parse(run(["state", id]).stdout).status === "stopped");
    expect(run(["exec", id, "true"])).toEqual({
      exitCode: 255,
      stdout: "",
      stderr: `berth: exec ${id}: cannot exec in a stopped container\n`,
    });
  });

  test("--ignore-paused: the process starts frozen and runs once the container resumes", async () => {
    const { id } = startSleeper();
    expect(run(["pause", id])).toEqual({ ...ok, stdout: "" });
    const out = join(scratch, "out");
    const fd = openSync(out, "w+");
    const child = spawn(berthBin, ["--root", b.root, "exec", "--ignore-paused", id, "echo", "thawed"], { stdio: ["ignore", fd, fd] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      // The new process joins the frozen cgroup: it shows up there, and says nothing yet.
      const unified = cgroupDirsFor(`/berth/${id}`)[0]!;
      await until(
        "the exec'd process in the cgroup",
        () => readFileSync(join(unified, "cgroup.procs"), "utf8").trim().split("\n").length >= 2,
      );
      expect(readFileSync(out, "utf8")).toBe("");
      expect(run(["resume", id])).toEqual({ ...ok, stdout: "" });
      expect(await exited).toBe(0);
      expect(readFileSync(out, "utf8")).toBe("thawed\n");
    } finally {
      closeSync(fd);
    }
  });

  test("--cgroup puts the process in an existing sub-cgroup of the container's", () => {
    const { id } = startSleeper();
    const subs = cgroupDirsFor(`/berth/${id}`).map((d) => join(d, "sub"));
    for (const d of subs) {
      mkdirSync(d);
      // A new v1 cpuset cgroup takes no process until it has cpus and mems.
      for (const f of ["cpuset.cpus", "cpuset.mems"])
        if (existsSync(join(d, f))) writeFileSync(join(d, f), readFileSync(join(d, "..", f), "utf8"));
    }
    try {
      const r = run(["exec", "--cgroup", "sub", id, "cat", "/proc/self/cgroup"]);
      expect(r).toMatchObject(ok);
      for (const line of r.stdout.trim().split("\n")) expect(line).toMatch(new RegExp(`:/berth/${id}/sub$`));
      expect(run(["exec", "--cgroup", "nosuch", id, "true"]).stderr).toContain('--cgroup "nosuch"');
    } finally {
      for (const d of subs) if (existsSync(d)) rmdirSync(d);
    }
  });

  test("the library's exec returns the status and takes a process object", async () => {
    const { id } = startSleeper();
    const lib = await import("../../src/index");
    const fd = openSync(join(scratch, "lib-out"), "w+");
    try {
      const r = await lib.exec(id, {
        root: b.root,
        process: { user: { uid: 0, gid: 0 }, cwd: "/", args: ["sh", "-c", "hostname; exit 3"] },
        stdio: [0, fd, fd],
      });
      expect(r.exitCode).toBe(3);
      expect(readFileSync(join(scratch, "lib-out"), "utf8")).toBe("exec-host\n");
    } finally {
      closeSync(fd);
    }
  });
});

describe("ps", () => {
  test("the header and only the container's processes; --format json the host pids", () => {
    const { id, pid } = startSleeper();
    const pidFile = join(scratch, "exec.pid");
    expect(run(["exec", "-d", "--pid-file", pidFile, id, "sleep", "99999"])).toMatchObject(ok);
    const execPid = Number(readFileSync(pidFile, "utf8"));
    const table = run(["ps", id]);
    expect(table).toMatchObject(ok);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^UID\s+PID\s+PPID/);
    expect(
      lines
        .slice(1)
        .map((l) => Number(l.trim().split(/\s+/)[1]))
        .sort(),
    ).toEqual([pid, execPid].sort());
    const custom = run(["ps", id, "-o", "pid,args"]);
    expect(
      custom.stdout
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.trim()),
    ).toEqual(expect.arrayContaining([`${pid} sleep 100000`, `${execPid} sleep 99999`]));
    expect(JSON.parse(run(["ps", "--format", "json", id]).stdout).sort()).toEqual([pid, execPid].sort());
    expect(run(["ps", "nope"])).toEqual({ exitCode: 1, stdout: "", stderr: "berth: ps nope: container does not exist\n" });
  });
});

describe("events", () => {
  test("--stats: runc's shape, pids.current, memory usage and the configured limit", () => {
    const { id } = startSleeper((c) => {
      c.linux.resources = { ...(c.linux.resources ?? {}), memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } };
    });
    expect(run(["exec", "-d", id, "sleep", "99999"])).toMatchObject(ok);
    const r = run(["events", "--stats", id]);
    expect(r).toMatchObject(ok);
    expect(r.stdout.endsWith("}\n")).toBe(true);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    const e = JSON.parse(r.stdout);
    expect(e).toMatchObject({ type: "stats", id });
    expect(Object.keys(e.data).sort()).toEqual(["blkio", "cpu", "hugetlb", "memory", "pids"]);
    expect(e.data.pids).toEqual({ current: 2, limit: 50 });
    expect(e.data.memory.usage.usage).toBeGreaterThan(0);
    expect(e.data.memory.usage.limit).toBe(64 * 1024 * 1024);
    expect(e.data.memory.usage).toHaveProperty("failcnt");
    expect(e.data.cpu.usage.total).toBeGreaterThan(0);
    expect(e.data.cpu.usage).toHaveProperty("kernel");
    expect(e.data.cpu.usage).toHaveProperty("user");
    expect(e.data.cpu).toHaveProperty("throttling");
    expect(e.data.memory).toHaveProperty("swap");
    expect(e.data.memory).toHaveProperty("kernel");
    expect(e.data.memory.raw).toHaveProperty("total_rss");
  });

  test("an OOM kill in the container's memory cgroup is an oom event", async () => {
    const { id } = startSleeper((c) => {
      c.linux.resources = { ...(c.linux.resources ?? {}), memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } };
    });
    const out = join(scratch, "events");
    const fd = openSync(out, "w+");
    const child = spawn(berthBin, ["--root", b.root, "events", "--interval", "50ms", id], { stdio: ["ignore", fd, fd] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await until("a first stats event", () => readFileSync(out, "utf8").includes('"type":"stats"'));
      // tail buffers a line that never ends: it grows until the OOM killer stops it.
      const hog = run(["exec", id, "sh", "-c", "head -c 200000000 /dev/zero | tail"]);
      expect(hog.exitCode).not.toBe(0);
      await until("the oom event", () => readFileSync(out, "utf8").includes(`{"type":"oom","id":"${id}"}`));
      // Under load the OOM killer has been seen to take the init too (a CI run): then the
      // container has stopped already and `kill` says so; either way events ends with it.
      const killed = run(["kill", id, "KILL"]);
      expect([0, 1]).toContain(killed.exitCode);
      if (killed.exitCode === 1) expect(killed.stderr).toBe(`berth: kill ${id}: container not running\n`);
      expect(await exited).toBe(0);
    } finally {
      closeSync(fd);
    }
  });

  test("a stopped container has no stats; streaming ends when the container stops", async () => {
    const { id } = startSleeper();
    const out = join(scratch, "events");
    const fd = openSync(out, "w+");
    const child = spawn(berthBin, ["--root", b.root, "events", "--interval", "50ms", id], { stdio: ["ignore", fd, fd] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await until("two stats events", () => readFileSync(out, "utf8").split("\n").filter(Boolean).length >= 2);
      expect(run(["kill", id, "KILL"])).toMatchObject(ok);
      expect(await exited).toBe(0);
      const events = readFileSync(out, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      for (const e of events) expect(e).toMatchObject({ type: "stats", id });
    } finally {
      closeSync(fd);
    }
    expect(run(["events", "--stats", id])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: events ${id}: container with id ${id} is not running\n`,
    });
    expect(run(["events", "--interval", "soon", id]).exitCode).toBe(1);
  });
});

describe("process.cwd and the user switch, HOME for the exec user (as runc)", () => {
  // /w: only uid 1000 may enter it; /r: only root (and the runtime before the switch). The
  // container's set has no CAP_DAC_OVERRIDE, so after the switch neither is root's to enter.
  const userDirs = (c: TestBundle["config"]) => {
    const passwd = join(scratch, "passwd");
    writeFileSync(passwd, "root:x:0:0:root:/root:/bin/sh\nu1000:x:1000:1000::/var/empty:/bin/sh\n");
    c.mounts.push({ destination: "/w", type: "tmpfs", source: "tmpfs", options: ["mode=0700", "uid=1000", "gid=1000"] });
    c.mounts.push({ destination: "/r", type: "tmpfs", source: "tmpfs", options: ["mode=0700"] });
    c.mounts.push({ destination: "/etc/passwd", type: "bind", source: passwd, options: ["bind", "ro"] });
    expect(c.process.capabilities.effective).not.toContain("CAP_DAC_OVERRIDE");
  };

  test("create: a cwd only the user may enter, and one only the runtime may enter, both work", () => {
    for (const cwd of ["/w", "/r"]) {
      b = makeBundle(["sh", "-c", "pwd; id -u"], (c) => {
        userDirs(c);
        c.process.user = { uid: 1000, gid: 1000 };
        c.process.cwd = cwd;
      });
      expect(run(["run", "-b", b.dir, uniq("cwd")])).toEqual({ ...ok, stdout: `${cwd}\n1000\n` });
      b.cleanup();
    }
  });

  test("exec --user/--cwd and exec -p: the same two directories; HOME from the container's passwd for the exec user unless the process sets it", () => {
    const { id } = startSleeper(userDirs);
    expect(run(["exec", "--user", "1000:1000", "--cwd", "/r", id, "sh", "-c", "pwd; echo $HOME"])).toEqual({
      ...ok,
      stdout: "/r\n/var/empty\n",
    });
    expect(run(["exec", "--user", "1000", "--cwd", "/w", id, "sh", "-c", "pwd; echo $HOME"])).toEqual({
      ...ok,
      stdout: "/w\n/var/empty\n",
    });
    expect(
      run(["exec", "-p", processFile({ args: ["sh", "-c", "pwd; echo $HOME"], cwd: "/r", user: { uid: 1000, gid: 1000 } }), id]),
    ).toEqual({ ...ok, stdout: "/r\n/var/empty\n" });
    expect(
      run([
        "exec",
        "-p",
        processFile({ args: ["sh", "-c", "echo $HOME"], cwd: "/", env: ["HOME=/x"], user: { uid: 1000, gid: 1000 } }),
        id,
      ]),
    ).toEqual({ ...ok, stdout: "/x\n" });
    expect(run(["exec", id, "sh", "-c", "echo $HOME"])).toEqual({ ...ok, stdout: "/root\n" });
  });
});
