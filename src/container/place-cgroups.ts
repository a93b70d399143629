/**
 * create's "place cgroups" step, before the process exists: it must never run user code
 * outside its cgroups, nor before its limits are in place. What this host cannot apply is
 * refused before anything is made; then the driver prepares (systemd: the bus), the
 * directories are made and recorded, a frozen one refused, the limits written, the cgroup
 * given to the container's root where that applies, and the v2 device filter attached.
 */
import { constants, openSync } from "node:fs";
import {
  cgroupOwner,
  cgroupRemoveFailureText,
  cgroupSetFor,
  delegateCgroup,
  deviceFilterFor,
  frozenState,
  planWrites,
  plannedCgroupDirs,
  type CgroupDriver,
  type CgroupLayout,
  type CgroupLease,
  type CgroupPlacement,
  type CgroupSet,
} from "../cgroups";
import { BerthError } from "../errors";
import type { LaunchPlan } from "../plan";
import { cgroupErrors, cgroupErrorsAsync } from "./cgroup-driver";
import { summaryOf, type CreateContext } from "./create-context";
import type { PlannedLaunch } from "./launch-plan";
import type { Runtime } from "./runtime";
import { faultPoint } from "../fault";

export interface PlacedCgroups {
  placement: CgroupPlacement;
  lease: CgroupLease;
  /** The plan, made again if the cgroup2 directory was there before (joined, not cloned into). */
  plan: LaunchPlan;
  intoUnified: boolean;
  /** The cgroup2 directory, open (CLONE_INTO_CGROUP). */
  cgroupFd?: number;
  /** Directories that were there before and that another berth container uses too. */
  cgroupShared: string[];
  /** With a memory limit: the cgroups whose OOM counters tell that the limit killed berth-init. */
  memorySet?: CgroupSet;
}

export async function placeCgroups(
  ctx: CreateContext,
  cgroups: CgroupDriver,
  layout: CgroupLayout,
  planned: PlannedLaunch,
): Promise<PlacedCgroups> {
  const { rt, id, spec, undo, creating } = ctx;
  const { cgroupPath } = planned;
  cgroupErrors("create", id, () => planWrites(cgroupSetFor(layout, cgroupPath), spec.linux?.resources));
  // The driver splits the limits (systemd owns those it has properties for, the files get the
  // rest) and opens what it needs (--systemd-cgroup: the bus, now, so that no systemd means no
  // process); closed when create returns or is undone.
  const lease = await cgroupErrorsAsync("create", id, () =>
    cgroups.prepare({ id, cgroupsPath: spec.linux?.cgroupsPath, resources: spec.linux?.resources, layout, undo }),
  );
  // Recorded before they are made: a create killed while making them leaves a record that
  // names them (replaced by what was really made just below).
  rt.store.writeSummary(summaryOf({ ...creating, cgroupPath, cgroupDirs: plannedCgroupDirs(layout, cgroupPath), systemdUnit: lease.unit }));
  const placement = cgroups.create(layout, cgroupPath);
  undo.push("remove cgroups", async () => {
    const failed = await cgroups.remove(placement.created);
    if (failed.length) throw new Error(failed.map(cgroupRemoveFailureText).join(", "));
  });
  faultPoint("create", id, "create cgroups");
  // A cgroupsPath shared with another container (runc allows it, with a warning): its
  // processes are not this container's, and the directories are removed by whichever of the
  // berth containers that use them is deleted last (record.cgroupShared).
  const cgroupShared = lease.mayShare ? sharedCgroupDirs(rt, placement) : [];
  const leafDir = placement.unified ?? placement.dirs[0];
  const already = leafDir && !placement.created.includes(leafDir) ? cgroups.pids(leafDir).length : 0;
  if (already > 0)
    (rt.notice ?? rt.warn)(
      `create ${id}: the container's cgroup ${leafDir} is not empty: ${already} process(es) of another container or program are in it`,
    );
  // A frozen cgroup (one that was there, or one below a frozen parent) would stop berth-init
  // at its first instruction, and create would wait for ever: refuse it now. Not ours to thaw.
  for (const dir of placement.dirs) {
    const frozen = frozenState(dir);
    if (frozen)
      throw new BerthError({
        op: "create",
        id,
        field: "linux.cgroupsPath",
        value: spec.linux?.cgroupsPath ?? cgroupPath,
        reason: `the cgroup is frozen (${frozen}): thaw it first`,
      });
  }
  // clone3 places the process in the cgroup2 directory only if create made it; into one that
  // was there already (a cgroupsPath shared with another container) it is moved, with a plan
  // for that (cgroups/placement.ts, joinCgroups, says why).
  const intoUnified = placement.unified !== undefined && placement.created.includes(placement.unified);
  const plan = intoUnified !== planned.intoUnified ? planned.planFor(intoUnified) : planned.plan;
  const set = cgroupSetFor(layout, cgroupPath, placement.created);
  cgroupErrors("create", id, () => cgroups.apply(set, lease.fileResources, (m) => rt.warn(`create ${id}: ${m}`)));
  faultPoint("create", id, "apply cgroup limits");
  const cgroupFd = placement.unified ? openUnified(ctx, layout, cgroupPath, placement) : undefined;
  const memorySet = spec.linux?.resources?.memory?.limit ? set : undefined;
  return { placement, lease, plan, intoUnified, cgroupFd, cgroupShared, memorySet };
}

