/**
 * Warnings of a config or process that validated: each goes to the log (rt.warn) as
 * `<op> <id>: <field> "<value>": <reason>`. A skipped capability changes what the process
 * gets, so the user must see it without --log or --debug, as runc shows its `level=warning`
 * line on stderr: those also go to stderr (rt.notice), where the CLI prints them as
 * `berth: create c1: process.capabilities.bounding[3] "CAP_NOPE": unknown capability, skipped`.
 */
import { renderProblem, type Problem } from "../errors";
import type { Runtime } from "./runtime";

/** The fields whose warnings reach stderr. */
const seen = (p: Problem): boolean => p.field !== undefined && /^process\.capabilities\.|^--cap$/.test(p.field);

export function reportWarnings(rt: Runtime, op: string, id: string, problems: readonly Problem[]): void {
  for (const p of problems) {
    if (p.severity !== "warning") continue;
    const line = `${op} ${id}: ${renderProblem(p)}`;
    if (seen(p)) (rt.notice ?? rt.warn)(line);
    else rt.warn(line);
  }
}
