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
  const { record, pidfd } = await create(rt, opts);
  let status: { exitCode: number | null; signal: number | null };
  try {
    await start(rt, opts.id);
    if (opts.detach) return 0;
    const handlers = relayed.map((name) => {
      const handler = () => {
        try {
          rt.native.pidfdSendSignal(pidfd, constants.signals[name]);
        } catch {
          /* it has exited */
        }
      };
      process.on(name, handler);
      return () => process.off(name, handler);
    });
    try {
      status = await rt.native.waitExit(pidfd);
    } finally {
      for (const off of handlers) off();
    }
  } catch (err) {
    await destroy(rt, opts.id, true).catch(() => undefined);
    throw err;
  } finally {
    rt.native.closeFd(pidfd);
  }
  if (!opts.keep) await destroy(rt, record.id, true);
  return status.exitCode ?? 128 + (status.signal ?? 0);
}
