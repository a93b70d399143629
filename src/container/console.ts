/**
 * Terminals (config.md process.terminal, consoleSize; runc's terminal protocol).
 *
 * berth-init makes the pty inside the container (op openPty) and hands the master to us over
 * the sync socket. Then one of two things happens:
 *   - detached (create, run -d, exec -d): the master goes on to --console-socket, as one
 *     message on a connection of its own, with the master attached (SCM_RIGHTS) and the
 *     terminal's name ("/dev/pts/0") as the payload; conmon, containerd's shim and runc's
 *     recvtty take the fd and ignore the text. Our copy is closed: the receiver owns it.
 *   - foreground (run, exec --tty): berth keeps the master and relays it to its own stdio
 *     (relayTerminal), in raw mode when stdin is a terminal, with the size following ours.
 */
import type * as tty from "node:tty";
import { resolve } from "node:path";
import { BerthError } from "../errors";
import type { LifecycleNative, Runtime } from "./runtime";

/** The pty master berth-init sent, now ours. */
export interface ReceivedTerminal {
  fd: number;
  /** The terminal's name inside the container, e.g. "/dev/pts/0". */
  name: string;
}

/**
 * runc's two rules, in berth's words: a detached process with a terminal needs somewhere to
 * send the master, and a console socket is only for a detached process with a terminal.
 * Returns the console socket's absolute path (relative to the cwd, as runc resolves it).
 */
export function checkTerminalOptions(
  op: string,
  id: string,
  o: { terminal: boolean; detach: boolean; consoleSocket?: string },
): string | undefined {
  const socket = o.consoleSocket === "" ? undefined : o.consoleSocket;
  if (o.terminal && o.detach && socket === undefined) {
    throw new BerthError({
      op,
      id,
      field: "process.terminal",
      value: true,
      reason: "cannot allocate a terminal if berth will detach without a console socket (--console-socket)",
    });
  }
  if (socket !== undefined && (!o.detach || !o.terminal)) {
    throw new BerthError({
      op,
      id,
      field: "--console-socket",
      value: socket,
      reason: "cannot use a console socket if berth will not detach or allocate a terminal (process.terminal)",
    });
  }
  return socket === undefined ? undefined : resolve(socket);
}

/**
 * A SYNC.terminal record arrived: send the master to the console socket (and close ours), or
 * return it for the relay. Throws a BerthError at --console-socket when the socket cannot
 * take it; the caller then kills the process.
 */
export function takeTerminal(
  rt: Runtime,
  op: string,
  id: string,
  msg: { fd?: number; detail: string },
  dest: { consoleSocket?: string; keep: boolean },
): ReceivedTerminal | undefined {
  const { native } = rt;
  if (msg.fd === undefined)
    throw new BerthError({ op, id, field: "process.terminal", reason: "berth-init sent no pty master", internal: true });
  if (dest.keep) return { fd: msg.fd, name: msg.detail };
  try {
    if (dest.consoleSocket === undefined || !native.unixSendFd) {
      throw new BerthError({ op, id, field: "process.terminal", reason: "berth-init sent a terminal nobody asked for", internal: true });
    }
    try {
      native.unixSendFd(dest.consoleSocket, Buffer.from(msg.detail || "/dev/ptmx"), msg.fd);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new BerthError({
        op,
        id,
        field: "--console-socket",
        value: dest.consoleSocket,
        reason: "cannot send the terminal to the console socket",
        syscall: e.syscall,
        errno: e.code ?? "EIO",
      });
    }
    return undefined;
  } finally {
    native.closeFd(msg.fd);
  }
}

export interface TerminalRelay {
  /** Resolves once the container side has hung up (every copy of the slave closed). */
  drained: Promise<void>;
  /** Stop relaying, restore the caller's terminal, close the master. Idempotent. */
  close(): void;
}

interface RelayIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

/**
 * Copy the caller's stdin to the master and the master to the caller's stdout, with stdin in
 * raw mode when it is a terminal (the container's line discipline does the echo and the
 * signals: ^C is a byte for its pty, which sends SIGINT to its foreground group). The
 * caller's size is copied to the master now and on every SIGWINCH.
 */
export function relayTerminal(
  native: LifecycleNative,
  master: ReceivedTerminal,
  io: RelayIo = { stdin: process.stdin, stdout: process.stdout },
): TerminalRelay {
  const { stdin, stdout } = io;
  const sized = [stdout, stdin].find((s) => (s as tty.WriteStream).isTTY && typeof (s as tty.WriteStream).getWindowSize === "function") as
    tty.WriteStream | undefined;
  const resize = () => {
    if (!sized || !native.ttySetSize) return;
    try {
      const [cols, rows] = sized.getWindowSize();
      if (rows > 0 && cols > 0) native.ttySetSize(master.fd, rows, cols);
    } catch {
      /* the master is gone: the relay is ending */
    }
  };
  resize();
  process.on("SIGWINCH", resize);

  const raw = (stdin as tty.ReadStream).isTTY === true && typeof (stdin as tty.ReadStream).setRawMode === "function";
  if (raw) (stdin as tty.ReadStream).setRawMode(true);

  // A pty master is a terminal to libuv: a tty handle reads it without blocking the loop, and
  // writes to it (blocking writes, short ones: keystrokes). When the last slave closes, reads
  // fail with EIO, which is the end of the container's output.
  const stream = new (require("node:tty") as typeof tty).ReadStream(master.fd);
  let closed = false;
  let settle: () => void = () => undefined;
  const drained = new Promise<void>((res) => {
    settle = res;
  });
  stream.on("data", (chunk: Buffer) => stdout.write(chunk));
  stream.on("end", () => settle());
  stream.on("close", () => settle());
  stream.on("error", () => settle());

  const onInput = (chunk: Buffer) => {
    if (!closed) stream.write(chunk);
  };
  stdin.on("data", onInput);
  stdin.resume();

  return {
    drained,
    close: () => {
      if (closed) return;
      closed = true;
      process.off("SIGWINCH", resize);
      stdin.off("data", onInput);
      stdin.pause();
      if (raw) {
        try {
          (stdin as tty.ReadStream).setRawMode(false);
        } catch {
          /* stdin went away */
        }
      }
      // Destroying the stream closes the master fd (the handle owns it from here on).
      stream.destroy();
      settle();
    },
  };
}
