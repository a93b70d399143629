/**
 * sd_notify and socket activation, as runc passes them: NOTIFY_SOCKET in berth's environment
 * reaches the container (bound at /run/notify/notify.sock, the process's NOTIFY_SOCKET points
 * there), so READY=1 sent inside arrives at the host's datagram socket; LISTEN_FDS=N hands
 * fds 3..3+N-1 to the container, before --preserve-fds, with LISTEN_FDS/LISTEN_PID=1 set.
 *
 * The host side of NOTIFY_SOCKET is python3's socket module (Node's dgram has no unix
 * sockets); the container side is a small static C program (fixtures/notify-send.c).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth, berthBin } from "../helpers/cli";
import { makeBundle, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

let b: TestBundle | undefined;
const ids = testIds("notify");
let probeDir: string;
const uniq = ids.uniq;
beforeAll(() => {
  probeDir = mkdtempSync(join(tmpdir(), "berth-notify-probe-"));
  execFileSync("cc", ["-O2", "-Wall", "-static", "-o", join(probeDir, "notify-send"), join(__dirname, "fixtures", "notify-send.c")], {
    stdio: "pipe",
  });
});
afterAll(() => rmSync(probeDir, { recursive: true, force: true }));
afterEach(() => {
  ids.deleteAll((id) => berth(["--root", b!.root, "delete", "--force", id]));
  b?.cleanup();
  b = undefined;
});

const RECEIVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
print("listening", flush=True)
s.settimeout(30)
try:
    print(s.recv(4096).decode(), flush=True)
except socket.timeout:
    print("timeout", flush=True)
`;

/** A datagram socket at `path`; resolves once it is bound, with a promise of what arrives first. */
function receiver(path: string): Promise<{ message: Promise<string> }> {
  const child = spawn("python3", ["-c", RECEIVER, path], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  let bound: () => void;
  const isBound = new Promise<void>((resolve) => (bound = resolve));
  const message = new Promise<string>((resolve) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.startsWith("listening\n")) bound();
    });
    child.on("exit", () => resolve(out.replace(/^listening\n/, "").trim()));
  });
  return isBound.then(() => ({ message }));
}

test("NOTIFY_SOCKET: READY=1 sent inside the container reaches the caller's socket", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-notify-"));
  try {
    const sock = join(dir, "notify.sock");
    const rx = await receiver(sock);
    b = makeBundle(["sh", "-c", 'echo "NOTIFY_SOCKET=$NOTIFY_SOCKET"; /probe/notify-send READY=1'], (c) => {
      c.mounts.push({ destination: "/probe", type: "bind", source: probeDir, options: ["rbind", "ro"] });
      // The socket's mount point is made under /run: on a tmpfs, not in the shared rootfs.
      c.mounts.push({ destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"] });
    });
    const r = berth(["--root", b.root, "run", "-b", b.dir, uniq("ready")], { env: { ...process.env, NOTIFY_SOCKET: sock } });
    expect(r).toEqual({ exitCode: 0, stdout: "NOTIFY_SOCKET=/run/notify/notify.sock\n", stderr: "" });
    expect(await rx.message).toBe("READY=1");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("without NOTIFY_SOCKET the container gets neither the variable nor the mount", () => {
  b = makeBundle(["sh", "-c", 'echo "[$NOTIFY_SOCKET]"; grep -c notify.sock /proc/self/mountinfo']);
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  const r = berth(["--root", b.root, "run", "-b", b.dir, uniq("none")], { env });
  // grep -c prints 0 (and exits 1) when no mount is the notify socket.
  expect(r).toEqual({ exitCode: 1, stdout: "[]\n0\n", stderr: "" });
});

/** Run the container with fds 3.. open on files holding their names; return what it printed. */
function runWithFds(names: string[], env: NodeJS.ProcessEnv, extra: string[] = []): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), "berth-listen-"));
  const files = names.map((name) => {
    const path = join(dir, name);
    writeFileSync(path, `${name}\n`);
    return openSync(path, "r");
  });
  const outPath = join(dir, "out");
  const out = openSync(outPath, "w+");
  try {
    const r = spawnSync(berthBin, ["--root", b!.root, "run", ...extra, "-b", b!.dir, uniq("listen")], {
      stdio: ["ignore", out, out, ...files],
      env,
    });
    return { status: r.status, out: readFileSync(outPath, "utf8") };
  } finally {
    for (const fd of [...files, out]) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

const SHOW =
  "ls /proc/self/fd | tr '\\n' ' '; echo \"LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID\"; for f in /proc/self/fd/[3-9]; do [ -e $f ] && cat $f; done; true";

test("LISTEN_FDS=2: fds 3 and 4 reach the container with LISTEN_FDS=2 LISTEN_PID=1, and nothing else", () => {
  b = makeBundle(["sh", "-c", SHOW]);
  const env: NodeJS.ProcessEnv = { ...process.env, LISTEN_FDS: "2" };
  delete env.LISTEN_PID;
  const r = runWithFds(["three", "four"], env);
  expect(r.status).toBe(0);
  // ls opens one more fd (the directory it lists).
  expect(r.out).toBe("0 1 2 3 4 5 LISTEN_FDS=2 LISTEN_PID=1\nthree\nfour\n");
});

test("LISTEN_FDS comes before --preserve-fds, as in runc", () => {
  b = makeBundle(["sh", "-c", SHOW]);
  const env: NodeJS.ProcessEnv = { ...process.env, LISTEN_FDS: "1" };
  delete env.LISTEN_PID;
  const r = runWithFds(["three", "four"], env, ["--preserve-fds", "1"]);
  expect(r.status).toBe(0);
  expect(r.out).toBe("0 1 2 3 4 5 LISTEN_FDS=1 LISTEN_PID=1\nthree\nfour\n");
});

test("LISTEN_FDS meant for another process (LISTEN_PID is not berth's) is not passed on", () => {
  b = makeBundle(["sh", "-c", SHOW]);
  const r = runWithFds(["three", "four"], { ...process.env, LISTEN_FDS: "2", LISTEN_PID: "1" });
  expect(r.status).toBe(0);
  expect(r.out).toBe("0 1 2 3 LISTEN_FDS= LISTEN_PID=\n");
});
