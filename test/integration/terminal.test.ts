/**
 * Terminals (config.md process.terminal, consoleSize; runc's --console-socket protocol),
 * observed from both ends of real ptys.
 *
 * Detached (create, exec -d): a receiver of ours (fixtures/console-receiver.c, runc's recvtty
 * in small) listens at --console-socket, takes the master and the name that came with it,
 * types into the master and records everything the container writes. Foreground (run,
 * exec --tty): berth runs on a pty made by fixtures/pty-drive.py, which types, resizes and
 * reads as a user at a terminal would, and reports the exit status and whether berth gave the
 * terminal its modes back. Every test checks that nothing is left behind.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth, berthBin } from "../helpers/cli";
import { makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

const work = mkdtempSync(join(tmpdir(), "berth-tty-"));
const receiverBin = join(work, "console-receiver");
const driver = join(__dirname, "fixtures", "pty-drive.py");

beforeAll(() => {
  execFileSync("cc", ["-O2", "-Wall", "-o", receiverBin, join(__dirname, "fixtures", "console-receiver.c")], { stdio: "pipe" });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let b: TestBundle | undefined;
const ids = testIds("tty");
let receivers: number[] = [];
const uniq = ids.uniq;
const cli = (args: string[]) => berth(["--root", b!.root, ...args]);
const ok = { exitCode: 0, stdout: "", stderr: "" };

afterEach(() => {
  for (const pid of receivers) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* it exited, as it should have */
    }
  }
  receivers = [];
  const made = [...ids.made];
  const bundle = b;
  ids.deleteAll((id) => bundle && cli(["delete", "--force", id]));
  if (bundle) {
    // Nothing left: no container in the state root, no process of ours.
    expect(readdirSync(bundle.root)).toEqual([]);
    for (const id of made) expect(processesMentioning(id)).toEqual([]);
    bundle.cleanup();
  }
  b = undefined;
});

interface Received {
  name: string;
  fds: number;
  /** TIOCGPTN of the fd that came: -1 when it is not a pty master. */
  ptn: number;
  output: string;
}

/**
 * A receiver listening at a fresh socket path; `input` is typed into the master on arrival.
 * `done` resolves with what it got once the container side hung up.
 */
async function listen(input = ""): Promise<{ socket: string; done: Promise<Received> }> {
  const dir = mkdtempSync(join(work, "r-"));
  const socket = join(dir, "console.sock");
  const outFile = join(dir, "out");
  const child = spawn(receiverBin, [socket, outFile, input], { stdio: ["ignore", "pipe", "pipe"] });
  receivers.push(child.pid!);
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  await new Promise<void>((res, rej) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening\n")) res();
    });
    child.on("exit", () => rej(new Error(`console-receiver exited before listening: ${stderr}`)));
  });
  const done = exited.then((code) => {
    if (code !== 0) throw new Error(`console-receiver exit ${code}: ${stderr}`);
    const text = readFileSync(outFile, "utf8");
    const field = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(text)?.[1] ?? "";
    return { name: field("name"), fds: Number(field("fds")), ptn: Number(field("ptn")), output: text.slice(text.indexOf("output:\n") + 8) };
  });
  return { socket, done };
}

/** What `ls -l /proc/<pid>/fd` says, as fd -> target. */
function fdTable(output: string): Record<string, string> {
  const fds: Record<string, string> = {};
  for (const m of output.matchAll(/ (\d+) -> (\S+)/g)) fds[m[1]!] = m[2]!;
  return fds;
}

