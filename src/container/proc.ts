/**
 * Identifying the container's process by more than its pid: /proc/<pid>/stat field 22
 * (starttime, in clock ticks since boot) differs for a recycled pid. A zombie counts as
 * stopped: it has exited and only waits to be reaped.
 */
import { statSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { readSmallFile } from "../state";

export interface ProcStat {
  state: string;
  startTime: string;
  ppid: number;
  /** Field 52, as waitpid(2) would report it; meaningful once it is a zombie (Linux 3.5+). */
  exitCode: number;
}

export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readSmallFile(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

/** The fields berth uses of one /proc/<pid>/stat line (proc(5)). */
export function parseProcStat(text: string): ProcStat {
  // The command name (field 2) is in parentheses and may itself contain spaces or ")". The
  // fields are picked out by position rather than split(): `list` reads one stat per container.
  const f3 = text.lastIndexOf(")") + 2;
  const f4 = text.indexOf(" ", f3) + 1;
  let f22 = f4;
  for (let field = 4; field < 22 && f22 > 0; field++) f22 = text.indexOf(" ", f22) + 1;
  // Field 52, exit_code, is the last (Linux 3.5+).
  const last = text.trimEnd();
  const f52 = last.lastIndexOf(" ") + 1;
  return {
    state: text.slice(f3, f4 - 1),
    ppid: Number(text.slice(f4, text.indexOf(" ", f4))),
    startTime: f22 > 0 ? text.slice(f22, text.indexOf(" ", f22)) : "",
    exitCode: Number(last.slice(f52)) || 0,
  };
}

/**
 * How a child that has exited but is not reaped yet ended ("killed by SIGKILL", "exited with
 * status 1"), read from its zombie's stat; undefined if it is gone or still running.
 */
export function howItEnded(pid: number): string | undefined {
  const st = procStat(pid);
  if (st?.state !== "Z") return undefined;
  const signal = st.exitCode & 0x7f;
  if (signal === 0) return `exited with status ${(st.exitCode >> 8) & 0xff}`;
  const name = Object.entries(osConstants.signals).find(([, n]) => n === signal)?.[0];
  return `killed by ${name ?? `signal ${signal}`}`;
}

/** The process that was recorded is still alive (not exited, not a recycled pid). */
export function isAlive(pid: number, startTime: string): boolean {
  const st = procStat(pid);
  return st !== undefined && st.startTime === startTime && st.state !== "Z" && st.state !== "X";
}

/** A namespace's identity, "dev:ino" of its file (/proc/<pid>/ns/<name>), or undefined when it cannot be read. */
export function nsIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** The pid a pidfd of ours refers to, in our pid namespace (the "Pid:" line of its fdinfo). */
export function pidOfPidfd(pidfd: number): number {
  const m = /^Pid:\s*(-?\d+)$/m.exec(readSmallFile(`/proc/self/fdinfo/${pidfd}`));
  if (!m || Number(m[1]) <= 0) throw new Error(`pidOfPidfd: fd ${pidfd} is not the pidfd of a live process`);
  return Number(m[1]);
}

/** Wait for the process behind `pidfd` to end, for at most `ms` (a poll: no reaping). */
export async function exitWithin(native: { pidfdPollExit(pidfd: number): Promise<void> }, pidfd: number, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([native.pidfdPollExit(pidfd).catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
