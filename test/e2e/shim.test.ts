/**
 * containerd-shim-berth-v1 under a real containerd 1.6: the same ctr scenarios through
 * `--runtime io.containerd.berth.v1` (berth's shim, the library in-process) and through
 * `io.containerd.runc.v2` with runc, in one run, and the results must be the same and what is
 * expected. Afterwards nothing of berth's may be left: no shim process, no state, no cgroup, no
 * mount.
 *
 * containerd is our own instance (engines-env.ts: root, state and sockets under a scratch dir,
 * stopped by its pid), started with the checkout's bin/ first on its PATH, which is how it finds
 * containerd-shim-berth-v1. The shim keeps berth's state under /run/containerd/berth/<namespace>
 * (this run's namespace), removed here when empty.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { socketPath } from "../../src/shim/flags";
import { image, missingTools, repoRoot, restartContainerd, run, runcBin, setup, teardown, until, type Engines } from "./engines-env";

jest.setTimeout(90_000);

type Runtime = "runc" | "berth";
const runtimes: Runtime[] = ["runc", "berth"];
const shimBin = join(repoRoot, "bin/containerd-shim-berth-v1");

let env: Engines;
const ctrIds: string[] = [];

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("test/e2e needs root (containerd as root)");
  const missing = missingTools();
  if (!existsSync(shimBin)) missing.push(shimBin);
  if (missing.length) throw new Error(`missing ${missing.join(", ")}: run scripts/install-deps.sh and npm run build`);
  // containerd looks the shim up on its PATH: the checkout's bin/ first.
  env = await setup({ pathFirst: join(repoRoot, "bin") });
}, 180_000);

afterAll(async () => {
  if (!env) return;
  for (const id of ctrIds) {
    await ctr(["task", "delete", "-f", id]);
    await ctr(["container", "rm", id]);
  }
  for (const d of [join("/run/containerd/berth", env.tag), "/run/containerd/berth"]) {
    try {
      rmdirSync(d);
    } catch {
      /* absent, or not empty (another run's) */
    }
  }
  await teardown(env, [], []);
}, 180_000);

const ctr = (args: string[]) => run("ctr", ["--address", env.ctrAddress, "-n", env.tag, ...args]);
const runtimeFlags = (rt: Runtime) =>
  rt === "berth" ? ["--runtime", "io.containerd.berth.v1"] : ["--runtime", "io.containerd.runc.v2", "--runc-binary", runcBin];
const cid = (rt: Runtime, what: string) => {
  const id = `shim-${rt}-${what}`;
  ctrIds.push(id);
  return id;
};
const ctrRun = (rt: Runtime, id: string, flags: string[], cmd: string[]) =>
  ctr(["run", ...runtimeFlags(rt), "--fifo-dir", env.fifoDir, ...flags, image, id, ...cmd]);
const noTime = (s: string) => s.replace(/time="[^"]*" /g, "");
const taskStatus = async (id: string) =>
  (await ctr(["task", "ls"])).stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[0] === id)?.[2];
const serve = ["sh", "-c", 'trap "exit 0" TERM; sleep 1000 & wait'];
const detached = async (rt: Runtime, what: string, cmd = serve) => {
  const id = cid(rt, what);
  const r = await ctrRun(rt, id, ["-d"], cmd);
  if (r.code !== 0) throw new Error(`ctr run -d ${id}: ${r.stderr}`);
  return id;
};
const stopped = (id: string) => until(`${id} to stop`, async () => ((await taskStatus(id)) === "STOPPED" ? true : undefined));

/** Run `scenario` for runc.v2 and for berth's shim, and expect both to give `expected`. */
async function both<T>(scenario: (rt: Runtime) => Promise<T>, expected: T): Promise<void> {
  const seen = {} as Record<Runtime, T>;
  for (const rt of runtimes) seen[rt] = await scenario(rt);
  expect(seen).toEqual({ runc: expected, berth: expected });
}

/** Shim processes of berth serving this run's containerd (their command line names its socket). */
function berthShims(): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      // The server is Node running bin/berth-shim-entry.js (bin/containerd-shim-berth-v1 is sh).
      if (cmd.some((a) => a.endsWith("/berth-shim-entry.js")) && cmd.includes(env.ctrAddress)) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

