/**
 * A bundle on disk: its config.json read, parsed and validated. Problems carry field paths;
 * warnings are returned alongside a valid spec.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { BerthError, problemsError, type Problem } from "../errors";
import { parseJson, validateConfig, type Spec } from "../spec";

export interface LoadedBundle {
  /** Absolute bundle directory. */
  dir: string;
  configPath: string;
  spec: Spec;
  warnings: Problem[];
}

/** Resolve `--bundle` as runc does: relative to the cwd; default the cwd. */
export function bundleDir(bundle: string | undefined, cwd = process.cwd()): string {
  if (!bundle) return cwd;
  return isAbsolute(bundle) ? resolve(bundle) : resolve(cwd, bundle);
}

/** Read and parse config.json; problems instead of a throw, so `check` can report them all. */
export function readConfig(dir: string, op: string, id?: string): { data?: unknown; problems: Problem[] } {
  const configPath = join(dir, "config.json");
  let text: string;
  try {
    text = readFileSync(configPath, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    throw new BerthError({ op, id, field: configPath, reason: "open", errno: code, cause: err });
  }
  const parsed = parseJson(text, configPath);
  return parsed.ok ? { data: parsed.value, problems: [] } : { problems: [parsed.problem] };
}

export function loadBundle(bundle: string | undefined, op: string, id?: string): LoadedBundle {
  const dir = bundleDir(bundle);
  const { data, problems } = readConfig(dir, op, id);
  if (data === undefined) throw problemsError(op, id, problems);
  const result = validateConfig(data);
  if (!result.value) throw problemsError(op, id, result.problems);
  return { dir, configPath: join(dir, "config.json"), spec: result.value, warnings: result.problems };
}
