/**
 * berth under real engines: podman 4.3 (through conmon) and containerd 1.6 (ctr, through the
 * io.containerd.runc.v2 shim). Every scenario runs against runc and against berth in the same
 * run, and what the user sees (exit codes, output, the status the engine reports) must be the
 * same, and what is expected (so that two runtimes equally wrong still fail).
 *
 * Setup and cleanup: engines-env.ts (private podman config and storage, a hand-run containerd on
 * private sockets, all under one scratch dir). Nothing is installed at test time: run
 * scripts/install-deps.sh first (CI does).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berthBin, image, missingTools, repoRoot, run, runcBin, setup, teardown, until, type Engines } from "./engines-env";

jest.setTimeout(60_000);

type Runtime = "berth" | "runc";
const runtimes: Runtime[] = ["runc", "berth"];
const binary: Record<Runtime, string> = { berth: berthBin, runc: runcBin };

let env: Engines;
const podmanNames: string[] = [];
const ctrIds: string[] = [];

/**
 * Terminals: berth's create refuses --console-socket until it supports it. Asked once, before
 * anything is registered, so the tty scenarios are reported as skipped with the reason.
 */
const terminalsUnsupported = (() => {
  const root = mkdtempSync(join(tmpdir(), "berth-e2e-probe-"));
  try {
    const r = spawnSync(
      berthBin,
      ["--root", root, "create", "--console-socket", join(root, "none.sock"), "--bundle", join(root, "none"), "probe"],
      { encoding: "utf8" },
    );
    return /terminals are not supported/.test(r.stderr ?? "");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
})();
const ttyTest = terminalsUnsupported ? test.skip : test;
const ttySkipReason = terminalsUnsupported ? " [skipped: berth reports terminals unsupported (--console-socket)]" : "";

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("test/e2e needs root (podman and containerd as root)");
  const missing = missingTools();
  if (missing.length) throw new Error(`missing ${missing.join(", ")}: run scripts/install-deps.sh and npm run build`);
  env = await setup();
}, 120_000);

afterAll(async () => {
  if (env) await teardown(env, podmanNames, ctrIds);
}, 120_000);

/** Run `scenario` for runc and for berth, and expect both to give `expected`. */
async function both<T>(scenario: (rt: Runtime) => Promise<T>, expected: T): Promise<void> {
  const seen = {} as Record<Runtime, T>;
  for (const rt of runtimes) seen[rt] = await scenario(rt);
  expect(seen).toEqual({ runc: expected, berth: expected });
}

// ---------------------------------------------------------------------------------------------
// podman
// ---------------------------------------------------------------------------------------------

