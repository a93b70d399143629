/**
 * The systemd cgroup driver (--systemd-cgroup): the cgroupfs directory work (it makes the
 * scope's directories before the init is cloned into them), then a transient scope unit that
 * systemd adopts them with (systemd.ts says why in that order). systemd takes the limits it has
 * properties for (systemd-props.ts); the files get the rest. At delete, stopping the unit
 * removes the directories systemd owns; berth removes the others.
 */
import { join } from "node:path";
import type { CgroupLayout } from "./detect";
import type { CgroupDirs, CgroupDriver, CgroupLease } from "./driver";
import { cgroupSetFor } from "./files";
import { systemdCgroupPath } from "./placement";
import { readStats } from "./stats";
import { startUnit, stopUnit, setUnitResources, SystemdConnectError, systemdOwnsHierarchy, type SystemdSession } from "./systemd";
import { systemdUnitOf, unitResourceProperties } from "./systemd-props";
import { faultPoint } from "../fault";

/** `connect`: a new session to systemd's Manager for each verb that needs one. */
export function systemdCgroupDriver(dirs: CgroupDirs, connect: () => Promise<SystemdSession>): CgroupDriver {
  const open = async (): Promise<SystemdSession> => {
    try {
      return await connect();
    } catch (err) {
      throw new SystemdConnectError((err as Error).message, err);
    }
  };
  return {
    ...dirs,
    kind: "systemd",
    pathFor: systemdCgroupPath,
    async prepare(req): Promise<CgroupLease> {
      const { id, layout, undo } = req;
      const unit = systemdUnitOf(req.cgroupsPath, id);
      // Checked before the bus is opened: no systemd means no process.
      const fileResources = unitResourceProperties(req.resources, layout.mode).rest;
      const session = await open();
      let connected = true;
      const close = () => {
        if (connected) session.bus.close();
        connected = false;
      };
      undo.push("close the systemd connection", close);
      faultPoint("create", id, "connect to systemd");
      return {
        unit: unit.unit,
        fileResources,
        // A scope is the container's alone.
        mayShare: false,
        close,
        async adopt({ pid, path, placement, undo: undoAfter, stopInit, warn, record }) {
          // The init exists, in the scope's directory already: systemd adopts both. From here
          // systemd owns those directories.
          await startUnit(session, { ...unit, id, pid, mode: layout.mode, resources: req.resources, warn });
          faultPoint("create", id, "start the systemd unit");
          // Undone before the init's own undo (newest first), so this step kills the init, and
          // waits for its death, before StopUnit: systemd stops a scope with SIGTERM, which the
          // init of a pid namespace never receives from outside it (pid_namespaces(7)), so
          // StopUnit would wait out the unit's stop timeout before its SIGKILL. Once the init is
          // dead systemd stops the scope at once and removes its cgroup; "remove cgroups" then
          // finds systemd's directories gone (ENOENT is fine).
          undoAfter.push(`stop systemd unit ${unit.unit}`, async () => {
            let killFailed: unknown;
            try {
              await stopInit();
            } catch (err) {
              killFailed = err;
            }
            await stopUnit(session, unit.unit);
            if (killFailed !== undefined) throw killFailed;
          });
          const left = dirsSystemdLeaves(layout, placement.created);
          record(left);
          // systemd rewrote the v1 devices.* files when it realized the unit, from the unit's
          // DevicePolicy=strict + DeviceAllow (systemd-props.ts): the same rules, except those
          // it has no syntax for, which berth writes again here.
          const set = cgroupSetFor(layout, path, []);
          if (set.v1.devices)
            dirs.apply({ mode: "legacy", v1: { devices: set.v1.devices } }, { devices: req.resources?.devices }, () => undefined);
          return left;
        },
      };
    },
    async update(target, res, warn) {
      let rest = res as typeof res | undefined;
      if (target.unit) {
        // systemd owns the limits it has properties for: SetUnitProperties, then the files for the rest.
        const session = await open();
        try {
          rest = await setUnitResources(session, target.unit, res, target.set.mode);
        } finally {
          session.bus.close();
        }
      }
      dirs.apply(target.set, rest, warn);
    },
    async release(target) {
      if (!target.unit) return;
      // systemd made the unit's cgroup and removes it: stop the unit (and reset it, if it
      // failed); berth removes only the directories systemd does not own (record.cgroupDirs).
      const session = await open();
      try {
        await stopUnit(session, target.unit);
      } finally {
        session.bus.close();
      }
      faultPoint("delete", target.id, "stop the systemd unit");
    },
    stats: readStats,
  };
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
