/**
 * Atomic file replacement: write a temporary file in the same directory, fsync it, rename it
 * over the target, fsync the directory. A reader sees the old file or the new one, never half
 * of either, even across a crash. (libuv opens every file O_CLOEXEC, so no fd leaks into a
 * process started meanwhile.)
 *
 * The two fsyncs do different jobs, and callers choose (AtomicOptions):
 * - fsync of the temporary file before the rename is what keeps the file whole across a crash
 *   (without it the new name can point at a file whose data never reached the disk: ext4 in
 *   data=ordered mode with delalloc may commit the rename first).
 * - fsync of the directory after the rename only makes the new name itself durable: without it
 *   a crash may bring back the old file (whole) instead of the new one. That matters for data
 *   that outlives a reboot (the image store); a container's state directory does not (after a
 *   crash its processes are gone, and the state root is normally /run, a tmpfs), so the state
 *   store skips it: on an ext4 root it was one of the two fsyncs, 1-25 ms each on this host
 *   under load (bench/results.md).
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync, constants } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface AtomicOptions {
  /** fsync the temporary file before the rename (default true): the file is whole after a crash. */
  syncFile?: boolean;
  /** fsync the directory after the rename (default true): the new name survives a crash. */
  syncDir?: boolean;
}

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, opts: AtomicOptions = {}): void {
  const { syncFile = true, syncDir = true } = opts;
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
    if (syncFile) fsyncSync(fd);
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
  if (!syncDir) return;
  const dfd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/**
 * --pid-file: atomic for its readers (engines poll for it), but neither fsync: the pid names a
 * process that no crash leaves alive, so a durable copy would only ever name a dead one.
 */
export const PID_FILE_WRITE: AtomicOptions = { syncFile: false, syncDir: false };
