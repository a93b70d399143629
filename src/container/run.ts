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
  /**
   * The library's cancel: an abort before the process runs removes the container; once it
   * runs, the process is killed (SIGKILL), the container deleted, and the call rejects with the
   * signal's reason (an AbortError).
   */
  signal?: AbortSignal;
}

/** Signals a foreground `run` passes on to the container instead of dying of them. */
const relayed = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT"] as const;

export async function run(rt: Runtime, opts: RunOptions): Promise<number> {
  opts.signal?.throwIfAborted();
  // In the foreground, signals are ours to relay from the start: one that arrives while the
  // container is being created or started is held and delivered once its process runs, so a
  // SIGTERM at the wrong moment neither kills berth halfway (leaving a container behind) nor
  // gets lost. With a terminal, window size changes go to the pty instead (the kernel signals
  // the container's foreground group); relaying SIGWINCH too would double it.
  let target: number | undefined;
  let relay: TerminalRelay | undefined;
  const pending: number[] = [];
  const send = (name: (typeof relayed)[number]) => {
    if (relay && name === "SIGWINCH") return;
    const sig = constants.signals[name];
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
        const handler = () => send(name);
        process.on(name, handler);
        return () => process.off(name, handler);
      });
  let status: { exitCode: number | null; signal: number | null };
  try {
    // In the foreground, create hands us the pty master (process.terminal) to relay.
    const { record, pidfd, terminal: master } = await create(rt, { ...opts, foreground: !opts.detach });
    try {
      // The relay is up before the process runs: nothing it writes is lost, and its first
      // read of the terminal size sees ours.
      if (master) relay = relayTerminal(rt.native, master);
      opts.signal?.throwIfAborted();
      await start(rt, opts.id);
      if (opts.detach) return 0;
      target = pidfd;
      for (const sig of pending.splice(0)) rt.native.pidfdSendSignal(pidfd, sig);
      status = await killedOnAbort(rt, pidfd, opts.signal, () => rt.native.waitExit(pidfd));
      // The init is gone, and with it its pid namespace: every copy of the slave closes, and
      // the master reads the last output, then EIO.
      if (relay) await relay.drained;
    } catch (err) {
      relay?.close();
      await destroy(rt, opts.id, true).catch(() => undefined);
      throw err;
    } finally {
      relay?.close();
      target = undefined;
      rt.native.closeFd(pidfd);
    }
    if (!opts.keep) await destroy(rt, record.id, true);
  } finally {
    for (const off of handlers) off();
  }
  return status.exitCode ?? 128 + (status.signal ?? 0);
}

/**
 * Wait for the process behind `pidfd` (`waitFor`), killing it with SIGKILL when `signal`
 * aborts; the wait then ends with its death and the call rejects with the signal's reason.
 * The native wait itself cannot be cancelled, so the process is made to end instead.
 */
export async function killedOnAbort<T>(rt: Runtime, pidfd: number, signal: AbortSignal | undefined, waitFor: () => Promise<T>): Promise<T> {
  if (!signal) return waitFor();
  const onAbort = () => {
    try {
      rt.native.pidfdSendSignal(pidfd, constants.signals.SIGKILL);
    } catch {
      /* it has exited */
    }
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  try {
    const result = await waitFor();
    signal.throwIfAborted();
    return result;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