describe("ctr through io.containerd.berth.v1 and io.containerd.runc.v2", () => {
  test("run --rm in the foreground: output and exit codes", () =>
    both(
      async (rt) => {
        const hi = await ctrRun(rt, cid(rt, "hi"), ["--rm"], ["echo", "hi"]);
        const ok = await ctrRun(rt, cid(rt, "fg"), ["--rm"], ["sh", "-c", "echo hello; echo to-stderr >&2"]);
        const seven = await ctrRun(rt, cid(rt, "fg7"), ["--rm"], ["sh", "-c", "exit 7"]);
        return { hi: [hi.code, hi.stdout], ok: [ok.code, ok.stdout, ok.stderr], seven: seven.code };
      },
      { hi: [0, "hi\n"], ok: [0, "hello\n", "to-stderr\n"], seven: 7 },
    ));

  test("a command that does not exist: create fails with the runtime's reason", () =>
    both(
      async (rt) => {
        const id = cid(rt, "nocmd");
        const r = await ctrRun(rt, id, ["--rm"], ["nosuchcmd"]);
        await ctr(["container", "rm", id]);
        return { code: r.code, text: /OCI runtime create failed: .*executable file not found in \$PATH.*: unknown/.test(r.stderr) };
      },
      { code: 1, text: true },
    ));

  test("run -d, task exec, task ps, kill (the trap exits 0), kill again, delete", () =>
    both(
      async (rt) => {
        const id = await detached(rt, "detached");
        const running = await taskStatus(id);
        const e = await ctr(["task", "exec", "--exec-id", "e1", "--fifo-dir", env.fifoDir, id, "sh", "-c", "echo in-exec; exit 6"]);
        const missing = await ctr(["task", "exec", "--exec-id", "e2", "--fifo-dir", env.fifoDir, id, "nosuch"]);
        const ps = await until("two processes in task ps", async () => {
          const r = await ctr(["task", "ps", id]);
          return r.stdout.trim().split("\n").length === 3 ? r : undefined;
        });
        const k = await ctr(["task", "kill", id]);
        await stopped(id);
        const again = await ctr(["task", "kill", id]);
        const d = await ctr(["task", "delete", id]);
        const c = await ctr(["container", "rm", id]);
        return {
          running,
          exec: [e.code, e.stdout],
          missing: [missing.code, /exec failed: .*executable file not found in \$PATH/.test(missing.stderr)],
          ps: [ps.code, ps.stdout.trim().split("\n").length - 1],
          kill: k.code,
          killStopped: [again.code, again.stderr.trim()],
          delete: [d.code, noTime(d.stderr)],
          rm: c.code,
        };
      },
      {
        running: "RUNNING",
        exec: [6, "in-exec\n"],
        missing: [1, true],
        ps: [0, 2],
        kill: 0,
        killStopped: [1, "ctr: process already finished: not found"],
        delete: [0, ""],
        rm: 0,
      },
    ));

  test("kill -s KILL: exit 137 shown at delete", () =>
    both(
      async (rt) => {
        const id = await detached(rt, "kill9", ["sleep", "1000"]);
        const k = await ctr(["task", "kill", "-s", "KILL", id]);
        await stopped(id);
        const d = await ctr(["task", "delete", id]);
        await ctr(["container", "rm", id]);
        return { kill: k.code, delete: [d.code, noTime(d.stderr).replace(id, "ID").trim()] };
      },
      { kill: 0, delete: [0, 'level=warning msg="task ID exit with non-zero exit code 137"'] },
    ));

  test("pause and resume: the status ctr shows, and an exec after the thaw", () =>
    both(
      async (rt) => {
        const id = await detached(rt, "pause");
        const p = await ctr(["task", "pause", id]);
        const paused = await taskStatus(id);
        const r = await ctr(["task", "resume", id]);
        const resumed = await taskStatus(id);
        const e = await ctr(["task", "exec", "--exec-id", "e1", "--fifo-dir", env.fifoDir, id, "echo", "thawed"]);
        await ctr(["task", "delete", "-f", id]);
        await ctr(["container", "rm", id]);
        return { pause: p.code, paused, resume: r.code, resumed, exec: e.stdout };
      },
      { pause: 0, paused: "PAUSED", resume: 0, resumed: "RUNNING", exec: "thawed\n" },
    ));

  test("task metrics: cgroup v1 metrics in containerd's type", () =>
    both(
      async (rt) => {
        const id = await detached(rt, "metrics");
        await until("sleep in the task", async () =>
          (await ctr(["task", "ps", id])).stdout.trim().split("\n").length === 3 ? true : undefined,
        );
        const m = await ctr(["task", "metrics", id]);
        const rows = new Map(
          m.stdout
            .split("\n")
            .map((l) => l.trim().split(/\s{2,}/))
            .filter((f) => f.length === 2)
            .map((f) => [f[0]!, f[1]!]),
        );
        await ctr(["task", "delete", "-f", id]);
        await ctr(["container", "rm", id]);
        return { code: m.code, names: [...rows.keys()].filter((k) => /^[a-z]+\.[a-z_.]+$/.test(k)).sort(), pids: rows.get("pids.current") };
      },
      {
        code: 0,
        names: [
          "cpuacct.usage",
          "cpuacct.usage_percpu",
          "memory.limit_in_bytes",
          "memory.stat.cache",
          "memory.usage_in_bytes",
          "pids.current",
          "pids.limit",
        ],
        pids: "2",
      },
    ));

  test("task delete -f of a running task", () =>
    both(
      async (rt) => {
        const id = await detached(rt, "delf", ["sleep", "1000"]);
        const d = await ctr(["task", "delete", "-f", id]);
        const after = await taskStatus(id);
        const c = await ctr(["container", "rm", id]);
        return { delete: d.code, after: after ?? "gone", rm: c.code };
      },
      { delete: 0, after: "gone", rm: 0 },
    ));
});

