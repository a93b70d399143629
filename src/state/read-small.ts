/**
 * Read a small file whole with one open, as few reads as it takes and one close, into a buffer
 * kept between calls. readFileSync also fstat()s, allocates a buffer per call and, for
 * /proc files (size 0), reads once more to see the end: for `list` of 500 containers (a
 * state.json and a /proc/<pid>/stat each) that was a quarter of its time over `node -e 0`.
 * Throws as readFileSync does (ENOENT, ...).
 */
import { closeSync, openSync, readSync } from "node:fs";

let buf = Buffer.allocUnsafe(16 * 1024);

export function readSmallFile(path: string): string {
  const fd = openSync(path, "r");
  try {
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      // A short read of a regular file or of a /proc seq file is its end.
      if (len < buf.length) break;
    }
    return buf.toString("utf8", 0, len);
  } finally {
    closeSync(fd);
  }
}

/**
 * Read an fd that may be a pipe or a terminal (stdin, for `update --resources -`) to its end.
 * readFileSync(0) fails with EAGAIN when the fd is non-blocking -- its open file description is
 * shared with whoever set O_NONBLOCK on it (a Node parent does on its own stdio) -- and libuv
 * does not retry a read a signal interrupted (EINTR). Here EAGAIN waits until the fd is readable
 * (`waitReadable`: a poll, blocking the thread as readFileSync would) and EINTR reads again.
 */
export function readFdToEnd(fd: number, waitReadable: (fd: number) => void, maxBytes = Infinity): string {
  const chunks: Buffer[] = [];
  let total = 0;
  const chunk = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EAGAIN" || code === "EWOULDBLOCK") {
        waitReadable(fd);
        continue;
      }
      if (code === "EINTR") continue;
      throw err;
    }
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw new RangeError(`more than ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}
