/** berth list [--format table|json] [-q] */
import { defaultRuntime, list } from "../container";
import type { CliContext } from "./context";

export default function listVerb(ctx: CliContext): number {
  const all = list(defaultRuntime(ctx.global.root));
  if (ctx.argv.quiet) {
    ctx.stdout(all.map((s) => s.id + "\n").join(""));
  } else if (ctx.argv.format === "json") {
    ctx.stdout(JSON.stringify(all) + "\n");
  } else {
    const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...all.map((s) => [s.id, String(s.pid ?? 0), s.status, s.bundle, s.created, s.owner])];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    ctx.stdout(rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join("")).join("\n") + "\n");
  }
  return 0;
}
