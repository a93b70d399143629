/**
 * A process's terminal under containerd (CreateTaskRequest / ExecProcessRequest `terminal`).
 *
 * berth hands the shim the pty master in-process (the library's `onTerminal`: no console socket
 * is needed when the runtime runs inside the shim). The shim copies, as the runc shim does:
 *   - containerd's stdin fifo -> the master (the process's input, through its line discipline);
 *   - the master -> containerd's stdout fifo. There is no stderr with a terminal: the process's
 *     fds 0-2 are all the slave, and containerd's stderr fifo (if any) is left alone;
 *   - ResizePty -> TIOCSWINSZ on the master (the kernel sends SIGWINCH to the foreground group).
 *
 * Nothing here may block the shim's one thread, which serves every container of a pod: the
 * master is read through a libuv tty handle and written with non-blocking writes (a full input
 * queue waits on a timer, not in write(2)); the fifos are libuv pipes, so neither an idle stdin
 * nor a slow reader of stdout holds a thread of the pool. Only the opens of containerd's fifos
 * run in the pool (an open of a fifo waits for its other end).
 *
 * The end of the output: when the last copy of the slave is closed, reads of the master fail
 * with EIO, and the stdout fifo is closed after what was read is written (containerd's EOF).
 * A process can leave a child behind that keeps the slave open; once the process has exited
 * (`processExited`), the output therefore also ends when the master has been quiet for a moment,
 * as the runc shim stops reading the console at the exit.
 *
 * The end of the input: CloseIO, or the exit. The shim holds a writer of containerd's stdin fifo
 * itself (as the runc shim does), so a client that goes away (`ctr run -d -t`) or comes back
 * (`ctr task attach`) is no EOF for the process. At CloseIO the copy stops and the terminal gets
 * the EOF character (^D, VEOF) once, which a reader in canonical mode sees as the end of its
 * input. The master itself stays open until the output ends, so the process's last words still
 * reach containerd.
 */