describe("more of what the CRI uses, on both", () => {
  test("--log-uri file:// and binary://: the output lands in the file, or goes through the log binary", () =>
    both(
      async (rt) => {
        const file = join(env.scratch, `${rt}-log.txt`);
        const f = await ctrRun(rt, cid(rt, "logfile"), ["--rm", "--log-uri", `file://${file}`], ["sh", "-c", "echo out; echo err >&2"]);
        // A log binary as the CRI's: stdout on fd 3, stderr on fd 4, ready when fd 5 is closed.
        const logger = join(env.scratch, "logger.sh");
        writeFileSync(logger, '#!/bin/sh\nexec 5>&-\ncat <&3 | sed "s/^/1 /" >> "$2" &\ncat <&4 | sed "s/^/2 /" >> "$2"\nwait\n', {
          mode: 0o755,
        });
        const via = join(env.scratch, `${rt}-log-binary.txt`);
        const b = await ctrRun(
          rt,
          cid(rt, "logbin"),
          ["--rm", "--log-uri", `binary://${logger}?path=${via}`],
          ["sh", "-c", "echo out; echo err >&2"],
        );
        const lines = await until("the log binary's lines", async () => {
          const text = existsSync(via) ? readFileSync(via, "utf8") : "";
          return text.split("\n").filter(Boolean).length === 2 ? text.split("\n").filter(Boolean).sort() : undefined;
        });
        return { file: [f.code, f.stdout, readFileSync(file, "utf8").split("\n").sort()], binary: [b.code, lines] };
      },
      { file: [0, "", ["", "err", "out"]], binary: [0, ["1 out", "2 err"]] },
    ));

  test("--memory-limit: the limit in task metrics", () =>
    both(
      async (rt) => {
        const id = cid(rt, "memlimit");
        const r = await ctrRun(rt, id, ["-d", "--memory-limit", String(64 * 1024 * 1024)], serve);
        const m = await ctr(["task", "metrics", id]);
        const limit = m.stdout
          .split("\n")
          .map((l) => l.trim().split(/\s{2,}/))
          .find((f) => f[0] === "memory.limit_in_bytes")?.[1];
        await ctr(["task", "delete", "-f", id]);
        await ctr(["container", "rm", id]);
        return { run: r.code, limit };
      },
      { run: 0, limit: String(64 * 1024 * 1024) },
    ));

  test("kill --all -s KILL: every process of the task, exit 137", () =>
    both(
      async (rt) => {
        const id = await detached(rt, "killall");
        await until("sleep in the task", async () =>
          (await ctr(["task", "ps", id])).stdout.trim().split("\n").length === 3 ? true : undefined,
        );
        const k = await ctr(["task", "kill", "--all", "-s", "KILL", id]);
        await stopped(id);
        const d = await ctr(["task", "delete", id]);
        await ctr(["container", "rm", id]);
        return { kill: k.code, delete: [d.code, noTime(d.stderr).replace(id, "ID").trim()] };
      },
      { kill: 0, delete: [0, 'level=warning msg="task ID exit with non-zero exit code 137"'] },
    ));
});

