/**
 * run: create, start, and (in the foreground) wait for the container's init, relaying signals
 * to it, then delete it and return its exit status (128+n when killed by signal n, as a shell
 * reports it). The init is this process's child, so its status is collected by waitid on the
 * pidfd, not by polling.
 *
 * With process.terminal in the foreground, berth keeps the pty master and relays it to its own
 * stdio (console.ts); detached, the master goes to --console-socket, as for create.
 */
import { constants } from "node:os";
import { relayTerminal, type TerminalRelay } from "./console";
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
  // In the foreground, create hands us the pty master (process.terminal) to relay.
  const { record, pidfd, terminal: master } = await create(rt, { ...opts, foreground: !opts.detach });
  let status: { exitCode: number | null; signal: number | null };
  let relay: TerminalRelay | undefined;
  try {
    // The relay is up before the process runs: nothing it writes is lost, and its first
    // read of the terminal size sees ours.
    if (master) relay = relayTerminal(rt.native, master);
    if (opts.detach) {
      start(rt, opts.id);
      return 0;
    }
    // Signals are relayed from before the start: the process may say it is up (and be
    // signalled for it) before start() has returned here, and Node would die of a signal
    // nobody listens for. With a terminal, window size changes go to the pty instead (the
    // kernel signals the container's foreground group); relaying SIGWINCH too would double it.
    const handlers = relayed
      .filter((name) => !(relay && name === "SIGWINCH"))
      .map((name) => {
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
      start(rt, opts.id);
      status = await rt.native.waitExit(pidfd);
      // The init is gone, and with it its pid namespace: every copy of the slave closes, and
      // the master reads the last output, then EIO.
      if (relay) await relay.drained;
    } finally {
      for (const off of handlers) off();
    }
  } catch (err) {
    relay?.close();
    await destroy(rt, opts.id, true).catch(() => undefined);
    throw err;
  } finally {
    relay?.close();
    rt.native.closeFd(pidfd);
  }
  if (!opts.keep) await destroy(rt, record.id, true);
  return status.exitCode ?? 128 + (status.signal ?? 0);
}
