/**
 * ajv's errors -> Problems with field paths and plain reasons.
 *
 * ajv (allErrors) reports every failing keyword; a value that fails an `anyOf` also reports
 * why it failed each branch, which reads as noise ("must be string", "must be integer", "must
 * match some schema"). We keep one problem per location and keyword family, and for an anyOf
 * keep only the summary.
 */
import type { Problem } from "../errors";
import { joinField, pointerToField, valueAt } from "./field-path";

/** The subset of ajv's ErrorObject we read (the generated validators produce these). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string;
}

const typeNames: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "a boolean (true or false)",
  object: "an object",
  array: "an array",
  null: "null",
};

function typeReason(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(",");
  return "must be " + types.map((t) => typeNames[t] ?? t).join(" or ");
}

function reasonFor(e: SchemaError): string | undefined {
  const p = e.params;
  switch (e.keyword) {
    case "type":
      return typeReason(p.type);
    case "enum":
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => String(v)).join(", ")}`;
    case "const":
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case "minimum":
    case "exclusiveMinimum":
    case "maximum":
    case "exclusiveMaximum":
      return `must be ${p.comparison} ${String(p.limit)}`;
    case "minLength":
      return p.limit === 1 ? "must not be empty" : `must be at least ${String(p.limit)} characters`;
    case "maxLength":
      return `must be at most ${String(p.limit)} characters`;
    case "minItems":
      return p.limit === 1 ? "must not be empty" : `must have at least ${String(p.limit)} entries`;
    case "maxItems":
      return `must have at most ${String(p.limit)} entries`;
    case "minProperties":
      return "must not be empty";
    case "uniqueItems":
      return `must not repeat an entry (entries ${String(p.j)} and ${String(p.i)} are equal)`;
    case "pattern":
      return `must match ${String(p.pattern)}`;
    case "anyOf":
    case "oneOf":
      return "is not any of the forms the spec allows";
    case "if":
    case "then":
    case "else":
    case "not":
      return e.keyword === "not" ? "is not allowed here" : undefined;
    case "additionalProperties":
      return undefined;
    case "dependencies":
    case "dependentRequired":
      return `is required with ${String(p.property)}`;
    default:
      return e.message ?? `fails ${e.keyword}`;
  }
}

export function schemaErrorsToProblems(errors: readonly SchemaError[], data: unknown, base = ""): Problem[] {
  // Drop the branch errors that an anyOf/oneOf summarises: ajv pushes them before the summary,
  // at or below the same instance path.
  const dropped = new Set<number>();
  errors.forEach((e, i) => {
    if (e.keyword !== "anyOf" && e.keyword !== "oneOf") return;
    for (let j = 0; j < i; j++) {
      const other = errors[j]!;
      if (other.instancePath === e.instancePath || other.instancePath.startsWith(e.instancePath + "/")) {
        dropped.add(j);
      }
    }
  });

  const problems: Problem[] = [];
  const seen = new Set<string>();
  errors.forEach((e, i) => {
    if (dropped.has(i)) return;
    const reason = reasonFor(e);
    if (reason === undefined) return;
    let field = pointerToField(e.instancePath, data);
    let value: unknown = valueAt(data, e.instancePath);
    if (e.keyword === "required" || e.keyword === "dependencies" || e.keyword === "dependentRequired") {
      field = joinField(field, String(e.params.missingProperty));
      value = undefined;
    }
    if (base) field = field ? (field.startsWith("[") ? base + field : `${base}.${field}`) : base;
    // Objects and arrays are not worth echoing in a message; scalars are.
    if (value !== null && typeof value === "object") value = undefined;
    const problem: Problem = {
      field: field || undefined,
      value,
      reason: e.keyword === "required" ? "is required" : reason,
      severity: "error",
    };
    const key = `${problem.field}\u0000${problem.reason}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push(problem);
  });
  return problems;
}
