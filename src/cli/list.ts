/** berth list [--format table|json] [-q] */
import { defaultRuntime, list } from "../container";
import { BerthError } from "../errors";
import type { CliContext } from "./context";

export default function listVerb(ctx: CliContext): number {
  // A state directory that cannot be listed is said on stderr (stdout stays the table or valid
  // JSON), as runc does, with the cure; and in the log, for an engine that reads only that.
  const all = list(defaultRuntime(ctx.global.root), (b) => {
    const cure = b.removable ? `: not listed; \`berth delete --force ${b.id}\` removes it` : ": not listed";
    ctx.logger.notice(new BerthError({ op: "list", id: b.id, field: b.dir, reason: b.reason + cure }).logLine());
  });
  if (ctx.argv.quiet) {
    ctx.stdout(all.map((s) => s.id + "\n").join(""));
  } else if (ctx.argv.format === "json") {
    ctx.stdout(JSON.stringify(all) + "\n");
  } else {
    // runc's table (tabwriter, 3 spaces of padding), in one pass for the widths and one for
    // the text: with 500 containers the spread-and-map version was a visible part of `list`.
    const rows = [
      ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
      ...all.map((s) => [s.id, String(s.pid ?? 0), s.status, s.bundle, s.created, s.owner]),
    ];
    const widths = [0, 0, 0, 0, 0];
    for (const r of rows) for (let c = 0; c < 5; c++) if (r[c]!.length > widths[c]!) widths[c] = r[c]!.length;
    let text = "";
    for (const r of rows) {
      for (let c = 0; c < 5; c++) text += r[c]!.padEnd(widths[c]! + 3);
      text += r[5] + "\n";
    }
    ctx.stdout(text);
  }
  return 0;
}
