/**
 * containerd-shim-berth-v1: berth as a containerd runtime v2 shim (io.containerd.berth.v1).
 *
 * containerd runs this executable in three ways, always with the bundle as the cwd and its own
 * flags first (Go's flag syntax: -name value, -name=value, -debug):
 *
 *   ... -id ID start    find or start the shim server for ID and print its socket address
 *                       ("unix:///run/containerd/s/<hash>") on stdout, then exit
 *   ... -id ID delete   the shim is gone (crashed, killed): remove the container through the
 *                       bundle and print a DeleteResponse (protobuf) on stdout
 *   ... -id ID          (no action) the server: what `start` runs, detached, in the background
 *
 * Grouping: containers with the same io.kubernetes.cri.sandbox-id annotation (one pod) share
 * one server, whose socket name hashes containerd's address, the namespace and the sandbox id;
 * any other container gets its own. The server runs the Task service (service.ts) over ttrpc
 * (ttrpc.ts) and exits once Shutdown finds no task left.
 *
 * The server is not a child subreaper: every process it must collect (a task's init, an exec's
 * process) is its own child already. A process that a container's init leaves behind is
 * collected by the container's pid namespace (its init); without a pid namespace of its own, it
 * is collected by the host's subreaper or init.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import * as berth from "../index";
import { Publisher } from "./events";
import { encode, timestamp } from "./proto";
import { stateRoot, TaskService } from "./service";
import { TtrpcServer, ttrpcCall } from "./ttrpc";

declare const BERTH_VERSION: string;
const version = typeof BERTH_VERSION === "string" ? BERTH_VERSION : "dev";

export interface ShimFlags {
  namespace: string;
  address: string;
  publishBinary: string;
  id: string;
  bundle: string;
  socket: string;
  debug: boolean;
  version: boolean;
  action: string;
}

const valueFlags: Record<string, keyof ShimFlags> = { namespace: "namespace", address: "address", "publish-binary": "publishBinary", id: "id", bundle: "bundle", socket: "socket" };
const boolFlags: Record<string, keyof ShimFlags> = { debug: "debug", v: "version", version: "version" };

/** Go flag package parsing: flags until the first argument that is not one, then the action. */
export function parseFlags(argv: readonly string[]): ShimFlags {
  const f: ShimFlags = { namespace: "", address: "", publishBinary: "", id: "", bundle: "", socket: "", debug: false, version: false, action: "" };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) break;
    const [, name, inline] = m;
    if (boolFlags[name!]) {
      (f as unknown as Record<string, boolean>)[boolFlags[name!]!] = inline === undefined ? true : inline === "true" || inline === "1";
    } else if (valueFlags[name!]) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`flag needs an argument: -${name}`);
      (f as unknown as Record<string, string>)[valueFlags[name!]!] = value;
    } else {
      throw new Error(`flag provided but not defined: -${name}`);
    }
  }
  f.action = argv[i] ?? "";
  return f;
}

/** The socket of the shim that serves `group` (a pod's sandbox id, or the container's id). */
export function socketPath(address: string, namespace: string, group: string): string {
  const hash = createHash("sha256").update(`${address}\u0000${namespace}\u0000${group}`).digest("hex");
  return join("/run/containerd/s", hash);
}

/** The pod a container belongs to (the CRI's annotation), when it has one. */
function sandboxOf(bundle: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as { annotations?: Record<string, string> };
    return config.annotations?.["io.kubernetes.cri.sandbox-id"] || undefined;
  } catch {
    return undefined;
  }
}

function logTo(fd: number | undefined, debug: boolean): (message: string) => void {
  return (message) => {
    if (fd === undefined) return;
    if (!debug && message.startsWith("debug:")) return;
    try {
      writeSync(fd, `${new Date().toISOString()} containerd-shim-berth-v1[${process.pid}]: ${message}\n`);
    } catch {
      /* the log is best effort */
    }
  };
}

