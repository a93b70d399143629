/**
 * Conformance: what the container's process is given (config.md Process, POSIX process, Linux
 * process, User; runtime.md start), as our static probe observes it from inside.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { capsOf, clause, privateRootfs, probe, tryRun } from "./harness";

clause("runtime.md#start/runs-process", "args reach the program unchanged", () => {
  const p = probe(undefined, ["a b", "", "ü"]);
  expect(p.args).toEqual(["/conf-probe", "a b", "", "ü"]);
});

clause("runtime.md#start/runs-process", "args[0] is looked up in PATH like execvp", () => {
  const r = tryRun((c) => (c.process.env = ["PATH=/nowhere:/"]), ["conf-probe"]);
  expect(r.r.exitCode).toBe(0);
  expect(JSON.parse(r.r.stdout).args[0]).toBe("conf-probe");
});

clause("runtime.md#start/runs-process", "cwd is the working directory", () => {
  expect(probe((c) => (c.process.cwd = "/etc")).cwd).toBe("/etc");
});

clause("runtime.md#start/runs-process", "env is the environment, in order, nothing added", () => {
  const env = ["PATH=/bin", "A=1", "B=two words", "EMPTY="];
  // HOME is added when absent (as runc does): it is the one variable we allow besides env.
  expect(probe((c) => (c.process.env = env)).env.filter((e: string) => !e.startsWith("HOME="))).toEqual(env);
});

clause("runtime.md#start/runs-process", "user uid, gid and additionalGids", () => {
  const p = probe((c) => (c.process.user = { uid: 1234, gid: 2345, additionalGids: [5, 77] }));
  expect([p.uid, p.euid, p.gid, p.egid]).toEqual([1234, 1234, 2345, 2345]);
  expect([...p.groups].sort((a: number, b: number) => a - b)).toEqual([5, 77]);
});

clause("runtime.md#start/runs-process", "user.umask", () => {
  expect(probe((c) => (c.process.user.umask = 0o027)).umask).toBe(0o027);
});

clause("runtime.md#create/apply-properties", "capabilities: each of the five sets as configured", () => {
  const p = probe((c) => {
    c.process.capabilities = {
      bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"],
      permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
      effective: ["CAP_CHOWN", "CAP_KILL"],
      inheritable: ["CAP_KILL", "CAP_NET_RAW"],
      ambient: ["CAP_KILL"],
    };
  });
  expect(capsOf(p.status.CapBnd)).toEqual(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"]);
  expect(capsOf(p.status.CapPrm)).toEqual(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]);
  // For uid 0 execve makes the effective set the new permitted set (capabilities(7)).
  expect(capsOf(p.status.CapEff)).toEqual(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]);
  expect(capsOf(p.status.CapInh)).toEqual(["CAP_KILL", "CAP_NET_RAW"]);
  expect(capsOf(p.status.CapAmb)).toEqual(["CAP_KILL"]);
});

clause("runtime.md#create/apply-properties", "capabilities for a non-root user (kept across the uid change)", () => {
  const p = probe((c) => {
    c.process.user = { uid: 1000, gid: 1000 };
    // A non-root user keeps capabilities across execve only through the ambient set.
    c.process.capabilities = {
      bounding: ["CAP_CHOWN"],
      permitted: ["CAP_CHOWN"],
      effective: ["CAP_CHOWN"],
      inheritable: ["CAP_CHOWN"],
      ambient: ["CAP_CHOWN"],
    };
  });
  expect(capsOf(p.status.CapEff)).toEqual(["CAP_CHOWN"]);
  expect(capsOf(p.status.CapBnd)).toEqual(["CAP_CHOWN"]);
});

clause("runtime.md#create/apply-properties", "noNewPrivileges", () => {
  expect(probe((c) => (c.process.noNewPrivileges = true)).status.NoNewPrivs).toBe("1");
  expect(probe((c) => (c.process.noNewPrivileges = false)).status.NoNewPrivs).toBe("0");
});

clause("runtime.md#create/apply-properties", "hostname and domainname in the new UTS namespace", () => {
  const p = probe((c) => {
    c.hostname = "conf-host";
    c.domainname = "conf.example";
  });
  expect([p.hostname, p.domainname]).toEqual(["conf-host", "conf.example"]);
});

clause("runtime.md#create/apply-properties", "seccomp: the filter is loaded and an ERRNO rule holds", () => {
  const p = probe(
    (c) => {
      c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["sethostname"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }],
      };
    },
    ["r:/proc/self/status"],
  );
  expect(p.status.Seccomp).toBe("2");
  const b = tryRun(
    (c) => {
      c.process.capabilities = { bounding: ["CAP_SYS_ADMIN"], effective: ["CAP_SYS_ADMIN"], permitted: ["CAP_SYS_ADMIN"] };
      c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["sethostname"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }] };
    },
    ["hostname", "x"],
  );
  expect(b.r.exitCode).not.toBe(0);
  expect(b.r.stderr).toMatch(/not implemented|function not implemented/i);
});

clause("config-linux.md#seccomp/errno-unsupported", "SCMP_ACT_KILL with errnoRet", () => {
  const r = tryRun((c) => {
    c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["sethostname"], action: "SCMP_ACT_KILL", errnoRet: 1 }] };
  });
  expect(r.r.exitCode).not.toBe(0);
  expect(r.r.stderr).toMatch(/errno/i);
});

clause("config.md#posix-process/rlimits-values", "soft and hard of several types, raised and lowered", () => {
  const want = [
    { type: "RLIMIT_NOFILE", soft: 512, hard: 1000 },
    { type: "RLIMIT_CORE", soft: 0, hard: 4096 },
    { type: "RLIMIT_NPROC", soft: 300, hard: 400 },
    { type: "RLIMIT_MSGQUEUE", soft: 8192, hard: 16384 },
    { type: "RLIMIT_STACK", soft: 4 << 20, hard: 16 << 20 },
  ];
  const p = probe((c) => (c.process.rlimits = want));
  for (const l of want) expect([l.type, p.rlimits[l.type]]).toEqual([l.type, { soft: String(l.soft), hard: String(l.hard) }]);
});

clause("config.md#posix-process/rlimits-unknown", "RLIMIT_BOGUS", () => {
  const r = tryRun((c) => (c.process.rlimits = [{ type: "RLIMIT_BOGUS", soft: 1, hard: 1 }]));
  expect(r.r.exitCode).not.toBe(0);
  expect(r.r.stderr).toMatch(/rlimits/);
});

clause("config.md#posix-process/rlimits-duplicate", "RLIMIT_NOFILE twice", () => {
  const r = tryRun((c) => {
    c.process.rlimits = [
      { type: "RLIMIT_NOFILE", soft: 100, hard: 100 },
      { type: "RLIMIT_NOFILE", soft: 200, hard: 200 },
    ];
  });
  expect(r.r.exitCode).not.toBe(0);
  expect(r.r.stderr).toMatch(/rlimits/);
});

clause("config.md#linux-process/oom-score-adj-set", undefined, () => {
  expect(probe((c) => (c.process.oomScoreAdj = 123)).oomScoreAdj).toBe(123);
});

clause("config.md#linux-process/oom-score-adj-unset", "the process keeps the runtime's value", () => {
  const mine = Number(readFileSync("/proc/self/oom_score_adj", "utf8"));
  expect(probe((c) => delete c.process.oomScoreAdj).oomScoreAdj).toBe(mine);
});

clause("config.md#linux-process/capabilities-warning", "an unknown capability is a warning on stderr, not a failure", () => {
  const r = tryRun((c) => {
    c.process.capabilities = { bounding: ["CAP_CHOWN", "CAP_NOT_A_REAL_ONE"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"] };
  });
  expect(r.r.exitCode).toBe(0);
  expect(r.r.stderr).toMatch(/CAP_NOT_A_REAL_ONE/);
  expect(capsOf(JSON.parse(r.r.stdout).status.CapBnd)).toEqual(["CAP_CHOWN"]);
});

clause("config.md#process/console-size-ignored", "consoleSize with terminal false", () => {
  const r = tryRun((c) => {
    c.process.terminal = false;
    c.process.consoleSize = { height: 10, width: 20 };
  });
  expect(r.r.exitCode).toBe(0);
  expect(r.r.stderr).toBe("");
});

clause("config.md#process/cwd-absolute", "a relative cwd is refused", () => {
  const r = tryRun((c) => (c.process.cwd = "etc"));
  expect(r.r.exitCode).not.toBe(0);
  expect(r.r.stderr).toMatch(/process\.cwd/);
});

clause(
  "config-linux.md#seccomp/listener",
  "the agent gets one state on one SOCK_STREAM connection and the listener fd by SCM_RIGHTS",
  async () => {
    // The smallest agent (test/integration/fixtures/seccomp-agent.c): it accepts one connection,
    // reads the runtime's message to EOF with the fds that came with it, and answers each
    // notification with errno EXDEV (18).
    const dir = mkdtempSync(join(dirname(privateRootfs()), "agent-"));
    const agentBin = join(dir, "seccomp-agent");
    execFileSync("cc", ["-O2", "-o", agentBin, join(__dirname, "../integration/fixtures/seccomp-agent.c")], { stdio: "pipe" });
    const socket = join(dir, "agent.sock");
    const agent = spawn(agentBin, [socket, "errno", "18"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    agent.stderr!.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => agent.on("close", resolve));
    await new Promise<void>((resolve, reject) => {
      agent.stdout!.on("data", (d) => {
        out += d;
        if (out.startsWith("listening\n")) resolve();
      });
      agent.on("exit", () => reject(new Error(`agent exited: ${err}`)));
    });
    const r = tryRun(
      (c) => {
        c.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          listenerPath: socket,
          listenerMetadata: "conformance",
          syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
        };
      },
      ["sh", "-c", "mkdir /tmp/d 2>/dev/null; echo mkdir=$?"],
    );
    const code = await exited;
    expect({ exit: r.r.exitCode, stdout: r.r.stdout, agent: code, agentErr: err }).toEqual({
      exit: 0,
      stdout: "mkdir=1\n",
      agent: 0,
      agentErr: "",
    });
    const [, message, ...rest] = out.split("\n");
    // One state (a second one on the same connection would not parse as one JSON document).
    const state = JSON.parse(message!);
    expect(state).toMatchObject({
      ociVersion: "1.3.0",
      fds: ["seccompFd"],
      metadata: "conformance",
      state: { id: r.id, status: "creating", bundle: r.b.dir },
    });
    expect(rest[0]).toBe("fds 1");
    expect(rest.filter((l) => l.startsWith("notify ")).length).toBeGreaterThan(0);
    expect(rest.at(-2)).toBe("done");
  },
);
