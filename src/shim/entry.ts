/**
 * bin/berth-shim-entry.js: the Node entry of containerd-shim-berth-v1, berth as a containerd
 * runtime v2 shim (io.containerd.berth.v1). bin/containerd-shim-berth-v1 itself is a small sh
 * program (containerd-shim-berth-v1.sh) that answers the common `start` and `delete` without
 * Node and runs this file for the rest.
 *
 * containerd runs this executable in three ways, with the bundle as the cwd and its own flags
 * first (Go's flag syntax: -namespace NS -address A -publish-binary B -id ID [-bundle B] [-debug]):
 *
 *   ... start    make the server's listening socket, start the server (this program again, with
 *                no action) detached with that socket as its fd 3, print the socket's address
 *                ("unix:///run/containerd/s/<hash>") and exit. containerd connects at once; the
 *                kernel holds the connection until the server accepts it.
 *   ... delete   the shim is gone (or has exited): remove the container through the bundle and
 *                print a DeleteResponse (protobuf) on stdout.
 *   ...          (no action) the server: the Task service over ttrpc (main.ts, service.ts).
 *
 * containerd runs `start` and `delete` for every task, so this file stays small: it starts
 * without the library, and loads the server bundle (bin/berth-shim.js, with the V8 code cache
 * written beside it at build time, as bin/berth does) only to serve, or when `delete` finds
 * something to remove.
 *
 * Grouping: containers with the same io.kubernetes.cri.sandbox-id annotation (one pod) share
 * one server, whose socket name hashes containerd's address, the namespace and the sandbox id;
 * a second container of the pod finds that socket answering and is given its address.
 */
import { spawn } from "node:child_process";
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { wrap } from "node:module";
import { createConnection, createServer } from "node:net";
import { join, resolve } from "node:path";
import { Script } from "node:vm";
import { parseFlags, socketPath, stateRoot, type ShimFlags } from "./flags";

declare const BERTH_VERSION: string;
const version = typeof BERTH_VERSION === "string" ? BERTH_VERSION : "dev";
const SERVER_BUNDLE = "berth-shim.js";

/** Load a bundle beside this file with its code cache (NAME.cache: size and mtime stamp, then V8's data). */
function load(name: string): unknown {
  const file = join(__dirname, name);
  const source = readFileSync(file, "utf8");
  let cachedData: Buffer | undefined;
  if (process.env.BERTH_CODE_CACHE !== "off") {
    try {
      const c = readFileSync(`${file}.cache`);
      const st = statSync(file);
      const stamp = Buffer.alloc(16);
      stamp.writeDoubleLE(st.size, 0);
      stamp.writeDoubleLE(st.mtimeMs, 8);
      if (c.length > 16 && c.subarray(0, 16).equals(stamp)) cachedData = c.subarray(16);
    } catch {
      cachedData = undefined;
    }
  }
  const script = new Script(wrap(source), { filename: file, cachedData });
  const mod = { exports: {} as unknown };
  const req = Object.assign((id: string) => (id === "./berth-validators.js" ? load("berth-validators.js") : require(id)), {
    resolve: require.resolve,
    cache: require.cache,
    main: require.main,
    extensions: require.extensions,
  });
  (script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, req, mod, file, __dirname);
  return mod.exports;
}

const server = () => load(SERVER_BUNDLE) as typeof import("./main");

/** The pod a container belongs to (the CRI's annotation), when it has one. */
function sandboxOf(bundle: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as { annotations?: Record<string, string> };
    return config.annotations?.["io.kubernetes.cri.sandbox-id"] || undefined;
  } catch {
    return undefined;
  }
}

function accepts(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection(path);
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
    s.once("error", () => res(false));
  });
}

