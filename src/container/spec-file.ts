/** `berth spec`: write the default config.json into a bundle, refusing to overwrite one. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../errors";
import { defaultSpec } from "../spec";
import { writeFileAtomic } from "../state";
import { bundleDir } from "./bundle";

export function writeDefaultSpec(bundle: string | undefined, rootless: boolean): string {
  const dir = bundleDir(bundle);
  const path = join(dir, "config.json");
  if (existsSync(path)) {
    throw new BerthError({ op: "spec", field: path, reason: "already exists; remove it first" });
  }
  const spec = defaultSpec({ rootless, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
  try {
    writeFileAtomic(path, JSON.stringify(spec, null, "\t") + "\n");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BerthError({ op: "spec", field: path, reason: "write", errno: e.code ?? "EIO", cause: err });
  }
  return path;
}
