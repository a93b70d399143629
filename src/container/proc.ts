/**
 * Identifying the container's process by more than its pid: /proc/<pid>/stat field 22
 * (starttime, in clock ticks since boot) differs for a recycled pid. A zombie counts as
 * stopped: it has exited and only waits to be reaped.
 */
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
  // The command name (field 2) is in parentheses and may itself contain spaces or ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19]; field 4 (ppid) rest[1].
  return { state: rest[0]!, startTime: rest[19]!, ppid: Number(rest[1]), exitCode: Number(rest[49] ?? 0) };
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
