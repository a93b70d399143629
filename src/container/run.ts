/**
 * run: create, start, and (in the foreground) wait for the container's init, relaying signals
 * to it, then delete it and return its exit status (128+n when killed by signal n, as a shell
 * reports it). The init is this process's child, so its status is collected by waitid on the
 * pidfd, not by polling.
 */
import { constants } from "node:os";
import { create, type CreateOptions } from "./create";
import { destroy } from "./delete";
import type { Runtime } from "./runtime";
import { start } from "./start";

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  /** Keep the container after it exits (runc --keep). */
  keep?: boolean;
}

/** Signals a foreground `run` passes on to the container instead of dying of them. */
const relayed = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT"] as const;

export async function run(rt: Runtime, opts: RunOptions): Promise<number> {
  // In the foreground, signals are ours to relay from the start: one that arrives while the
  // container is being created or started is held and delivered once its process runs, so a
  // SIGTERM at the wrong moment neither kills berth halfway (leaving a container behind) nor
  // gets lost.
  let target: number | undefined;
  const pending: number[] = [];
  const send = (sig: number) => {
    if (target === undefined) return void pending.push(sig);
    try {
      rt.native.pidfdSendSignal(target, sig);
    } catch {
      /* it has exited */
    }
  };
  const handlers = opts.detach
    ? []
    : relayed.map((name) => {
        const handler = () => send(constants.signals[name]);
        process.on(name, handler);
        return () => process.off(name, handler);
      });
  let status: { exitCode: number | null; signal: number | null };
  try {
    const { record, pidfd } = await create(rt, opts);
    try {
      await start(rt, opts.id);
      if (opts.detach) return 0;
      target = pidfd;
      for (const sig of pending.splice(0)) send(sig);
      status = await rt.native.waitExit(pidfd);
    } catch (err) {
      await destroy(rt, opts.id, true).catch(() => undefined);
      throw err;
    } finally {
      target = undefined;
      rt.native.closeFd(pidfd);
    }
    if (!opts.keep) await destroy(rt, record.id, true);
  } finally {
    for (const off of handlers) off();
  }
  return status.exitCode ?? 128 + (status.signal ?? 0);
}