/** Give the cgroup2 directory to the container's root, open it, and attach the device filter. */
function openUnified(
  ctx: CreateContext,
  layout: CgroupLayout,
  cgroupPath: string,
  placement: CgroupPlacement & { unified?: string },
): number {
  const { rt, id, spec, parentFds } = ctx;
  const unified = placement.unified!;
  const owner = cgroupOwner(spec, layout.mode);
  if (owner !== undefined) {
    // Before the clone: the container's root owns its cgroup from its first instruction.
    try {
      delegateCgroup(unified, owner);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new BerthError({
        op: "create",
        id,
        field: "linux.cgroupsPath",
        value: spec.linux?.cgroupsPath ?? cgroupPath,
        reason: `give the cgroup to host uid ${owner} (cgroup ownership): chown ${e.path ?? unified}`,
        errno: e.code ?? "EIO",
        cause: err,
      });
    }
    faultPoint("create", id, "delegate the cgroup");
  }
  const cgroupFd = parentFds.add(openSync(unified, constants.O_RDONLY | constants.O_DIRECTORY));
  // cgroup v2 device rules: an eBPF program on the cgroup, attached before the process is
  // cloned into it (CLONE_INTO_CGROUP), so nothing in the container ever runs unfiltered.
  const filter = cgroupErrors("create", id, () =>
    deviceFilterFor(cgroupSetFor(layout, cgroupPath, placement.created), spec.linux?.resources),
  );
  if (filter) {
    if (!rt.native.deviceFilterAttach)
      throw new BerthError({
        op: "create",
        id,
        field: "linux.resources.devices",
        reason: "the cgroup v2 device filter is not available in this build of berth",
      });
    try {
      rt.native.deviceFilterAttach(cgroupFd, filter);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new BerthError({
        op: "create",
        id,
        field: "linux.resources.devices",
        reason: `cannot attach the cgroup v2 device filter: ${e.syscall ?? e.message}`,
        errno: e.code,
      });
    }
    faultPoint("create", id, "attach the device filter");
  }
  return cgroupFd;
}

/** The directories of `placement` that were there already and that another berth container of this store made or shares. */
function sharedCgroupDirs(rt: Runtime, placement: CgroupPlacement): string[] {
  const existing = placement.dirs.filter((d) => !placement.created.includes(d));
  if (existing.length === 0) return [];
  const inUse = rt.store.cgroupDirsInUse();
  return existing.filter((d) => inUse.has(d));
}