describe("stdin", () => {
  test("task exec with stdin: the data, then EOF (on both)", () =>
    both(
      async (rt) => {
        const id = await detached(rt, "stdin-exec");
        const e = await run(
          "ctr",
          [
            "--address",
            env.ctrAddress,
            "-n",
            env.tag,
            "task",
            "exec",
            "--exec-id",
            "in",
            "--fifo-dir",
            env.fifoDir,
            id,
            "sh",
            "-c",
            "cat; echo exec-done",
          ],
          { input: "to-exec\n", timeoutMs: 20_000 },
        );
        await ctr(["task", "delete", "-f", id]);
        await ctr(["container", "rm", id]);
        return [e.code, e.stdout];
      },
      [0, "to-exec\nexec-done\n"],
    ));

  // containerd 1.6's ctr run with runc.v2 leaves the task's stdin open after ctr's stdin ends (the
  // same cat waits until killed), so this one is berth's alone.
  test("ctr run with stdin: the data, then EOF", async () => {
    const r = await run(
      "ctr",
      [
        "--address",
        env.ctrAddress,
        "-n",
        env.tag,
        "run",
        ...runtimeFlags("berth"),
        "--fifo-dir",
        env.fifoDir,
        "--rm",
        image,
        cid("berth", "stdin-run"),
        "sh",
        "-c",
        "cat; echo done",
      ],
      { input: "hello\nworld\n", timeoutMs: 20_000 },
    );
    expect([r.code, r.stdout]).toEqual([0, "hello\nworld\ndone\n"]);
  });
});

/**
 * ctr's own terminal is a pty driven from here (test/integration/fixtures/pty-drive.py): ctr
 * puts it in raw mode, copies it to the task's terminal, and sizes the task's terminal from it
 * (ResizePty) right after Start, so the commands wait a moment before `stty size`.
 */
const ptyDrive = join(repoRoot, "test/integration/fixtures/pty-drive.py");
async function onTerminal(
  args: string[],
  opts: { rows: number; cols: number; waitFor?: string; send?: string; resizeTo?: [number, number] },
) {
  const cfg = {
    argv: ["ctr", "--address", env.ctrAddress, "-n", env.tag, ...args],
    rows: opts.rows,
    cols: opts.cols,
    timeout: 30,
    ...(opts.waitFor ? { waitFor: opts.waitFor } : {}),
    ...(opts.send ? { send: opts.send } : {}),
    ...(opts.resizeTo ? { resizeTo: opts.resizeTo } : {}),
  };
  const r = await run("python3", [ptyDrive, JSON.stringify(cfg)], { timeoutMs: 40_000 });
  if (r.code !== 0) throw new Error(`pty-drive: ${r.stderr}`);
  const o = JSON.parse(r.stdout) as { output: string; exitCode: number; timedOut: boolean };
  // Line ends: the task's terminal turns \n into \r\n, and ctr's (this pty) may do it once more
  // (its raw mode comes and goes around the copy), so they are compared as \n.
  return { code: o.exitCode, timedOut: o.timedOut, output: o.output.replace(/\r+\n/g, "\n") };
}

