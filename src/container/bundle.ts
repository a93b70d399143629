/**
 * A bundle on disk: its config.json read, parsed and validated. Problems carry field paths;
 * warnings are returned alongside a valid spec.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { BerthError, problemsError, type Problem } from "../errors";
import { parseJson, validateConfig, type Spec } from "../spec";

export interface LoadedBundle {
  /** Absolute bundle directory. */
  dir: string;
  configPath: string;
  spec: Spec;
  warnings: Problem[];
}

/** Resolve `--bundle` as runc does: relative to the cwd; default the cwd. */
export function bundleDir(bundle: string | undefined, cwd = process.cwd()): string {
  if (!bundle) return cwd;
  return isAbsolute(bundle) ? resolve(bundle) : resolve(cwd, bundle);
}

/**
 * The largest config.json berth reads. Real ones are kilobytes (a large seccomp profile is
 * under 100 KiB); without a bound a config.json that is, or links to, something endless
 * (/dev/zero, a fifo) would grow berth's memory until the machine ran out.
 */
export const MAX_CONFIG_BYTES = 16 << 20;

/**
 * A small JSON file a user names (config.json, exec's process.json), read whole but bounded:
 * a regular file of at most MAX_CONFIG_BYTES. `fail` makes the error for a reason and errno.
 */
export function readBoundedFile(path: string, fail: (reason: string, errno?: string, cause?: unknown) => Error): string {
  let fd: number;
  try {
    // O_NONBLOCK: a fifo must not block the open; it is refused below as not a regular file.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fail("open", (err as NodeJS.ErrnoException).code ?? "EIO", err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fail("must be a regular file");
    if (st.size > MAX_CONFIG_BYTES) throw fail(`is ${st.size} bytes: more than berth reads (${MAX_CONFIG_BYTES})`);
    // One byte more than fstat said tells a file that grew meanwhile.
    const buf = Buffer.alloc(st.size + 1);
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len === buf.length) throw fail("changed while berth read it");
    }
    return buf.subarray(0, len).toString("utf8");
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw fail("read", (err as NodeJS.ErrnoException).code ?? "EIO", err);
  } finally {
    closeSync(fd);
  }
}

/** Read and parse config.json; problems instead of a throw, so `check` can report them all. */
export function readConfig(dir: string, op: string, id?: string): { data?: unknown; problems: Problem[] } {
  const configPath = join(dir, "config.json");
  const text = readBoundedFile(configPath, (reason, errno, cause) => new BerthError({ op, id, field: configPath, reason, errno, cause }));
  const parsed = parseJson(text, configPath);
  return parsed.ok ? { data: parsed.value, problems: [] } : { problems: [parsed.problem] };
}

export function loadBundle(bundle: string | undefined, op: string, id?: string): LoadedBundle {
  const dir = bundleDir(bundle);
  const { data, problems } = readConfig(dir, op, id);
  if (data === undefined) throw problemsError(op, id, problems);
  const result = validateConfig(data);
  if (!result.value) throw problemsError(op, id, result.problems);
  return { dir, configPath: join(dir, "config.json"), spec: result.value, warnings: result.problems };
}
