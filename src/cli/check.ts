/** berth check [--bundle DIR] [--format text|json] */
import { checkBundle, defaultRuntime, explainBundle, renderExplained } from "../container";
import { renderProblem } from "../errors";
import type { CliContext } from "./context";

export default function check(ctx: CliContext): number {
  const rt = defaultRuntime(ctx.global.root);
  const report = checkBundle(rt, ctx.argv.bundle as string | undefined);
  if (ctx.argv.explain && report.valid) {
    const explained = explainBundle(rt, ctx.argv.bundle as string | undefined);
    if (ctx.argv.format === "json") ctx.stdout(JSON.stringify(explained, null, 2) + "\n");
    else ctx.stdout(renderExplained(explained));
    return 0;
  }
  if (ctx.argv.format === "json") {
    ctx.stdout(JSON.stringify(report, (_k, v: unknown) => (v === Infinity ? "unlimited" : v), 2) + "\n");
    return report.valid ? 0 : 1;
  }
  const errors = report.problems.filter((p) => p.severity === "error").length;
  const warnings = report.problems.length - errors;
  for (const p of report.problems) {
    ctx.stdout(`${p.severity === "error" ? "error  " : "warning"} ${renderProblem(p)}\n`);
  }
  const counts = [errors && `${errors} error${errors > 1 ? "s" : ""}`, warnings && `${warnings} warning${warnings > 1 ? "s" : ""}`].filter(
    Boolean,
  );
  ctx.stdout(`${report.config}: ${counts.length ? counts.join(", ") : "ok"}\n`);
  return report.valid ? 0 : 1;
}
