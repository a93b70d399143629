/**
 * config.json text -> a value, with a located message for malformed JSON. JSON.parse does the
 * work; only when it fails does jsonc-parser (strict mode: no comments, no trailing commas)
 * find where, since V8's messages often give no position.
 *
 * Nesting is bounded (MAX_JSON_DEPTH): JSON.parse takes any depth, but what reads the value
 * afterwards recurses -- JSON.stringify of the state, and jsonc-parser itself on malformed text --
 * and 100,000 nested arrays ran them out of stack ("internal error: Maximum call stack size
 * exceeded" from create and check).
 */
import { parse as scan, printParseErrorCode, type ParseError } from "jsonc-parser";
import type { Problem } from "../errors";
import { joinField } from "./field-path";

/** The deepest nesting of arrays and objects read. Real configs nest a handful of levels; Go's encoding/json (runc) stops at 10,000, more than berth's stack takes. */
export const MAX_JSON_DEPTH = 1000;

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

/** Where in the text nesting first goes deeper than MAX_JSON_DEPTH (skipping strings), or -1. */
function tooDeepAt(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: to its closing quote
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/**
 * The field of a value nested deeper than MAX_JSON_DEPTH, or undefined. Walked with a stack of
 * its own (the point is not to recurse); the field names the first three steps to it, which
 * say where in the config the nesting is.
 */
function tooDeepField(value: unknown): string | undefined {
  const stack: [unknown, number, string][] = [[value, 0, ""]];
  while (stack.length) {
    const [node, depth, field] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth >= MAX_JSON_DEPTH) return field;
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [k, v] of entries) stack.push([v, depth + 1, depth < 3 ? joinField(field, k) : field]);
  }
  return undefined;
}

const tooDeepReason = `nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`;

export function parseJson(text: string, file = "config.json"): ParseResult {
  try {
    const value = JSON.parse(text) as unknown;
    const deep = tooDeepField(value);
    // (A document that is an array has no fields: it is located at the file.)
    if (deep !== undefined)
      return { ok: false, problem: { field: deep && !Array.isArray(value) ? deep : file, reason: tooDeepReason, severity: "error" } };
    return { ok: true, value };
  } catch (err) {
    const deepAt = tooDeepAt(text);
    if (deepAt >= 0) {
      const { line, column } = lineColumn(text, deepAt);
      return {
        ok: false,
        problem: { field: file, reason: `invalid JSON at line ${line} column ${column}: ${tooDeepReason}`, severity: "error" },
      };
    }
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