import { closeSync, constants, open as openCb, openSync, readSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { ReadStream as TtyReadStream } from "node:tty";
import { promisify } from "node:util";
import * as berth from "../index";
import { Code, TtrpcError } from "./ttrpc";

const openFd = promisify(openCb);

/** VEOF in the default termios (^D). */
const EOF_CHAR = Buffer.from([0x04]);
/** How long the master must be quiet after the exit before the output is ended without EIO. */
const QUIET_MS = 100;
/** How long a full terminal input queue waits before the next try. */
const RETRY_MS = 20;

export interface TerminalIo {
  /** Set the window size (ResizePty). A terminal whose output has ended ignores it. */
  resize(rows: number, cols: number): void;
  /** End the input: stop copying containerd's stdin, then send ^D. Idempotent. */
  closeInput(): void;
  /** The process has exited: end the output at EIO or after a quiet moment. */
  processExited(): void;
  /** Resolves when the output has ended and containerd's stdout fifo is closed. */
  done: Promise<void>;
  /** End everything now (a failed Create or Exec, Delete's time limit): close the master and the fifos. */
  close(): void;
}

/**
 * Open containerd's stdout fifo for a terminal's output (before the process is made: containerd
 * has its end open already, and a failure then fails Create or Exec cleanly). No path: none.
 */
export async function openTerminalOutput(stdout: string): Promise<number | undefined> {
  if (!stdout) return undefined;
  if (/^[a-z]+:\/\//.test(stdout))
    throw new TtrpcError(Code.invalidArgument, `log URI ${stdout}: not supported with a terminal by containerd-shim-berth-v1`);
  return openFd(stdout, constants.O_WRONLY);
}

/**
 * Serve the terminal of one process: `master` (ours from now on), containerd's stdin fifo path
 * (opened in the background: containerd may open its end only later; empty: no input) and the
 * stdout fifo's fd from openTerminalOutput (ours from now on; none: the output is dropped).
 */
export function serveTerminal(
  master: berth.Terminal,
  io: { stdin: string; stdoutFd?: number },
  log: (message: string) => void,
): TerminalIo {
  let out: Socket | undefined;
  if (io.stdoutFd !== undefined) {
    out = new Socket({ fd: io.stdoutFd, readable: false, writable: true });
    out.on("error", (e) => {
      // containerd's reader went away (EPIPE): keep draining the master, drop the output.
      log(`terminal stdout: ${e.message}`);
      out?.destroy();
      out = undefined;
      if (pty.isPaused()) pty.resume();
    });
  }

  const pty = new TtyReadStream(master.fd);
  let ended = false;
  let exited = false;
  let lastData = Date.now();
  let quietTimer: NodeJS.Timeout | undefined;
  let settle: () => void = () => undefined;
  const done = new Promise<void>((r) => (settle = r));

  const endOutput = () => {
    if (ended) return;
    ended = true;
    clearInterval(quietTimer);
    input.close();
    pty.destroy(); // closes the master
    if (out) {
      out.once("close", () => settle());
      out.end();
    } else {
      settle();
    }
  };
  const write = (chunk: Buffer) => {
    lastData = Date.now();
    if (out && !out.write(chunk)) {
      pty.pause();
      out.once("drain", () => pty.resume());
    }
  };
  pty.on("data", write);
  pty.on("end", endOutput);
  pty.on("error", endOutput); // EIO: the last slave is closed
  pty.on("close", endOutput);

  /** Read what the master holds now without waiting (its fd is non-blocking); false at EIO. */
  const drainNow = (): boolean => {
    const buf = Buffer.alloc(16 * 1024);
    for (;;) {
      let n: number;
      try {
        n = readSync(master.fd, buf, 0, buf.length, null);
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EAGAIN";
      }
      if (n === 0) return false;
      write(Buffer.from(buf.subarray(0, n)));
    }
  };

  const input = copyInput(master.fd, io.stdin, () => ended, log);

  return {
    resize: (rows, cols) => {
      if (ended || rows <= 0 || cols <= 0) return;
      berth.resizeTerminal(master.fd, rows, cols);
    },
    closeInput: () => input.end(),
    processExited: () => {
      if (exited || ended) return;
      exited = true;
      input.close();
      quietTimer = setInterval(() => {
        if (ended || pty.isPaused() || Date.now() - lastData < QUIET_MS) return;
        drainNow();
        endOutput();
      }, QUIET_MS / 2);
      quietTimer.unref();
    },
    done,
    close: () => {
      input.close();
      endOutput();
      out?.destroy();
      settle();
    },
  };
}

/**
 * Copy containerd's stdin fifo into the master, with non-blocking writes. `end` stops the copy
 * and sends ^D after what was queued; `close` stops it without a word (the master is closing).
 */
function copyInput(
  masterFd: number,
  fifo: string,
  masterClosed: () => boolean,
  log: (message: string) => void,
): { end(): void; close(): void } {
  let state: "opening" | "copying" | "ending" | "done" = fifo ? "opening" : "done";
  let src: Socket | undefined;
  /** Our own writer of containerd's stdin fifo, so its writers coming and going is no EOF. */
  let holder: number | undefined;
  const queue: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;

  const pump = () => {
    timer = undefined;
    while (queue.length && !masterClosed()) {
      let n: number;
      try {
        n = writeSync(masterFd, queue[0]!);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EAGAIN") {
          // The terminal's input queue is full (nobody reads it): try again later.
          src?.pause();
          timer = setTimeout(pump, RETRY_MS);
          return;
        }
        log(`terminal input: ${(err as Error).message}`);
        queue.length = 0;
        stop();
        return;
      }
      if (n < queue[0]!.length) queue[0] = queue[0]!.subarray(n);
      else queue.shift();
    }
    if (masterClosed()) queue.length = 0;
    if (state === "ending") {
      state = "done";
      if (!masterClosed()) {
        try {
          writeSync(masterFd, EOF_CHAR);
        } catch {
          /* full or gone: the process is not reading its input */
        }
      }
    } else {
      src?.resume();
    }
  };
  const stop = () => {
    src?.destroy();
    src = undefined;
    if (holder !== undefined) closeSync(holder);
    holder = undefined;
  };

  if (fifo) {
    openFd(fifo, constants.O_RDONLY).then(
      (fd) => {
        if (state !== "opening") {
          // end() or close() came first (and made this open return).
          closeSync(fd);
          return;
        }
        state = "copying";
        try {
          holder = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        } catch (err) {
          log(`terminal stdin ${fifo}: ${(err as Error).message}`);
        }
        src = new Socket({ fd, readable: true, writable: false });
        src.on("data", (chunk: Buffer) => {
          queue.push(chunk);
          if (!timer) pump();
        });
        src.on("end", () => end());
        src.on("error", (e) => {
          log(`terminal stdin ${fifo}: ${e.message}`);
          end();
        });
      },
      (err: Error) => {
        log(`terminal stdin ${fifo}: ${err.message}`);
        state = "done";
      },
    );
  }

  const releaseOpen = () => {
    // The open of containerd's fifo still waits for a writer: be one for a moment, so that it
    // returns (and its thread of the pool is free again).
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      /* no reader waiting: the open has just finished or failed */
    }
  };
  const end = () => {
    if (state === "opening") {
      // containerd never opened its end: the process still gets its EOF.
      state = "ending";
      releaseOpen();
      if (!timer) pump();
      return;
    }
    if (state !== "copying") return;
    state = "ending";
    stop();
    if (!timer) pump();
  };
  return {
    end,
    close: () => {
      if (state === "opening") releaseOpen();
      state = "done";
      clearTimeout(timer);
      queue.length = 0;
      stop();
    },
  };
}
