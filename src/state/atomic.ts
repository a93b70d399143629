/**
 * Atomic file replacement: write a temporary file in the same directory, fsync it, rename it
 * over the target, fsync the directory. A reader sees the old file or the new one, never half
 * of either, even across a crash. (libuv opens every file O_CLOEXEC, so no fd leaks into a
 * process started meanwhile.)
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync, constants } from "node:fs";
import { basename, dirname, join } from "node:path";

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  // O_EXCL | O_NOFOLLOW: the directory may be the user's (--pid-file), and a file or symlink
  // planted at the temporary name must not be written through. A stale one of ours (a crash
  // with a reused pid) is removed and the open tried once more.
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let fd: number;
  try {
    fd = openSync(tmp, flags, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    unlinkSync(tmp);
    fd = openSync(tmp, flags, mode);
  }
  try {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* the write error is the one to report */
    }
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    // e.g. EISDIR when the target is a directory: the temporary file must not stay behind.
    try {
      unlinkSync(tmp);
    } catch {
      /* the rename error is the one to report */
    }
    throw err;
  }
  const dfd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