const podman = (args: string[], opts: { timeoutMs?: number } = {}) => run("podman", args, { env: env.podmanEnv, ...opts });
/** Lines podman writes on stderr with a timestamp (warnings), without it. */
const noTime = (s: string) => s.replace(/time="[^"]*" /g, "").replace(/\r/g, "");
/** A name of ours, recorded for the cleanup. */
const name = (rt: Runtime, what: string) => {
  const n = `e2e-${rt}-${what}`;
  podmanNames.push(n);
  return n;
};
/** podman run, in this run's private cgroup parent. */
const prun = (rt: Runtime, args: string[]) => podman(["run", "--runtime", rt, "--cgroup-parent", `/${env.tag}`, ...args]);
const status = async (n: string) => (await podman(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", n])).stdout.trim();
/** A long-running container that exits 0 on SIGTERM (a shell as pid 1 ignores it otherwise). */
const serve = ["sh", "-c", 'echo out; echo err >&2; trap "exit 0" TERM; sleep 1000 & wait'];
const detached = async (rt: Runtime, what: string, cmd = serve) => {
  const n = name(rt, what);
  const r = await prun(rt, ["-d", "--name", n, image, ...cmd]);
  if (r.code !== 0) throw new Error(`podman run -d ${n}: ${r.stderr}`);
  return n;
};

describe("podman", () => {
  test("run in the foreground: output and exit code 0", () =>
    both(
      async (rt) => {
        const r = await prun(rt, ["--rm", image, "sh", "-c", "echo hello; echo to-stderr >&2"]);
        return { code: r.code, stdout: r.stdout, stderr: noTime(r.stderr) };
      },
      { code: 0, stdout: "hello\n", stderr: "to-stderr\n" },
    ));

  test("a container that exits non-zero: its code reaches podman", () =>
    both(async (rt) => (await prun(rt, ["--rm", image, "sh", "-c", "exit 7"])).code, 7));

  test("a command that does not exist in the image: 127 and podman's not-found text (from berth's --log json error), neither the runtime's name nor the reason said twice", () =>
    both(
      async (rt) => {
        const r = await prun(rt, ["--rm", image, "/no/such/cmd"]);
        return {
          code: r.code,
          stdout: r.stdout,
          notFound: /OCI runtime attempted to invoke a command that was not found/.test(r.stderr),
          exitCode127: /no such file or directory|executable file not found/.test(r.stderr),
          // "Error: berth: berth: create ...: no such file or directory: no such file or directory" before issue 18.
          repeated: /\b(\w+): \1:|(no such file or directory): \2/.test(r.stderr),
        };
      },
      { code: 127, stdout: "", notFound: true, exitCode127: true, repeated: false },
    ));

  test("a command not in $PATH: 127, and nothing else printed (no delete --force complaint)", () =>
    both(
      async (rt) => {
        const r = await prun(rt, ["--rm", image, "nosuchcmd"]);
        const lines = noTime(r.stderr).trim().split("\n");
        return { code: r.code, lines: lines.length, text: /executable file not found in \$PATH/.test(r.stderr) };
      },
      { code: 127, lines: 1, text: true },
    ));

  test("run -d, then logs (stdout and stderr)", () =>
    both(
      async (rt) => {
        const n = await detached(rt, "logs");
        const logs = await until("both log lines", async () => {
          const r = await podman(["logs", n]);
          return r.stdout.includes("out") && r.stderr.includes("err") ? r : undefined;
        });
        return { stdout: logs.stdout, stderr: logs.stderr, status: await status(n) };
      },
      { stdout: "out\n", stderr: "err\n", status: "running 0" },
    ));

  test("exec: output, exit code, and a missing command (127)", () =>
    both(
      async (rt) => {
        const n = await detached(rt, "exec");
        const hi = await podman(["exec", n, "sh", "-c", "echo in-exec; echo $container"]);
        const four = await podman(["exec", n, "sh", "-c", "exit 4"]);
        const missing = await podman(["exec", n, "nosuch"]);
        return { hi: [hi.code, hi.stdout], four: four.code, missing: missing.code };
      },
      { hi: [0, "in-exec\npodman\n"], four: 4, missing: 127 },
    ));

  test("ps and top", () =>
    both(
      async (rt) => {
        const n = await detached(rt, "top");
        const ps = await podman(["ps", "--filter", `name=^${n}$`, "--format", "{{.Names}} {{.Status}}"]);
        // Wait for the shell's child: the container has just been started.
        const top = await until("sleep in top", async () => {
          const r = await podman(["top", n, "pid", "args"]);
          return r.stdout.includes("sleep 1000") ? r : undefined;
        });
        const rows = top.stdout
          .trim()
          .split("\n")
          .slice(1)
          .map((l) => l.trim().split(/\s+/));
        return {
          ps: ps.stdout
            .trim()
            .replace(n, "NAME")
            .replace(/^(NAME Up) .*/, "$1"),
          top: top.code,
          pid1: rows
            .find((r) => r[0] === "1")
            ?.slice(1)
            .join(" "),
          commands: rows.map((r) => r[1]).sort(),
        };
      },
      { ps: "NAME Up", top: 0, pid1: 'sh -c echo out; echo err >&2; trap "exit 0" TERM; sleep 1000 & wait', commands: ["sh", "sleep"] },
    ));

  test("pause and unpause", () =>
    both(
      async (rt) => {
        const n = await detached(rt, "pause");
        const p = await podman(["pause", n]);
        const paused = await status(n);
        const u = await podman(["unpause", n]);
        const after = await podman(["exec", n, "echo", "thawed"]);
        return { pause: p.code, paused, unpause: u.code, running: await status(n), exec: after.stdout };
      },
      { pause: 0, paused: "paused 0", unpause: 0, running: "running 0", exec: "thawed\n" },
    ));

  test("update --memory: the limit the container sees", () =>
    both(
      async (rt) => {
        const n = await detached(rt, "update");
        const u = await podman(["update", "--memory", "64m", n]);
        if (u.code !== 0 && /unknown command|unrecognized command/.test(u.stderr)) return "podman has no update";
        const seen = await podman(["exec", n, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]);
        return { update: u.code, limit: seen.stdout.trim() };
      },
      { update: 0, limit: String(64 * 1024 * 1024) },
    ));

  test("stop: SIGTERM first (the container's trap exits 0), and SIGKILL after the timeout (137)", () =>
    both(
      async (rt) => {
        const trapping = await detached(rt, "stop-term");
        const t = await podman(["stop", "-t", "10", trapping]);
        const deaf = await detached(rt, "stop-kill", ["sleep", "1000"]); // pid 1 without a handler: TERM is ignored
        const started = Date.now();
        const k = await podman(["stop", "-t", "1", deaf]);
        return {
          term: [t.code, await status(trapping)],
          kill: [k.code, await status(deaf), /resorting to SIGKILL/.test(k.stderr), Date.now() - started >= 1000],
        };
      },
      { term: [0, "exited 0"], kill: [0, "exited 137", true, true] },
    ));

  test("kill (SIGKILL by default) and kill -s HUP", () =>
    both(
      async (rt) => {
        const n = await detached(rt, "kill", ["sh", "-c", 'trap "exit 9" HUP; sleep 1000 & wait']);
        const hup = await podman(["kill", "-s", "HUP", n]);
        const w = await podman(["wait", n]);
        const m = await detached(rt, "kill9", ["sleep", "1000"]);
        const k = await podman(["kill", m]);
        const w9 = await podman(["wait", m]);
        return { hup: [hup.code, w.stdout.trim()], kill: [k.code, w9.stdout.trim(), await status(m)] };
      },
      { hup: [0, "9"], kill: [0, "137", "exited 137"] },
    ));

  test("restart: stop, a fresh create and start; the container runs again", () =>
    both(
      async (rt) => {
        const n = await detached(rt, "restart");
        const r = await podman(["restart", "-t", "5", n]);
        const logs = await until("the second start's output", async () => {
          const l = await podman(["logs", n]);
          return l.stdout === "out\nout\n" ? l.stdout : undefined;
        });
        const e = await podman(["exec", n, "echo", "again"]);
        return { restart: r.code, status: await status(n), logs, exec: e.stdout };
      },
      { restart: 0, status: "running 0", logs: "out\nout\n", exec: "again\n" },
    ));

  test("rm of a running container is refused (2); rm -f removes it", () =>
    both(
      async (rt) => {
        const n = await detached(rt, "rm");
        const rm = await podman(["rm", n]);
        const rmf = await podman(["rm", "-f", "-t", "5", n]);
        const exists = await podman(["container", "exists", n]);
        return { rm: [rm.code, /cannot remove container .* as it is running/.test(rm.stderr)], rmf: rmf.code, exists: exists.code };
      },
      { rm: [2, true], rmf: 0, exists: 1 },
    ));

  test("run --rm: the container is gone afterwards", () =>
    both(
      async (rt) => {
        const n = name(rt, "rmflag");
        const r = await prun(rt, ["--rm", "--name", n, image, "echo", "bye"]);
        const exists = await podman(["container", "exists", n]);
        return { code: r.code, stdout: r.stdout, exists: exists.code };
      },
      { code: 0, stdout: "bye\n", exists: 1 },
    ));

  /** Run a podman command under a pseudo-terminal (script(1)): -t needs one on the user's side. */
  const underTty = (args: string[]) =>
    run("script", ["-qec", ["podman", ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" "), "/dev/null"], { env: env.podmanEnv });

  // Whether stdin and stdout are terminals is reported through the exit status, which podman
  // always carries back. The text a short-lived -t container writes is not: conmon can lose the
  // last output of a process that exits at once (seen with runc as the runtime in CI), so the
  // echo is not what the test relies on. `-i` without `-t` is the control: no terminal, status 3.
  const ttyProbe = ["sh", "-c", "test -t 0 && test -t 1 && exit 0; exit 3"];
  ttyTest(`run -it: a terminal inside; run -i: none${ttySkipReason}`, () =>
    both(
      async (rt) => {
        const it = await underTty(["run", "--runtime", rt, "--cgroup-parent", `/${env.tag}`, "-it", "--rm", image, ...ttyProbe]);
        const i = await underTty(["run", "--runtime", rt, "--cgroup-parent", `/${env.tag}`, "-i", "--rm", image, ...ttyProbe]);
        return { it: it.code, i: i.code };
      },
      { it: 0, i: 3 },
    ),
  );

  ttyTest(`exec -it: a terminal inside; exec -i: none${ttySkipReason}`, () =>
    both(
      async (rt) => {
        const n = await detached(rt, "exec-it");
        const it = await underTty(["exec", "-it", n, ...ttyProbe]);
        const i = await underTty(["exec", "-i", n, ...ttyProbe]);
        return { it: it.code, i: i.code };
      },
      { it: 0, i: 3 },
    ),
  );
});

// ---------------------------------------------------------------------------------------------
// containerd (ctr --runc-binary)
// ---------------------------------------------------------------------------------------------

const ctr = (args: string[]) => run("ctr", ["--address", env.ctrAddress, "-n", env.tag, ...args]);
const cid = (rt: Runtime, what: string) => {
  const id = `${rt}-${what}`;
  ctrIds.push(id);
  return id;
};
const ctrRun = (rt: Runtime, id: string, flags: string[], cmd: string[], bin = binary[rt]) =>
  ctr(["run", "--runc-binary", bin, "--fifo-dir", env.fifoDir, ...flags, image, id, ...cmd]);
/** The status `ctr task ls` shows for a task (RUNNING, PAUSED, STOPPED). */
const taskStatus = async (id: string) => {
  const r = await ctr(["task", "ls"]);
  return r.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[0] === id)?.[2];
};
const ctrDetached = async (rt: Runtime, what: string, cmd = ["sh", "-c", 'trap "exit 0" TERM; sleep 1000 & wait']) => {
  const id = cid(rt, what);
  const r = await ctrRun(rt, id, ["-d"], cmd);
  if (r.code !== 0) throw new Error(`ctr run -d ${id}: ${r.stderr}`);
  return id;
};
const stopped = (id: string) => until(`${id} to stop`, async () => ((await taskStatus(id)) === "STOPPED" ? true : undefined));
const removeTask = async (id: string) => {
  await ctr(["task", "delete", "-f", id]);
  await ctr(["container", "rm", id]);
};

describe("containerd", () => {
  test("run in the foreground: output, exit codes", () =>
    both(
      async (rt) => {
        const ok = await ctrRun(rt, cid(rt, "fg"), ["--rm"], ["sh", "-c", "echo hello; echo to-stderr >&2"]);
        const seven = await ctrRun(rt, cid(rt, "fg7"), ["--rm"], ["sh", "-c", "exit 7"]);
        return { ok: [ok.code, ok.stdout.replace(/\r/g, ""), ok.stderr], seven: seven.code };
      },
      { ok: [0, "hello\n", "to-stderr\n"], seven: 7 },
    ));

  test("a command that does not exist: create fails with the runtime's message (from --log json)", () =>
    both(
      async (rt) => {
        const id = cid(rt, "nocmd");
        const r = await ctrRun(rt, id, ["--rm"], ["nosuchcmd"]);
        await ctr(["container", "rm", id]);
        return { code: r.code, text: /OCI runtime create failed: .*executable file not found in \$PATH.*: unknown/.test(r.stderr) };
      },
      { code: 1, text: true },
    ));

  test("run -d, task exec (no tty), task ps, kill, delete", () =>
    both(
      async (rt) => {
        const id = await ctrDetached(rt, "detached");
        const running = await taskStatus(id);
        const e = await ctr(["task", "exec", "--exec-id", "e1", "--fifo-dir", env.fifoDir, id, "sh", "-c", "echo in-exec; exit 6"]);
        const missing = await ctr(["task", "exec", "--exec-id", "e2", "--fifo-dir", env.fifoDir, id, "nosuch"]);
        const ps = await until("two processes in task ps", async () => {
          const r = await ctr(["task", "ps", id]);
          return r.stdout.trim().split("\n").length === 3 ? r : undefined;
        });
        const pids = ps.stdout
          .trim()
          .split("\n")
          .slice(1)
          .map((l) => Number(l.trim().split(/\s+/)[0]));
        const init = Number(
          (await ctr(["task", "ls"])).stdout
            .split("\n")
            .find((l) => l.startsWith(id + " "))
            ?.trim()
            .split(/\s+/)[1],
        );
        const k = await ctr(["task", "kill", id]); // SIGTERM: the trap exits 0
        await stopped(id);
        const again = await ctr(["task", "kill", id]);
        const d = await ctr(["task", "delete", id]);
        const c = await ctr(["container", "rm", id]);
        return {
          running,
          exec: [e.code, e.stdout],
          missing: [missing.code, /exec failed: .*executable file not found in \$PATH/.test(missing.stderr)],
          ps: [ps.code, pids.length, pids.includes(init)],
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
        ps: [0, 2, true],
        kill: 0,
        killStopped: [1, "ctr: process already finished: not found"],
        delete: [0, ""],
        rm: 0,
      },
    ));

  test("kill -s KILL: exit 137 shown at delete", () =>
    both(
      async (rt) => {
        const id = await ctrDetached(rt, "kill9", ["sleep", "1000"]);
        const k = await ctr(["task", "kill", "-s", "KILL", id]);
        await stopped(id);
        const d = await ctr(["task", "delete", id]);
        await ctr(["container", "rm", id]);
        return { kill: k.code, delete: [d.code, noTime(d.stderr).replace(id, "ID").trim()] };
      },
      { kill: 0, delete: [0, 'level=warning msg="task ID exit with non-zero exit code 137"'] },
    ));

  test("pause and resume", () =>
    both(
      async (rt) => {
        const id = await ctrDetached(rt, "pause");
        const p = await ctr(["task", "pause", id]);
        const paused = await taskStatus(id);
        const r = await ctr(["task", "resume", id]);
        const resumed = await taskStatus(id);
        const e = await ctr(["task", "exec", "--exec-id", "e1", "--fifo-dir", env.fifoDir, id, "echo", "thawed"]);
        await removeTask(id);
        return { pause: p.code, paused, resume: r.code, resumed, exec: e.stdout };
      },
      { pause: 0, paused: "PAUSED", resume: 0, resumed: "RUNNING", exec: "thawed\n" },
    ));

  test("task metrics (the shim reads the runtime's cgroup), and update --resources - as the shim calls it", () =>
    both(
      async (rt) => {
        const id = await ctrDetached(rt, "metrics");
        await until("sleep in the task", async () =>
          (await ctr(["task", "ps", id])).stdout.trim().split("\n").length === 3 ? true : undefined,
        );
        const metrics = async () => {
          const m = await ctr(["task", "metrics", id]);
          const rows = new Map(
            m.stdout
              .split("\n")
              .map((l) => l.trim().split(/\s{2,}/))
              .filter((f) => f.length === 2)
              .map((f) => [f[0]!, f[1]!]),
          );
          return { code: m.code, rows };
        };
        const before = await metrics();
        // ctr 1.6 has no update command; this is the CRI's UpdateContainerResources call, argv as
        // the shim (go-runc) writes it: global flags first, LinuxResources JSON on stdin.
        const log = join(env.scratch, `${id}-update.json`);
        const u = await run(
          binary[rt],
          ["--root", `/run/containerd/runc/${env.tag}`, "--log", log, "--log-format", "json", "update", "--resources", "-", id],
          { input: JSON.stringify({ memory: { limit: 64 * 1024 * 1024 } }) },
        );
        const after = await metrics();
        await removeTask(id);
        return {
          code: before.code,
          names: [...before.rows.keys()].filter((k) => /^[a-z]+\.[a-z_.]+$/.test(k)).sort(),
          pids: before.rows.get("pids.current"),
          update: [u.code, u.stdout, u.stderr],
          limit: after.rows.get("memory.limit_in_bytes"),
        };
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
        update: [0, "", ""],
        limit: String(64 * 1024 * 1024),
      },
    ));

  test("task delete -f of a running task", () =>
    both(
      async (rt) => {
        const id = await ctrDetached(rt, "delf", ["sleep", "1000"]);
        const d = await ctr(["task", "delete", "-f", id]);
        const ls = await taskStatus(id);
        const c = await ctr(["container", "rm", id]);
        return { delete: d.code, after: ls ?? "gone", rm: c.code };
      },
      { delete: 0, after: "gone", rm: 0 },
    ));
});

// ---------------------------------------------------------------------------------------------
// scripts/install.sh: the installed copy runs containers under both engines
// ---------------------------------------------------------------------------------------------

describe("installed berth (scripts/install.sh)", () => {
  test("install into a prefix; podman and containerd run a container with PREFIX/bin/berth", async () => {
    const prefix = join(env.scratch, "prefix");
    const inst = await run("bash", [join(repoRoot, "scripts/install.sh"), prefix]);
    expect(inst.code).toBe(0);
    const installed = join(prefix, "bin", "berth");
    // The copy must not find the checkout's build/Release: it runs from PREFIX/lib/berth alone.
    expect(readFileSync(join(prefix, "lib/berth/berth"), "utf8")).toBe(readFileSync(berthBin, "utf8"));
    const p = await podman(["run", "--runtime", installed, "--cgroup-parent", `/${env.tag}`, "--rm", image, "echo", "installed-podman"]);
    expect({ code: p.code, stdout: p.stdout }).toEqual({ code: 0, stdout: "installed-podman\n" });
    const id = cid("berth", "installed");
    const c = await ctrRun("berth", id, ["--rm"], ["echo", "installed-ctr"], installed);
    expect({ code: c.code, stdout: c.stdout }).toEqual({ code: 0, stdout: "installed-ctr\n" });
  });
});
