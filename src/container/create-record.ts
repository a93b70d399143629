/**
 * create's last step: the record of a created container (state.json, fsynced) and --pid-file.
 */
import { existsSync, unlinkSync } from "node:fs";
import { resolve } from "node:path";
import { BerthError } from "../errors";
import type { LaunchPlan } from "../plan";
import { PID_FILE_WRITE, writeFileAtomic, type ContainerRecord } from "../state";
import type { CreateContext } from "./create-context";
import { notReadyError, type LaunchedInit } from "./create-init";
import { procStat } from "./proc";
import { faultPoint } from "../fault";

export async function writeCreatedRecord(
  ctx: CreateContext,
  launched: LaunchedInit,
  plan: LaunchPlan,
  hasStartResult: boolean,
  cgroupDirs: string[],
): Promise<ContainerRecord> {
  const { rt, opts, id, undo, creating } = ctx;
  const stat = procStat(launched.pid);
  if (!stat) throw await notReadyError(ctx, launched);
  const record: ContainerRecord = {
    ...creating,
    status: "created",
    pidStartTime: stat.startTime,
    cgroupDirs,
    startHookOps: hasStartResult
      ? plan.ops.flatMap((o, i) => (o.op === "runHook" && o.origin.startsWith("hooks.startContainer") ? [i] : []))
      : undefined,
    userns: plan.userns,
  };
  rt.store.write(record);
  faultPoint("create", id, "write state");
  if (opts.pidFile) {
    const pidFile = resolve(opts.pidFile);
    try {
      // Atomically (temp + rename), as runc does: engines poll for it, and must never read
      // an empty or partial pid. Not fsynced: the pid names a process no crash leaves alive,
      // so durability buys nothing here (atomic.ts).
      writeFileAtomic(pidFile, String(launched.pid), 0o644, PID_FILE_WRITE);
    } catch (err) {
      throw new BerthError({
        op: "create",
        id,
        field: "--pid-file",
        value: opts.pidFile,
        reason: "write",
        errno: (err as NodeJS.ErrnoException).code ?? "EIO",
        cause: err,
      });
    }
    undo.push(`remove ${pidFile}`, () => {
      if (existsSync(pidFile)) unlinkSync(pidFile);
    });
    faultPoint("create", id, "write the pid file");
  }
  return record;
}
