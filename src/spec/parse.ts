/**
 * config.json text -> a value, with a located message for malformed JSON. JSON.parse does the
 * work; only when it fails does jsonc-parser (strict mode: no comments, no trailing commas)
 * find where, since V8's messages often give no position.
 */
import { parse as scan, printParseErrorCode, type ParseError } from "jsonc-parser";
import type { Problem } from "../errors";

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/** "ValueExpected" -> "value expected" */
function describe(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

export type ParseResult = { ok: true; value: unknown } | { ok: false; problem: Problem };

export function parseJson(text: string, file = "config.json"): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const errors: ParseError[] = [];
    scan(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    let reason: string;
    if (first) {
      const { line, column } = lineColumn(text, first.offset);
      const token = text.slice(first.offset, first.offset + Math.max(1, Math.min(first.length, 20)));
      reason = `invalid JSON at line ${line} column ${column}: ${describe(printParseErrorCode(first.error))}${token.trim() ? ` near ${JSON.stringify(token)}` : ""}`;
    } else {
      reason = `invalid JSON: ${(err as Error).message}`;
    }
    return { ok: false, problem: { field: file, reason, severity: "error" } };
  }
}
