/**
 * Removing cgroup directories right after their processes were killed. rmdir of a cgroup that
 * still has a task fails with EBUSY, and a killed task stays in its cgroups until it has
 * finished exiting (freeing a large address space takes a while), in every hierarchy: delete
 * waits for the container's leaf cgroup to empty, but the other hierarchies' directories, or a
 * process someone else put there, can still lose that race. So a busy directory is waited for
 * and tried again, within a deadline:
 *
 *   - the first pass is the plain rmdir pass: when it succeeds (nearly always) nothing waits;
 *   - a busy directory is waited for until it is empty: cgroup2 says "populated 0" in
 *     cgroup.events (watched with inotify), v1 has only cgroup.procs to re-read (below it too),
 *     with short sleeps that grow;
 *   - then the pass runs again; a directory that is empty and still busy (the kernel has not
 *     let go of the last task yet) gets a short pause, growing, before the next one;
 *   - at the deadline, what is still busy is reported with the processes still in it.
 *
 * runc retries its rmdir 5 times over 150 ms (cgroups.RemovePaths), blind; this waits for what
 * the kernel says instead, and names what kept a directory busy.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { errnoText } from "../errors";
import { waitCgroupEmpty } from "./files";

/** A directory that could not be removed, and for a busy one the processes still in it. */
export interface CgroupRemoveFailure {
  dir: string;
  error: NodeJS.ErrnoException;
  still?: { pid: number; comm: string }[];
}

/** How long a busy directory is waited for in all: exiting tasks take milliseconds, rarely more. */
export const REMOVE_BUSY_TIMEOUT_MS = 2_000;

export interface SettleOptions {
  timeoutMs?: number;
  /** The processes in a directory and below it (cgroupPidsRecursive). */
  pidsIn: (dir: string) => number[];
  /** For tests: the pause between passes. */
  sleep?: (ms: number) => Promise<void>;
}

const isBusy = (f: CgroupRemoveFailure) => f.error.code === "EBUSY";
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run the rmdir `pass` until nothing it fails on is busy, or the deadline. */
export async function settleCgroupRemoval(pass: () => CgroupRemoveFailure[], opts: SettleOptions): Promise<CgroupRemoveFailure[]> {
  let failed = pass();
  if (!failed.some(isBusy)) return failed;
  const sleep = opts.sleep ?? delay;
  const deadline = Date.now() + (opts.timeoutMs ?? REMOVE_BUSY_TIMEOUT_MS);
  let pause = 1;
  for (;;) {
    for (const f of failed.filter(isBusy)) await waitEmpty(f.dir, deadline, opts.pidsIn, sleep);
    failed = pass();
    const left = deadline - Date.now();
    if (!failed.some(isBusy) || left <= 0) break;
    await sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, 64);
  }
  return failed.map((f) => (isBusy(f) ? { ...f, still: processesIn(f.dir, opts.pidsIn) } : f));
}

/** Until `dir` and everything below it has no process, or the deadline. */
async function waitEmpty(
  dir: string,
  deadline: number,
  pidsIn: (dir: string) => number[],
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  if (existsSync(join(dir, "cgroup.events"))) {
    await waitCgroupEmpty(dir, Math.max(0, deadline - Date.now()));
    return;
  }
  let pause = 1;
  while (pidsIn(dir).length > 0) {
    const left = deadline - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, 32);
  }
}

function processesIn(dir: string, pidsIn: (dir: string) => number[]): { pid: number; comm: string }[] {
  return pidsIn(dir).map((pid) => {
    let comm = "?";
    try {
      comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      /* exited meanwhile */
    }
    return { pid, comm };
  });
}

/**
 * For the user: "remove cgroup <dir>: device or resource busy (still in it: 1234 sleep)", at
 * most 8 processes named.
 */
export function cgroupRemoveFailureText(f: CgroupRemoveFailure): string {
  let text = `remove cgroup ${f.dir}: ${errnoText(f.error.code ?? "EIO")}`;
  if (f.still?.length) {
    const named = f.still.slice(0, 8).map((p) => `${p.pid} ${p.comm}`);
    if (f.still.length > 8) named.push(`and ${f.still.length - 8} more`);
    text += ` (still in it: ${named.join(", ")})`;
  }
  return text;
}
