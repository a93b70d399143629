/**
 * ps: the container's processes (host pids, from its cgroup and every cgroup below it, as
 * runc's GetAllPids), and the host's ps(1) output narrowed to them, as `runc ps` prints it.
 */
import { execFileSync } from "node:child_process";
import { cgroupPidsRecursive } from "../cgroups";
import { BerthError } from "../errors";
import { cgroupSetOf } from "./cgroup-of";
import type { Runtime } from "./runtime";

export function containerProcesses(rt: Runtime, id: string): number[] {
  const record = rt.store.readSummary("ps", id);
  const set = cgroupSetOf(record);
  // Every process of the container is in its cgroup2 directory where there is one (the
  // launch puts it there); otherwise any v1 hierarchy holds them all.
  const dir = set.unified ?? set.v1.pids ?? set.v1.memory ?? Object.values(set.v1)[0];
  const pids = dir ? cgroupPidsRecursive(dir) : [];
  return [...new Set(pids)].sort((a, b) => a - b);
}

/** The header, then the lines whose PID column is one of `pids` (pure: ps output in, text out). */
export function filterPsOutput(id: string, output: string, pids: readonly number[]): string {
  const lines = output.split("\n");
  const header = lines[0] ?? "";
  const column = header.trim().split(/\s+/).indexOf("PID");
  if (column < 0) throw new BerthError({ op: "ps", id, reason: "couldn't find PID field in ps output" });
  const wanted = new Set(pids);
  const out = [header];
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    const pid = Number(line.trim().split(/\s+/)[column]);
    if (wanted.has(pid)) out.push(line);
  }
  return out.join("\n") + "\n";
}

export function ps(rt: Runtime, id: string, psArgs: readonly string[]): string {
  const pids = containerProcesses(rt, id);
  let output: string;
  try {
    output = execFileSync("ps", psArgs.length ? [...psArgs] : ["-ef"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; status?: number };
    if (e.code === "ENOENT")
      throw new BerthError({ op: "ps", id, field: "ps", reason: "the host has no ps command (install procps)", errno: "ENOENT" });
    throw new BerthError({
      op: "ps",
      id,
      reason: `ps ${psArgs.join(" ")}: exit status ${e.status ?? "?"}${e.stderr ? `: ${e.stderr.trim()}` : ""}`,
    });
  }
  return filterPsOutput(id, output, pids);
}
