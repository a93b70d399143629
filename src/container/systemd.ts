/**
 * The lifecycle's side of --systemd-cgroup: opening the connection to systemd, its errors as
 * BerthErrors, and which of the directories berth made systemd takes over.
 */
import { join } from "node:path";
import { openSystemdSession, SystemdError, systemdOwnsHierarchy, type CgroupLayout, type SystemdSession } from "../cgroups";
import { BerthError } from "../errors";
import type { Runtime } from "./runtime";

/**
 * A connection to systemd, or a BerthError saying why not: runc's wording where systemd is not
 * PID 1 (connectSystemd checks that first), else each way it tried to connect and its error.
 */
export async function openSystemd(rt: Runtime, op: string, id: string): Promise<SystemdSession> {
  try {
    return await (rt.systemd ?? openSystemdSession)();
  } catch (err) {
    throw new BerthError({ op, id, field: "--systemd-cgroup", reason: (err as Error).message, cause: err });
  }
}

/** "berth: create c1: linux.resources.memory.limit: systemd StartTransientUnit berth-c1.scope: ...". */
export function systemdError(op: string, id: string, err: unknown): unknown {
  if (!(err instanceof SystemdError)) return err;
  return new BerthError({ op, id, field: err.field ?? "linux.cgroupsPath", reason: err.message, cause: err });
}

/**
 * Of the directories berth made for the container, those systemd does not own once the unit is
 * started: systemd realizes (and at stop removes) the unit's cgroup in cgroup2 and in the v1
 * hierarchies of the controllers it manages; the others (cpuset, freezer, ...) stay berth's.
 */
export function dirsSystemdLeaves(layout: CgroupLayout, created: readonly string[]): string[] {
  const inside = (dir: string, root: string) => dir === root || dir.startsWith(`${join(root)}/`);
  return created.filter((dir) => {
    if (layout.v2Mount && inside(dir, layout.v2Mount)) return false;
    const h = layout.v1Hierarchies.find((x) => inside(dir, x.mountPoint));
    return !h || !systemdOwnsHierarchy(h.data);
  });
}
