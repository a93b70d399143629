/**
 * `berth check`'s look at the filesystem: what create would refuse on this bundle that the
 * config alone does not show. A missing rootfs, a missing bind source, a `process.args[0]` that
 * is not in the rootfs, and a memory limit too small to start.
 *
 * The program is looked up the way berth-init looks it up (op checkExec, after pivot_root): a
 * name with a slash is a path, relative ones from `process.cwd`, and a bare name is looked up
 * in each directory of `PATH` from `process.env` (berth's default PATH when there is none).
 * Every lookup stays inside the rootfs. A symlink is followed as the container would see it: an
 * absolute target starts again at the rootfs, and ".." stops at it. It never leads out to the
 * host. A path that a mount covers (a bind onto /usr/bin, a tmpfs) is not judged, because it
 * only exists once the container is mounted.
 */
import { lstatSync, readlinkSync, statfsSync, statSync, type Stats } from "node:fs";
import { posix, resolve } from "node:path";
import type { Problem } from "../errors";
import { DEFAULT_PATH } from "../plan";
import type { Spec } from "../spec";
import { IMAGE_ANNOTATION } from "./image";

/**
 * The smallest `linux.resources.memory.limit` check accepts: 1 MiB. Below it nothing starts.
 * berth-init needs about 192 KiB of its own before the program runs (measured on cgroup v1:
 * 128 KiB fails, 192 KiB starts `true`). runc's init needs over 2 MiB, and Docker refuses
 * anything under 6 MB. create does not refuse a small limit ahead of time. It reports the OOM
 * kill, naming the field.
 */
export const MEMORY_LIMIT_FLOOR = 1 << 20;

const MAX_SYMLINKS = 40; // the kernel's limit on symlinks followed in one lookup

type Lookup = { stat: Stats; path: string } | { errno: string; path: string };

/**
 * `path` (absolute, as the container sees it) resolved inside `rootfs`, following symlinks as a
 * chroot would, never out of it. Returns the final object's lstat and its path in the
 * container, or the errno of the first failing step.
 */
export function lookupInRoot(rootfs: string, path: string): Lookup {
  const queue = path.split("/").filter(Boolean);
  const cur: string[] = [];
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      cur.pop();
      continue;
    }
    const host = posix.join(rootfs, ...cur, part);
    let st: Stats;
    try {
      st = lstatSync(host);
    } catch (err) {
      return { errno: (err as NodeJS.ErrnoException).code ?? "EIO", path: "/" + [...cur, part].join("/") };
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) return { errno: "ELOOP", path: "/" + [...cur, part].join("/") };
      const target = readlinkSync(host);
      if (target.startsWith("/")) cur.length = 0;
      queue.unshift(...target.split("/").filter(Boolean));
      continue;
    }
    cur.push(part);
    if (queue.length > 0 && !st.isDirectory()) return { errno: "ENOTDIR", path: "/" + cur.join("/") };
  }
  return { stat: lstatSync(posix.join(rootfs, ...cur)), path: "/" + cur.join("/") };
}

/** Whether a mount lands on `path` or above it: what is there is not the rootfs's. */
function covered(spec: Spec, path: string): boolean {
  return (spec.mounts ?? []).some((m) => {
    if (typeof m.destination !== "string") return false;
    const dest = posix.resolve("/", m.destination);
    return dest === "/" || path === dest || path.startsWith(dest + "/");
  });
}

const executable = (st: Stats) => st.isFile() && (st.mode & 0o111) !== 0;

/** Why `file` (a container path) cannot be executed from the rootfs, or undefined when it can (or a mount covers it). */
function notExecutable(spec: Spec, rootfs: string, file: string): string | undefined {
  if (covered(spec, file)) return undefined;
  const found = lookupInRoot(rootfs, file);
  if ("errno" in found) return found.errno;
  if (covered(spec, found.path)) return undefined;
  if (found.stat.isDirectory()) return "EISDIR";
  return executable(found.stat) ? undefined : "EACCES";
}

const errnoWords: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EACCES: "permission denied (not an executable file)",
  ELOOP: "too many levels of symbolic links",
};
const words = (errno: string) => errnoWords[errno] ?? errno;

function programProblem(spec: Spec, rootfs: string): Problem | undefined {
  const file = spec.process?.args?.[0];
  if (typeof file !== "string" || file === "") return undefined;
  const cwd = typeof spec.process?.cwd === "string" && spec.process.cwd.startsWith("/") ? spec.process.cwd : "/";
  const field = "process.args[0]";
  if (file.includes("/")) {
    const abs = posix.resolve(cwd, file);
    const why = notExecutable(spec, rootfs, abs);
    return why ? { field, value: file, reason: `exec: "${file}": ${abs} in the rootfs: ${words(why)}`, severity: "error" } : undefined;
  }
  const pathEntry = (spec.process?.env ?? []).find((e) => typeof e === "string" && e.startsWith("PATH="));
  const path = pathEntry ? pathEntry.slice(5) : DEFAULT_PATH;
  for (const dir of path.split(":")) {
    const candidate = posix.resolve(cwd, dir === "" ? "." : dir, file);
    if (notExecutable(spec, rootfs, candidate) === undefined) return undefined;
  }
  return { field, value: file, reason: `exec: "${file}": executable file not found in $PATH (${path}) in the rootfs`, severity: "error" };
}

/** What create would refuse on this bundle's filesystem, each at its field. */
export function filesystemProblems(spec: Spec, bundleDir: string): Problem[] {
  const out: Problem[] = [];
  const image = spec.annotations?.[IMAGE_ANNOTATION] !== undefined;
  const rootPath = spec.root?.path;
  let rootfsOk = false;
  if (typeof rootPath === "string") {
    const rootfs = resolve(bundleDir, rootPath);
    try {
      if (statSync(rootfs).isDirectory()) rootfsOk = true;
      else out.push({ field: "root.path", value: rootPath, reason: `${rootfs}: is not a directory`, severity: "error" });
    } catch (err) {
      out.push({
        field: "root.path",
        value: rootPath,
        reason: `${rootfs}: ${words((err as NodeJS.ErrnoException).code ?? "EIO")}`,
        severity: "error",
      });
    }
    // An image bundle's rootfs is empty until create mounts the image's layers there.
    if (rootfsOk && !image) {
      const p = programProblem(spec, rootfs);
      if (p) out.push(p);
    }
  }
  (spec.mounts ?? []).forEach((m, i) => {
    const isBind = m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
    if (!isBind || typeof m.source !== "string") return;
    const source = resolve(bundleDir, m.source);
    try {
      statfsSync(source);
      statSync(source);
    } catch (err) {
      out.push({
        field: `mounts[${i}].source`,
        value: m.source,
        reason: `${source}: ${words((err as NodeJS.ErrnoException).code ?? "EIO")}`,
        severity: "error",
      });
    }
  });
  const limit = spec.linux?.resources?.memory?.limit;
  if (typeof limit === "number" && limit > 0 && limit < MEMORY_LIMIT_FLOOR) {
    out.push({
      field: "linux.resources.memory.limit",
      value: limit,
      reason: `is below ${MEMORY_LIMIT_FLOOR} bytes (1 MiB), too little to start a container: berth-init alone needs about 192 KiB, and runc's init over 2 MiB`,
      severity: "error",
    });
  }
  return out;
}
