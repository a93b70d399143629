/**
 * Identifying the container's process by more than its pid: /proc/<pid>/stat field 22
 * (starttime, in clock ticks since boot) differs for a recycled pid. A zombie counts as
 * stopped: it has exited and only waits to be reaped.
 */
import { readFileSync } from "node:fs";

export interface ProcStat {
  state: string;
  startTime: string;
  ppid: number;
}

export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19]; field 4 (ppid) rest[1].
  return { state: rest[0]!, startTime: rest[19]!, ppid: Number(rest[1]) };
}

/** The process that was recorded is still alive (not exited, not a recycled pid). */
export function isAlive(pid: number, startTime: string): boolean {
  const st = procStat(pid);
  return st !== undefined && st.startTime === startTime && st.state !== "Z" && st.state !== "X";
}
