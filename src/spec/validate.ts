/**
 * Validation of config.json and process.json: the precompiled schema validators (generated at
 * build time from spec-schemas/ by scripts/gen-validators.mjs: nothing is compiled at start),
 * then the semantic checks. All problems are returned, never just the first.
 */
import type { Problem } from "../errors";
import type * as Validators from "./generated/validators";
import { schemaErrorsToProblems, type SchemaError } from "./schema-errors";
import { semanticProblems } from "./semantic";
import type { Process, Spec } from "./types";

export interface Validated<T> {
  /** Present when there are no errors (warnings allowed). */
  value?: T;
  /**
   * Present when the schema found no error, even if a semantic check did: every field has its
   * type, so the checks that read a typed config (check's host and filesystem checks) can
   * still run and report their problems in the same run.
   */
  typed?: T;
  problems: Problem[];
}

/**
 * Loaded on first use: the generated code is ~260 KB, and the verbs that never validate
 * (state, start, kill, delete, list) should not read or parse it at start-up. The CLI bundles
 * keep it in a file of its own (scripts/bundle.mjs).
 */
let loaded: typeof Validators | undefined;
function validators(): typeof Validators {
  return (loaded ??= require("./generated/validators") as typeof Validators);
}

type Validator = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

function runSchema(validate: Validator, data: unknown, base = ""): Problem[] {
  if (validate(data)) return [];
  // A problem with the document as a whole (not an object at all) is located at the file.
  return schemaErrorsToProblems(validate.errors ?? [], data, base).map((p) => (p.field ? p : { ...p, field: base || "config.json" }));
}

/** Schema problems first, then semantic ones; one problem per field and reason. */
function merge(...lists: Problem[][]): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const p of lists.flat()) {
    const key = `${p.field}\u0000${p.reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

const hasErrors = (problems: Problem[]): boolean => problems.some((p) => p.severity === "error");

export function validateConfig(data: unknown): Validated<Spec> {
  const schema = runSchema(validators().validateConfig as Validator, data);
  // One message per field. Where the schema only says a field is missing or empty and a
  // semantic check says why it matters, keep the semantic one; otherwise (a wrong type, say)
  // the schema's message is the root cause and the semantic one would be noise.
  const semantic = semanticProblems(data);
  const semanticErrors = new Set(semantic.filter((p) => p.severity === "error").map((p) => p.field));
  const generic = (p: Problem) => /^(is required|must not be empty|is required with )/.test(p.reason);
  const kept = schema.filter((p) => !(generic(p) && semanticErrors.has(p.field)));
  const keptFields = new Set(kept.map((p) => p.field));
  const problems = merge(
    kept,
    semantic.filter((p) => !keptFields.has(p.field) || p.severity === "warning"),
  );
  const typed = hasErrors(schema) ? undefined : (data as Spec);
  return hasErrors(problems) ? { typed, problems } : { value: data as Spec, typed, problems };
}

/** A process.json (`exec --process`): located under "process" as in config.json. */
export function validateProcess(data: unknown, base = "process"): Validated<Process> {
  const problems = runSchema(validators().validateProcess as Validator, data, base);
  if (data !== null && typeof data === "object") {
    const shell = { ociVersion: "1.0.0", root: { path: "rootfs" }, process: data };
    for (const p of semanticProblems(shell)) {
      if (p.field?.startsWith("process")) problems.push({ ...p, field: base + p.field.slice("process".length) });
    }
  }
  return hasErrors(problems) ? { problems } : { value: data as Process, problems };
}

export function validateState(data: unknown): Problem[] {
  return runSchema(validators().validateState as Validator, data);
}

export function validateFeatures(data: unknown): Problem[] {
  return runSchema(validators().validateFeatures as Validator, data);
}