describe("terminals, on both", () => {
  test("ctr run -t: a tty, its size from ctr's terminal, the exit code", () =>
    both(
      async (rt) => {
        const r = await onTerminal(
          [
            "run",
            ...runtimeFlags(rt),
            "--fifo-dir",
            env.fifoDir,
            "-t",
            "--rm",
            image,
            cid(rt, "tty-run"),
            "sh",
            "-c",
            "tty; sleep 1; stty size; exit 5",
          ],
          { rows: 33, cols: 101 },
        );
        // Typed input reaches the task through its terminal (echoed by it, then read by the shell).
        const typed = await onTerminal(
          [
            "run",
            ...runtimeFlags(rt),
            "--fifo-dir",
            env.fifoDir,
            "-t",
            "--rm",
            image,
            cid(rt, "tty-in"),
            "sh",
            "-c",
            'echo ready; read x; echo "got $x"; exit 3',
          ],
          { rows: 24, cols: 80, waitFor: "ready", send: "abc\r" },
        );
        return { run: r, typed };
      },
      {
        run: { code: 5, timedOut: false, output: "/dev/pts/0\n33 101\n" },
        typed: { code: 3, timedOut: false, output: "ready\nabc\ngot abc\n" },
      },
    ));

  test("ctr task exec -t into a running task, and a resize while it runs", () =>
    both(
      async (rt) => {
        const id = await detached(rt, "tty-exec");
        const e = await onTerminal(
          ["task", "exec", "--exec-id", "t1", "--fifo-dir", env.fifoDir, "-t", id, "sh", "-c", "tty; sleep 1; stty size; exit 4"],
          { rows: 20, cols: 70 },
        );
        // SIGWINCH on ctr's terminal: ctr sends the new size (ResizePty), the shell inside sees it. The
        // trap is set after ctr's first ResizePty (right after Start), which is a SIGWINCH too.
        const w = await onTerminal(
          [
            "task",
            "exec",
            "--exec-id",
            "t2",
            "--fifo-dir",
            env.fifoDir,
            "-t",
            id,
            "sh",
            "-c",
            'sleep 1; trap "stty size; exit 2" WINCH; echo ready; sleep 5 & wait',
          ],
          { rows: 20, cols: 70, waitFor: "ready", resizeTo: [44, 132] },
        );
        await ctr(["task", "delete", "-f", id]);
        await ctr(["container", "rm", id]);
        return { exec: e, resized: w };
      },
      {
        exec: { code: 4, timedOut: false, output: "/dev/pts/0\n20 70\n" },
        resized: { code: 2, timedOut: false, output: "ready\n44 132\n" },
      },
    ));
});

