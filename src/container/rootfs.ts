/**
 * create's "prepare rootfs" step: the image rootfs mounted (a bundle made by `berth bundle`),
 * root.path checked, and each bind source looked at (a file needs a file to mount on; a missing
 * one is an error now, not in berth-init). `bindSources` is shared with `check --explain`.
 */
import { statfsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { BerthError } from "../errors";
import { mountKind, type Spec } from "../spec";
import type { CreateContext } from "./create-context";
import { mountImageRootfs } from "./image";
import { faultPoint } from "../fault";

/** statfs(2)'s f_type of a procfs. */
const PROC_SUPER_MAGIC = 0x9fa0;

/** What the plan must know of each bind source (by mount index). */
export interface BindSources {
  isFile: (index: number) => boolean;
  isProcfs: (index: number) => boolean;
}

/**
 * Stat each bind mount's source. `onError` decides what a source that cannot be looked at is:
 * create's error at mounts[i].source, or nothing (explain: treated as a directory).
 */
export function bindSources(spec: Spec, bundleDir: string, onError: (index: number, err: NodeJS.ErrnoException) => void): BindSources {
  const isFile: boolean[] = [];
  const isProcfs: boolean[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    if (!mountKind(m).bind) return;
    const source = resolve(bundleDir, m.source ?? "");
    try {
      isFile[i] = !statSync(source).isDirectory();
      isProcfs[i] = statfsSync(source).type === PROC_SUPER_MAGIC;
    } catch (err) {
      onError(i, err as NodeJS.ErrnoException);
    }
  });
  return { isFile: (i) => isFile[i] ?? false, isProcfs: (i) => isProcfs[i] ?? false };
}

export function prepareRootfs(ctx: CreateContext): BindSources {
  const { rt, id, spec, rootfs, undo, bundle } = ctx;
  // A bundle made by `berth bundle`: the image's layers plus a writable layer, mounted here.
  const unmountImage = mountImageRootfs(rt.native, id, spec, rootfs);
  if (unmountImage) undo.push(`remove the image rootfs at ${rootfs}`, unmountImage);
  if (unmountImage) faultPoint("create", id, "mount the image rootfs");
  try {
    if (!statSync(rootfs).isDirectory())
      throw new BerthError({ op: "create", id, field: "root.path", value: spec.root!.path, reason: "is not a directory" });
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new BerthError({
      op: "create",
      id,
      field: "root.path",
      value: spec.root!.path,
      reason: "stat",
      errno: (err as NodeJS.ErrnoException).code ?? "EIO",
    });
  }
  return bindSources(spec, bundle.dir, (i, err) => {
    throw new BerthError({
      op: "create",
      id,
      field: `mounts[${i}].source`,
      value: spec.mounts![i]!.source,
      reason: "stat",
      errno: err.code ?? "EIO",
    });
  });
}