async function start(f: ShimFlags): Promise<number> {
  const bundle = resolve(f.bundle || process.cwd());
  const group = sandboxOf(bundle) ?? f.id;
  const path = socketPath(f.address, f.namespace, group);
  const address = `unix://${path}`;
  if (group !== f.id && existsSync(path) && (await accepts(path))) {
    writeFileSync(join(bundle, "address"), address);
    writeSync(1, address);
    return 0;
  }
  mkdirSync("/run/containerd/s", { recursive: true, mode: 0o711 });
  rmSync(path, { force: true });
  rmSync(`${path}.pid`, { force: true });
  const listener = createServer();
  await new Promise<void>((res, rej) => {
    listener.once("error", rej);
    listener.listen({ path, backlog: 128 }, () => res());
  });
  const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
  // containerd reads the shim's log from the fifo "log" in the bundle; opened read-write so that
  // the open never blocks. The server gets it as stdout and stderr (Node opens every fd
  // close-on-exec, so the containers do not).
  let log: number;
  try {
    log = openSync(join(bundle, "log"), constants.O_RDWR);
  } catch {
    log = openSync("/dev/null", "w");
  }
  const child = spawn(
    process.execPath,
    [__filename, ...process.argv.slice(2).filter((a, i, all) => !(a === "start" && i === all.length - 1))],
    {
      cwd: bundle,
      detached: true,
      stdio: ["ignore", log, log, fd],
      // Each running process holds a thread-pool thread while its exit is awaited (a pidfd
      // wait), and fifo opens take one each: the default four would soon be taken.
      env: {
        ...process.env,
        BERTH_SHIM_LISTEN_FD: "3",
        BERTH_SHIM_SOCKET: path,
        UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "128",
      },
    },
  );
  child.unref();
  closeSync(log);
  writeFileSync(join(bundle, "address"), address);
  writeFileSync(join(bundle, "shim.pid"), String(child.pid));
  writeSync(1, address);
  // Exit without closing the listener: closing it would unlink the socket the server now owns.
  process.exit(0);
}

/** A protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** DeleteResponse{exit_status: 137 (SIGKILL's), exited_at: now}, encoded by hand (no protobuf library loaded). */
export function killedDeleteResponse(now: Date): Buffer {
  const ms = now.getTime();
  const ts = [0x08, ...varint(Math.floor(ms / 1000)), 0x10, ...varint((ms % 1000) * 1_000_000)];
  return Buffer.from([0x10, ...varint(137), 0x1a, ts.length, ...ts]);
}

/** Whether berth has anything of this task: its state directory, or a mount at bundle/rootfs. */
function somethingToRemove(f: ShimFlags, bundle: string): boolean {
  if (existsSync(join(stateRoot(f.namespace), f.id))) return true;
  const rootfs = join(bundle, "rootfs");
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[4] === rootfs);
}

async function main(argv: readonly string[]): Promise<number> {
  let f: ShimFlags;
  try {
    f = parseFlags(argv);
  } catch (err) {
    process.stderr.write(`containerd-shim-berth-v1: ${(err as Error).message}\n`);
    return 2;
  }
  if (f.version) {
    process.stdout.write(`containerd-shim-berth-v1:\n  Version: ${version}\n`);
    return 0;
  }
  if (!f.namespace || !f.id) {
    process.stderr.write("containerd-shim-berth-v1: -namespace and -id are required (containerd starts this program)\n");
    return 2;
  }
  // The sh entry starts the server with its own command line, action included.
  if (process.env.BERTH_SHIM_SERVE === "1") {
    delete process.env.BERTH_SHIM_SERVE;
    await server().serve(f);
    return 0;
  }
  switch (f.action) {
    case "start":
      return start(f);
    case "delete": {
      const bundle = resolve(f.bundle || process.cwd());
      if (somethingToRemove(f, bundle)) return server().remove(f);
      writeSync(1, killedDeleteResponse(new Date()));
      return 0;
    }
    case "":
      await server().serve(f);
      return 0;
    default:
      process.stderr.write(`containerd-shim-berth-v1: unknown action ${f.action}\n`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== 0) process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`containerd-shim-berth-v1: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