async function start(f: ShimFlags): Promise<number> {
  const bundle = resolve(f.bundle || process.cwd());
  const group = sandboxOf(bundle) ?? f.id;
  const path = socketPath(f.address, f.namespace, group);
  const address = `unix://${path}`;
  if (group !== f.id && existsSync(path)) {
    // The pod's shim may be up: reuse it when it answers.
    const alive = await ttrpcCall(path, "containerd.task.v2.Task", "Connect", encode("containerd.task.v2.ConnectRequest", { id: f.id }), 2000).then(
      () => true,
      () => false,
    );
    if (alive) {
      writeFileSync(join(bundle, "address"), address);
      process.stdout.write(address);
      return 0;
    }
  }
  mkdirSync("/run/containerd/s", { recursive: true, mode: 0o711 });
  rmSync(path, { force: true });
  // containerd reads the shim's log from the fifo "log" in the bundle; opened read-write so
  // that the open never blocks (containerd has its end open while the shim runs). The child
  // gets it as stderr; Node opens every fd close-on-exec, so the containers do not.
  let log: number;
  try {
    log = openSync(join(bundle, "log"), constants.O_RDWR);
  } catch {
    log = openSync("/dev/null", "w");
  }
  const args = process.argv.slice(1).filter((a, i, all) => !(a === "start" && i === all.length - 1));
  const child = spawn(process.execPath, args, {
    cwd: bundle,
    detached: true,
    stdio: ["ignore", log, log, "pipe"],
    // Each running process holds a thread-pool thread while its exit is awaited (a pidfd
    // wait): the default four would let four containers block the fifo opens.
    env: { ...process.env, BERTH_SHIM_SOCKET: path, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "128" },
  });
  closeSync(log);
  const ready = await new Promise<string>((resolveReady) => {
    let text = "";
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.on("data", (d: Buffer) => (text += d.toString()));
    pipe.on("end", () => resolveReady(text));
    child.on("error", (e) => resolveReady(`error: ${e.message}`));
  });
  if (ready.trim() !== "ready") {
    process.stderr.write(`containerd-shim-berth-v1: the shim server did not start: ${ready.trim() || "it exited"}\n`);
    return 1;
  }
  child.unref();
  writeFileSync(join(bundle, "address"), address);
  writeFileSync(join(bundle, "shim.pid"), String(child.pid));
  process.stdout.write(address);
  return 0;
}

async function serve(f: ShimFlags): Promise<void> {
  const path = process.env.BERTH_SHIM_SOCKET || f.socket.replace(/^unix:\/\//, "");
  const readyFd = process.env.BERTH_SHIM_SOCKET ? 3 : undefined;
  delete process.env.BERTH_SHIM_SOCKET;
  const log = logTo(2, f.debug);
  if (!path) throw new Error("no socket to listen on (started without `start`: give -socket)");
  const publisher = new Publisher({ binary: f.publishBinary, address: f.address, namespace: f.namespace, log });
  const exit = () => {
    rmSync(path, { force: true });
    process.exit(0);
  };
  const service = new TaskService({ namespace: f.namespace, root: stateRoot(f.namespace), publisher, log, exit });
  const server = new TtrpcServer(service.handlers(), log);
  try {
    await server.listen(path);
  } catch (err) {
    if (readyFd !== undefined) writeSync(readyFd, `listen on ${path}: ${(err as Error).message}`);
    throw err;
  }
  log(`debug: serving on ${path}`);
  if (readyFd !== undefined) {
    writeSync(readyFd, "ready");
    closeSync(readyFd);
  }
}

async function remove(f: ShimFlags): Promise<number> {
  const bundle = resolve(f.bundle || process.cwd());
  try {
    await berth.delete(f.id, { root: stateRoot(f.namespace), force: true });
  } catch (err) {
    if ((err as { code?: string }).code !== "container-not-found") process.stderr.write(`containerd-shim-berth-v1: delete ${f.id}: ${(err as Error).message}\n`);
  }
  const rootfs = join(bundle, "rootfs");
  try {
    berth.unmount(rootfs, true);
  } catch {
    /* not mounted (or not by us) */
  }
  // SIGKILL's status, as the runc shim reports for a container it had to remove this way.
  process.stdout.write(encode("containerd.task.v2.DeleteResponse", { pid: 0, exit_status: 128 + 9, exited_at: timestamp(new Date()) }));
  return 0;
}

export async function main(argv: readonly string[]): Promise<void> {
  let f: ShimFlags;
  try {
    f = parseFlags(argv);
  } catch (err) {
    process.stderr.write(`containerd-shim-berth-v1: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (f.version) {
    process.stdout.write(`containerd-shim-berth-v1:\n  Version: ${version}\n`);
    return;
  }
  if (!f.namespace || !f.id) {
    process.stderr.write("containerd-shim-berth-v1: -namespace and -id are required (containerd starts this program)\n");
    process.exit(2);
  }
  try {
    if (f.action === "start") process.exitCode = await start(f);
    else if (f.action === "delete") process.exitCode = await remove(f);
    else if (f.action === "") await serve(f);
    else {
      process.stderr.write(`containerd-shim-berth-v1: unknown action ${f.action}\n`);
      process.exitCode = 2;
    }
  } catch (err) {
    process.stderr.write(`containerd-shim-berth-v1: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main(process.argv.slice(2));