/** Runs berth on a pty of `rows` x `cols` (pty-drive.py), typing/resizing once `waitFor` shows. */
function drive(args: string[], o: { rows: number; cols: number; waitFor: string; send?: string; resizeTo?: [number, number] }) {
  const r = spawnSync("python3", [driver, JSON.stringify({ argv: [berthBin, "--root", b!.root, ...args], timeout: 30, ...o })], {
    encoding: "utf8",
    timeout: 40_000,
  });
  if (r.status !== 0) throw new Error(`pty-drive failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { output: string; exitCode: number; timedOut: boolean; restored: boolean };
}

// The shell's own fds are listed by a child (`ls` as the last command would be exec'd by the
// shell and list its own directory fd).
const probe = 'read line; echo "got:$line"; tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; stty size; ls -l /proc/$$/fd; echo end';

test("create --console-socket: the master arrives with the name /dev/pts/N; the process's 0-2 are the slave, of consoleSize, its controlling tty; I/O flows both ways", async () => {
  b = makeBundle(["sh", "-c", `${probe}; ls -l /dev/console; cat /proc/self/stat`], (c) => {
    c.process.terminal = true;
    c.process.consoleSize = { height: 33, width: 111 };
  });
  const id = uniq("create");
  const r = await listen("hello\n");
  expect(cli(["create", "-b", b.dir, "--console-socket", r.socket, id])).toEqual(ok);
  expect(cli(["start", id])).toEqual(ok);
  const got = await r.done;
  expect(got.fds).toBe(1);
  expect(got.ptn).toBeGreaterThanOrEqual(0);
  expect(got.name).toBe(`/dev/pts/${got.ptn}`);
  // The typed line reached the process; its answer came back on the master.
  expect(got.output).toContain("got:hello");
  expect(got.output).toContain(`\n${got.name}\r\n`);
  expect(got.output).toContain("all-ttys");
  expect(got.output).toContain("33 111");
  // 0, 1, 2 and nothing else: no copy of the master stays in the container.
  expect(fdTable(got.output.slice(0, got.output.indexOf("end")))).toEqual({ "0": got.name, "1": got.name, "2": got.name });
  expect(got.output).not.toContain("ptmx");
  // /dev/console is the pty (config-linux.md "Default Devices"): char 136 (pts), minor N.
  expect(got.output).toMatch(new RegExp(`c[rw-]+\\s+1 \\S+\\s+\\S+\\s+136,\\s+${got.ptn} .* /dev/console`));
  // /proc/self/stat field 7, tty_nr, is non-zero: the slave is the controlling terminal.
  const stat = /\) \S+ \d+ \d+ \d+ (\d+) /.exec(got.output);
  expect(Number(stat?.[1])).not.toBe(0);
});

test("exec --detach --tty --console-socket into a container without a terminal: the exec'd process gets its own pty", async () => {
  b = makeBundle(["sleep", "100000"]);
  const id = uniq("exec");
  expect(cli(["run", "-d", "-b", b.dir, id])).toEqual(ok);
  const r = await listen("from-master\n");
  expect(cli(["exec", "--detach", "--tty", "--console-socket", r.socket, id, "sh", "-c", probe])).toEqual(ok);
  const got = await r.done;
  expect(got.name).toBe(`/dev/pts/${got.ptn}`);
  expect(got.output).toContain("got:from-master");
  expect(got.output).toContain("all-ttys");
  expect(fdTable(got.output.slice(0, got.output.indexOf("end")))).toEqual({ "0": got.name, "1": got.name, "2": got.name });
});

test("exec --process with terminal true and --console-socket --detach (containerd's form, no --tty): consoleSize applies", async () => {
  b = makeBundle(["sleep", "100000"]);
  const id = uniq("execp");
  expect(cli(["run", "-d", "-b", b.dir, id])).toEqual(ok);
  const file = join(b.dir, "process.json");
  const proc = { ...b.config.process, terminal: true, consoleSize: { height: 21, width: 77 }, args: ["sh", "-c", probe] };
  writeFileSync(file, JSON.stringify(proc));
  const r = await listen("x\n");
  expect(cli(["exec", "--process", file, "--console-socket", r.socket, "--detach", id])).toEqual(ok);
  const got = await r.done;
  expect(got.output).toContain("got:x");
  expect(got.output).toContain("21 77");
});

test("foreground run with a terminal: berth relays its pty (input echoed by the container's pty), copies its size, returns the exit status, restores its terminal", () => {
  b = makeBundle(["sh", "-c", 'echo ready; read line; echo "got:$line"; [ -t 0 ] && echo tty-yes; stty size; exit 7'], (c) => {
    c.process.terminal = true;
  });
  const id = uniq("fg");
  const r = drive(["run", "-b", b.dir, id], { rows: 40, cols: 100, waitFor: "ready", send: "hello\r" });
  expect(r.timedOut).toBe(false);
  expect(r.exitCode).toBe(7);
  // Raw mode: the echo comes once, from the container's terminal, not from ours as well.
  expect(r.output.match(/hello/g)?.length).toBe(2); // the echo and "got:hello"
  expect(r.output).toContain("got:hello");
  expect(r.output).toContain("tty-yes");
  expect(r.output).toContain("40 100");
  expect(r.restored).toBe(true);
});

test("foreground run: a window size change reaches the container (SIGWINCH -> TIOCSWINSZ on the master)", () => {
  b = makeBundle(["sh", "-c", 'trap "stty size; exit 3" WINCH; echo ready; sleep 100 & wait'], (c) => {
    c.process.terminal = true;
  });
  const id = uniq("winch");
  const r = drive(["run", "-b", b.dir, id], { rows: 40, cols: 100, waitFor: "ready", resizeTo: [50, 120] });
  expect(r.timedOut).toBe(false);
  expect(r.output).toContain("50 120");
  expect(r.exitCode).toBe(3);
  expect(r.restored).toBe(true);
});

test("foreground exec --tty: relayed, exit status returned", () => {
  b = makeBundle(["sleep", "100000"]);
  const id = uniq("fgexec");
  expect(cli(["run", "-d", "-b", b.dir, id])).toEqual(ok);
  const r = drive(["exec", "-t", id, "sh", "-c", 'echo ready; read l; echo "got:$l"; tty; stty size; exit 5'], {
    rows: 30,
    cols: 90,
    waitFor: "ready",
    send: "abc\r",
  });
  expect(r.timedOut).toBe(false);
  expect(r.exitCode).toBe(5);
  expect(r.output).toContain("got:abc");
  expect(r.output).toMatch(/\/dev\/pts\/\d+/);
  expect(r.output).toContain("30 90");
  expect(r.restored).toBe(true);
});

describe("runc's console-socket rules, in berth's words", () => {
  const detachNoSocket =
    "process.terminal true: cannot allocate a terminal if berth will detach without a console socket (--console-socket)";
  const socketNoTty = "cannot use a console socket if berth will not detach or allocate a terminal (process.terminal)";

  test("create with terminal true and no --console-socket; run -d likewise", () => {
    b = makeBundle(["true"], (c) => (c.process.terminal = true));
    const id = uniq("e1");
    expect(cli(["create", "-b", b.dir, id])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: create ${id}: ${detachNoSocket}\n` });
    expect(cli(["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: create ${id}: ${detachNoSocket}\n` });
  });

  test("--console-socket without terminal true (create), or in the foreground (run)", () => {
    b = makeBundle(["true"]);
    const id = uniq("e2");
    const sock = join(work, "nobody.sock");
    expect(cli(["create", "-b", b.dir, "--console-socket", sock, id])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create ${id}: --console-socket "${sock}": ${socketNoTty}\n`,
    });
    b.config.process.terminal = true;
    b.write();
    expect(cli(["run", "-b", b.dir, "--console-socket", sock, id])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create ${id}: --console-socket "${sock}": ${socketNoTty}\n`,
    });
  });

  test("exec: -d -t without a socket; a socket without -d or without -t", () => {
    b = makeBundle(["sleep", "100000"]);
    const id = uniq("e3");
    expect(cli(["run", "-d", "-b", b.dir, id])).toEqual(ok);
    const sock = join(work, "nobody.sock");
    expect(cli(["exec", "-d", "-t", id, "true"])).toEqual({ exitCode: 255, stdout: "", stderr: `berth: exec ${id}: ${detachNoSocket}\n` });
    expect(cli(["exec", "-t", "--console-socket", sock, id, "true"])).toEqual({
      exitCode: 255,
      stdout: "",
      stderr: `berth: exec ${id}: --console-socket "${sock}": ${socketNoTty}\n`,
    });
    expect(cli(["exec", "-d", "--console-socket", sock, id, "true"])).toEqual({
      exitCode: 255,
      stdout: "",
      stderr: `berth: exec ${id}: --console-socket "${sock}": ${socketNoTty}\n`,
    });
  });

  test("a console socket nobody listens on fails create, naming the flag, and leaves nothing", () => {
    b = makeBundle(["true"], (c) => (c.process.terminal = true));
    const id = uniq("e4");
    const sock = join(work, "absent.sock");
    expect(existsSync(sock)).toBe(false);
    expect(cli(["create", "-b", b.dir, "--console-socket", sock, id])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create ${id}: --console-socket "${sock}": cannot send the terminal to the console socket: connect: no such file or directory\n`,
    });
    // afterEach: the state root is empty and no process mentions the id.
  });
});
