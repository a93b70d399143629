/**
 * The shim's server bundle (bin/berth-shim.js), loaded by the entry (entry.ts, which says how
 * containerd runs the shim): `serve` runs the Task service (service.ts) over ttrpc (ttrpc.ts) on
 * the socket `start` made, until Shutdown finds no task left; `remove` is the `delete`
 * subcommand when there is something to remove.
 *
 * The server is not a child subreaper: every process it must collect (a task's init, an exec's
 * process) is its own child already. A process that a container's init leaves behind is
 * collected by the container's pid namespace (its init); without a pid namespace of its own, it
 * is collected by the host's subreaper or init.
 */
import { renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import * as berth from "../index";
import { Publisher } from "./events";
import { stateRoot, type ShimFlags } from "./flags";
import { encode, timestamp } from "./proto";
import { TaskService } from "./service";
import { TtrpcServer } from "./ttrpc";

export { parseFlags, socketPath, type ShimFlags } from "./flags";

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

/** How long a server waits for its first task before it gives up and exits. */
const IDLE_EXIT_MS = 60_000;

export async function serve(f: ShimFlags): Promise<void> {
  // The Node entry's `start` made the listening socket and passed it as fd 3
  // (BERTH_SHIM_LISTEN_FD); the sh entry's only names it (BERTH_SHIM_SOCKET); -socket is for
  // running a server by hand.
  const listenFd = process.env.BERTH_SHIM_LISTEN_FD ? Number(process.env.BERTH_SHIM_LISTEN_FD) : undefined;
  const path = process.env.BERTH_SHIM_SOCKET || f.socket.replace(/^unix:\/\//, "");
  delete process.env.BERTH_SHIM_LISTEN_FD;
  delete process.env.BERTH_SHIM_SOCKET;
  const log = logTo(2, f.debug);
  if (!path) throw new Error("no socket to listen on (started without `start`: give -socket)");
  const publisher = new Publisher({
    ttrpcAddress: process.env.TTRPC_ADDRESS ?? "",
    binary: f.publishBinary,
    address: f.address,
    namespace: f.namespace,
    log,
  });
  const pidFile = `${path}.pid`;
  const exit = () => {
    rmSync(path, { force: true });
    rmSync(pidFile, { force: true });
    process.exit(0);
  };
  const service = new TaskService({ namespace: f.namespace, root: stateRoot(f.namespace), publisher, log, exit });
  const server = new TtrpcServer(service.handlers(), log);
  // SIGTERM: leave cleanly (socket and pid file removed); the containers stay, for containerd's
  // cleanup. A server that never gets a task (containerd gave up on it after `start`) leaves
  // after a while instead of waiting forever for a Shutdown that will not come.
  process.on("SIGTERM", exit);
  const idle = setTimeout(() => {
    if (!service.hadTasks()) {
      log("no task was created: exiting");
      exit();
    }
  }, IDLE_EXIT_MS);
  idle.unref();
  // Beside the socket, this server's pid, written before the socket's name appears: the sh
  // entry gives a pod's next container this server's address only while that pid is a shim
  // server (a crashed one leaves its socket behind).
  writeFileSync(`${pidFile}.tmp`, String(process.pid));
  renameSync(`${pidFile}.tmp`, pidFile);
  if (listenFd !== undefined) {
    await server.listen({ fd: listenFd });
  } else {
    // Started by the sh entry, which waits for the name to appear and then hands it to
    // containerd. Listen under a temporary name and rename the socket into place, so that the
    // name never exists before the socket accepts.
    const tmp = `${path}.${process.pid}`;
    rmSync(tmp, { force: true });
    await server.listen(tmp);
    renameSync(tmp, path);
  }
  log(`debug: serving on ${path}`);
}

export async function remove(f: ShimFlags): Promise<number> {
  const bundle = resolve(f.bundle || process.cwd());
  try {
    await berth.delete(f.id, { root: stateRoot(f.namespace), force: true });
  } catch (err) {
    if ((err as { code?: string }).code !== "container-not-found")
      process.stderr.write(`containerd-shim-berth-v1: delete ${f.id}: ${(err as Error).message}\n`);
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
