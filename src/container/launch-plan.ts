/**
 * create's "build plan" step: buildPlan (pure, plan/build.ts) over what the earlier steps
 * found and opened. `cgroupPlanInput` is shared with `check --explain`.
 */
import { BerthError } from "../errors";
import { buildPlan, PlanError, type LaunchPlan, type PlanInput } from "../plan";
import type { CgroupDriver, CgroupLayout } from "../cgroups";
import type { CreateContext } from "./create-context";
import type { CheckedHost } from "./host-check";
import type { ChildInputs } from "./inputs";
import type { BindSources } from "./rootfs";
import type { PreparedSeccomp } from "./seccomp";

/** The plan's view of the container's cgroups: `intoUnified`, whether clone3 places the process in the cgroup2 directory. */
export function cgroupPlanInput(layout: CgroupLayout, path: string, intoUnified: boolean): PlanInput["cgroup"] {
  return {
    mode: layout.mode,
    hierarchies: layout.v1Hierarchies.map((h) => ({ name: h.mountPoint.split("/").pop()!, mountPoint: h.mountPoint, data: h.data })),
    v2Mount: layout.v2Mount,
    path,
    intoUnified,
  };
}

export interface PlannedLaunch {
  plan: LaunchPlan;
  /** The same plan for the other answer to "does clone3 place it in the cgroup2 directory". */
  planFor: (intoUnified: boolean) => LaunchPlan;
  /** What `plan` was made for. */
  intoUnified: boolean;
  cgroupPath: string;
}

export function planLaunch(
  ctx: CreateContext,
  cgroups: CgroupDriver,
  layout: CgroupLayout,
  host: CheckedHost,
  binds: BindSources,
  seccomp: PreparedSeccomp,
  inputs: ChildInputs,
): PlannedLaunch {
  const { opts, id, spec, bundle, rootfs } = ctx;
  const { slots } = inputs;
  let cgroupPath = "";
  try {
    cgroupPath = cgroups.pathFor(spec.linux?.cgroupsPath, id);
    const planFor = (into: boolean) =>
      buildPlan({
        spec,
        rootfs,
        bundle: bundle.dir,
        noPivot: opts.noPivot,
        fds: {
          fifo: slots.fifo,
          namespaces: slots.namespaces,
          idmapped: slots.idmapped,
          bindTrees: inputs.bindTrees,
          startResult: slots.startResult,
        },
        id,
        notifySocket: inputs.notifySocket,
        extraEnv: inputs.extraEnv,
        bindSourceIsFile: binds.isFile,
        bindSourceIsProcfs: binds.isProcfs,
        cgroup: cgroupPlanInput(layout, cgroupPath, into),
        sessionKeyring: opts.noNewKeyring ? undefined : `_ses.${id}`,
        systemdCgroup: cgroups.kind === "systemd",
        selinux: host.facts.selinux,
        capLastCap: host.facts.capLastCap,
        seccomp: seccomp.seccomp,
      });
    // Planned for clone3 placing the process in the cgroup2 directory, as it does into one that
    // create makes (the usual case); placeCgroups re-plans for one that was there before.
    const intoUnified = layout.v2Mount !== undefined;
    return { plan: planFor(intoUnified), planFor, intoUnified, cgroupPath };
  } catch (err) {
    if (cgroupPath === "")
      throw new BerthError({
        op: "create",
        id,
        field: "linux.cgroupsPath",
        value: spec.linux?.cgroupsPath,
        reason: (err as Error).message.replace(/^linux\.cgroupsPath "[^"]*": /, ""),
      });
    if (err instanceof PlanError) throw new BerthError({ op: "create", id, field: err.field, value: err.value, reason: err.reason });
    throw err;
  }
}