describe("terminals: containerd's stdin", () => {
  // ctr run -d -t: ctr's end of the stdin fifo closes as ctr exits, and the task's shell still
  // waits for input on its terminal (on both: the shim holds the fifo open). Then CloseIO:
  // berth's shim sends ^D, which the shell reads as EOF (runc.v2 closes the terminal instead).
  test("a client that goes away is no EOF; CloseIO is (berth: ^D)", async () => {
    const { ttrpcCall } = await import("../../src/shim/ttrpc");
    const { encode } = await import("../../src/shim/proto");
    await both(
      async (rt) => {
        const id = cid(rt, "tty-eof");
        const r = await onTerminal(
          ["run", ...runtimeFlags(rt), "--fifo-dir", env.fifoDir, "-d", "-t", image, id, "sh", "-c", "read x || exit 9; exit 0"],
          { rows: 24, cols: 80 },
        );
        await new Promise((res) => setTimeout(res, 1000));
        const after = await taskStatus(id);
        if (rt === "berth") {
          const bundle = join(env.scratch, "containerd/state/io.containerd.runtime.v2.task", env.tag, id);
          const socket = readFileSync(join(bundle, "address"), "utf8").replace(/^unix:\/\//, "");
          await ttrpcCall(socket, "containerd.task.v2.Task", "CloseIO", encode("containerd.task.v2.CloseIORequest", { id, stdin: true }));
          await stopped(id);
          const d = await ctr(["task", "delete", id]);
          expect([d.code, noTime(d.stderr).replace(id, "ID").trim()]).toEqual([
            0,
            'level=warning msg="task ID exit with non-zero exit code 9"',
          ]);
        } else {
          await ctr(["task", "delete", "-f", id]);
        }
        await ctr(["container", "rm", id]);
        return { run: [r.code, r.timedOut], after };
      },
      { run: [0, false], after: "RUNNING" },
    );
  });
});

describe("OOM, on both", () => {
  test("a task over its memory limit: killed (137), and containerd gets TaskOOM before TaskExit", async () => {
    const log = join(env.scratch, "oom-events.out");
    const out = openSync(log, "w");
    const watcher = spawn("ctr", ["--address", env.ctrAddress, "-n", env.tag, "events"], { stdio: ["ignore", out, out] });
    closeSync(out);
    try {
      await new Promise((r) => setTimeout(r, 300));
      await both(
        async (rt) => {
          const id = cid(rt, "oom");
          const r = await ctrRun(
            rt,
            id,
            ["--rm", "--memory-limit", String(16 * 1024 * 1024)],
            ["sh", "-c", 'x=$(head -c 100000000 /dev/zero | tr "\\000" a); echo survived'],
          );
          const topics = await until("the task's delete event", async () => {
            const seen = readFileSync(log, "utf8")
              .split("\n")
              .filter((l) => l.includes(`"container_id":"${id}"`))
              .map((l) => /\/tasks\/[a-z-]+/.exec(l)?.[0]);
            return seen.includes("/tasks/delete") ? seen : undefined;
          });
          return {
            code: r.code,
            stdout: r.stdout,
            oomBeforeExit: topics.indexOf("/tasks/oom") >= 0 && topics.indexOf("/tasks/oom") < topics.indexOf("/tasks/exit"),
          };
        },
        { code: 137, stdout: "", oomBeforeExit: true },
      );
    } finally {
      if (watcher.pid) process.kill(watcher.pid, "SIGTERM");
    }
  });
});

describe("berth's shim only", () => {
  test("events reach containerd (Events.Forward on its ttrpc socket): create, start, exec added/started, paused, resumed, exit, delete", async () => {
    const log = join(env.scratch, "events.out");
    const out = openSync(log, "w");
    const watcher = spawn("ctr", ["--address", env.ctrAddress, "-n", env.tag, "events"], { stdio: ["ignore", out, out] });
    closeSync(out);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const id = await detached("berth", "events");
      await ctr(["task", "exec", "--exec-id", "x1", "--fifo-dir", env.fifoDir, id, "true"]);
      await ctr(["task", "pause", id]);
      await ctr(["task", "resume", id]);
      await ctr(["task", "kill", id]);
      await stopped(id);
      await ctr(["task", "delete", id]);
      await ctr(["container", "rm", id]);
      const want = [
        "/tasks/create",
        "/tasks/start",
        "/tasks/exec-added",
        "/tasks/exec-started",
        "/tasks/paused",
        "/tasks/resumed",
        "/tasks/exit",
        "/tasks/delete",
      ];
      const topics = await until("the events", async () => {
        const seen = readFileSync(log, "utf8")
          .split("\n")
          .filter((l) => l.includes(id) && l.includes("/tasks/"))
          .map((l) => /\/tasks\/[a-z-]+/.exec(l)![0]);
        return want.every((t) => seen.includes(t)) ? seen : undefined;
      });
      // Ordered as they happened (the exec's exit comes before the init's; an exec's delete is no event).
      expect(topics.filter((t) => t !== "/tasks/exit")).toEqual(want.filter((t) => t !== "/tasks/exit"));
      expect(topics.filter((t) => t === "/tasks/exit")).toHaveLength(2);
    } finally {
      if (watcher.pid) process.kill(watcher.pid, "SIGTERM");
    }
  });

  test("an unknown method gets a ttrpc error status and the shim keeps serving", async () => {
    const id = await detached("berth", "unknown");
    const { ttrpcCall } = await import("../../src/shim/ttrpc");
    const { encode } = await import("../../src/shim/proto");
    const bundle = join(env.scratch, "containerd/state/io.containerd.runtime.v2.task", env.tag, id);
    const socket = readFileSync(join(bundle, "address"), "utf8").replace(/^unix:\/\//, "");
    await expect(ttrpcCall(socket, "containerd.task.v2.Task", "NoSuchMethod", Buffer.alloc(0))).rejects.toMatchObject({ code: 12 });
    await expect(
      ttrpcCall(socket, "containerd.task.v2.Task", "Checkpoint", encode("containerd.task.v2.CheckpointTaskRequest", { id })),
    ).rejects.toMatchObject({ code: 12, message: expect.stringMatching(/not implemented/) });
    expect(await taskStatus(id)).toBe("RUNNING");
    await ctr(["task", "delete", "-f", id]);
    await ctr(["container", "rm", id]);
  });

  test("containerd restarts: it reconnects to the running shim (the bundle's address file); exec, kill, wait and delete work", async () => {
    const id = await detached("berth", "restart", ["sh", "-c", 'trap "exit 3" TERM; sleep 1000 & wait']);
    const shims = berthShims();
    await restartContainerd(env);
    expect(berthShims()).toEqual(shims);
    expect(await taskStatus(id)).toBe("RUNNING");
    const e = await ctr(["task", "exec", "--exec-id", "x", "--fifo-dir", env.fifoDir, id, "echo", "after-restart"]);
    const k = await ctr(["task", "kill", id]);
    await stopped(id);
    const d = await ctr(["task", "delete", id]);
    const c = await ctr(["container", "rm", id]);
    expect({ exec: [e.code, e.stdout], kill: k.code, delete: [d.code, noTime(d.stderr).replace(id, "ID").trim()], rm: c.code }).toEqual({
      exec: [0, "after-restart\n"],
      kill: 0,
      delete: [0, 'level=warning msg="task ID exit with non-zero exit code 3"'],
      rm: 0,
    });
  });

  test("a killed shim: containerd cleans up through `delete`, and nothing is left", async () => {
    const id = await detached("berth", "shimkill", ["sleep", "1000"]);
    const shims = berthShims();
    expect(shims).toHaveLength(1);
    process.kill(shims[0]!, "SIGKILL");
    await until("the shim to go", async () => (berthShims().length === 0 ? true : undefined));
    // containerd notices the disconnect, runs `containerd-shim-berth-v1 ... delete`, and the task is gone.
    await until("containerd to drop the task", async () => ((await taskStatus(id)) === undefined ? true : undefined), 20_000);
    const c = await ctr(["container", "rm", id]);
    expect(c.code).toBe(0);
    await until("berth's state of the task to go", async () =>
      readdirSync(join("/run/containerd/berth", env.tag)).includes(id) ? undefined : true,
    );
  });

  test("20 containers of one pod (io.kubernetes.cri.sandbox-id) share one shim, which exits after the last", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const id = cid("berth", `pod-${i}`);
      const r = await ctrRun("berth", id, ["-d", "--annotation", "io.kubernetes.cri.sandbox-id=pod-a"], ["sleep", "1000"]);
      expect(r.code).toBe(0);
      ids.push(id);
    }
    const shims = berthShims();
    expect(shims).toHaveLength(1);
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${shims[0]}/status`, "utf8"))![1]);
    console.log(`one berth shim for 20 running containers of a pod: RSS ${(rssKiB / 1024).toFixed(1)} MiB`);
    expect(new Set(await Promise.all(ids.map((id) => taskStatus(id))))).toEqual(new Set(["RUNNING"]));
    for (const id of ids) {
      expect((await ctr(["task", "delete", "-f", id])).code).toBe(0);
      expect((await ctr(["container", "rm", id])).code).toBe(0);
      // The pod's shim serves the others until the last is deleted.
      if (id !== ids[ids.length - 1]) expect(berthShims()).toEqual(shims);
    }
    await until("the pod's shim to exit", async () => (berthShims().length === 0 ? true : undefined));
  });

  test("nothing of berth's is left: no shim, no state, no cgroup, no mount", async () => {
    await until("the shims to exit", async () => (berthShims().length === 0 ? true : undefined));
    const stateDir = join("/run/containerd/berth", env.tag);
    expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
    const cgroups: string[] = [];
    for (const h of readdirSync("/sys/fs/cgroup")) {
      const dir = join("/sys/fs/cgroup", h, env.tag);
      if (existsSync(dir) && statSync(dir).isDirectory())
        cgroups.push(
          ...readdirSync(dir, { withFileTypes: true })
            .filter((e) => e.isDirectory() && e.name.startsWith("shim-berth-"))
            .map((e) => `${h}/${e.name}`),
        );
    }
    expect(cgroups).toEqual([]);
    // No socket of a berth shim of this run (a SIGKILLed one's is removed by `delete`).
    const sockets = ctrIds.filter((id) => id.startsWith("shim-berth-")).map((id) => socketPath(env.ctrAddress, env.tag, id));
    expect(sockets.concat(socketPath(env.ctrAddress, env.tag, "pod-a")).filter((p) => existsSync(p) || existsSync(`${p}.pid`))).toEqual([]);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[4])
      .filter((m) => m?.includes("shim-berth-"));
    expect(mounts).toEqual([]);
  });
});

describe("timing (reported, not asserted)", () => {
  test("ctr run --rm true: berth's shim beside runc.v2 + runc", async () => {
    const times: Record<Runtime, number[]> = { runc: [], berth: [] };
    for (let i = 0; i < 5; i++) {
      for (const rt of runtimes) {
        const id = cid(rt, `time${i}`);
        const t0 = process.hrtime.bigint();
        const r = await ctrRun(rt, id, ["--rm"], ["true"]);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        expect(r.code).toBe(0);
        times[rt].push(ms);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `ctr run --rm true, 5 runs each (ms): runc.v2+runc ${times.runc.map((t) => t.toFixed(0)).join(" ")} (median ${median(times.runc).toFixed(0)}); berth.v1 ${times.berth.map((t) => t.toFixed(0)).join(" ")} (median ${median(times.berth).toFixed(0)})`,
    );
  });
});
