/** `berth spec`: write the default config.json into a bundle, refusing to overwrite one. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../errors";
import { defaultSpec, SPEC_VERSION } from "../spec";
import { writeFileAtomic } from "../state";
import { bundleDir } from "./bundle";

/** A version `--oci-version` may ask for: a release from 1.0.0 up to the one berth implements. */
function checkOciVersion(v: string): void {
  const m = /^1\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(v);
  const [, maxMinor = "0", maxPatch = "0"] = /^1\.(\d+)\.(\d+)$/.exec(SPEC_VERSION) ?? [];
  const within = m && (Number(m[1]) < Number(maxMinor) || (Number(m[1]) === Number(maxMinor) && Number(m[2]) <= Number(maxPatch)));
  if (!within)
    throw new BerthError({
      code: "invalid-argument",
      op: "spec",
      field: "--oci-version",
      value: v,
      reason: `must be a runtime-spec version from 1.0.0 to ${SPEC_VERSION}`,
    });
}

export function writeDefaultSpec(bundle: string | undefined, rootless: boolean, ociVersion?: string): string {
  if (ociVersion !== undefined) checkOciVersion(ociVersion);
  const dir = bundleDir(bundle);
  const path = join(dir, "config.json");
  if (existsSync(path)) {
    throw new BerthError({ op: "spec", field: path, reason: "already exists; remove it first" });
  }
  const spec = defaultSpec({ rootless, ociVersion, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
  try {
    writeFileAtomic(path, JSON.stringify(spec, null, "\t") + "\n");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BerthError({ op: "spec", field: path, reason: "write", errno: e.code ?? "EIO", cause: err });
  }
  return path;
}
