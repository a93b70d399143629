/**
 * Which CgroupDriver a container has, chosen in this one place: --systemd-cgroup at create,
 * and for every later verb the record (a container with a systemd unit was made by the systemd
 * driver, whatever flags the later call has, as runc reads its manager from its state). And the
 * cgroups room's errors as the user reads them, located at the config field or flag.
 */
import {
  CgroupWriteError,
  openSystemdSession,
  ResourceError,
  SystemdConnectError,
  systemdCgroupDriver,
  SystemdError,
  type CgroupDriver,
} from "../cgroups";
import { BerthError } from "../errors";
import type { ContainerSummary } from "../state";
import type { Runtime } from "./runtime";

export function cgroupDriver(rt: Runtime, systemd: boolean): CgroupDriver {
  if (!systemd) return rt.cgroups;
  // rt.systemd is read at each connection: a caller (a test) may replace it on a Runtime it holds.
  return systemdCgroupDriver(rt.cgroups, () => (rt.systemd ?? openSystemdSession)());
}

/** The driver of an existing container. */
export function cgroupDriverOf(rt: Runtime, record: Pick<ContainerSummary, "systemdUnit">): CgroupDriver {
  return cgroupDriver(rt, record.systemdUnit !== undefined);
}

/**
 * What a driver threw, as a BerthError: a limit this host cannot take or a write it refused at
 * its config field; "berth: create c1: linux.resources.memory.limit: systemd
 * StartTransientUnit berth-c1.scope: ..."; no systemd at --systemd-cgroup. Others unchanged.
 */
export function cgroupError(op: string, id: string, err: unknown): unknown {
  if (err instanceof ResourceError) return new BerthError({ op, id, field: err.field, value: err.value, reason: err.reason });
  if (err instanceof CgroupWriteError) {
    const isErrno = /^E[A-Z0-9]+$/.test(err.code);
    return new BerthError({
      op,
      id,
      field: err.field,
      value: err.value,
      reason: `write ${err.file}${isErrno ? "" : `: ${err.code}`}`,
      errno: isErrno ? err.code : undefined,
    });
  }
  if (err instanceof SystemdError)
    return new BerthError({ op, id, field: err.field ?? "linux.cgroupsPath", reason: err.message, cause: err });
  if (err instanceof SystemdConnectError) return new BerthError({ op, id, field: err.field, reason: err.reason, cause: err.original });
  return err;
}

/** Run a cgroup step, turning what it throws into the user's error (cgroupError). */
export function cgroupErrors<T>(op: string, id: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw cgroupError(op, id, err);
  }
}

export async function cgroupErrorsAsync<T>(op: string, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw cgroupError(op, id, err);
  }
}
