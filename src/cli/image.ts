/** berth image load FILE|DIR | save IMAGE -o FILE | ls [-q] | inspect IMAGE | history IMAGE | rm IMAGE */
import { defaultRuntime, imageHistory, imageInspect, imageList, imageLoad, imageRemove, imageSave, type LoadProgress } from "../container";
import { BerthError } from "../errors";
import type { CliContext } from "./context";
import { createdAgo, humanSize } from "./human";

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3)))
          .join("")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

/**
 * `image load`'s progress on stderr, when stderr is a terminal: one line rewritten in place
 * (at most ten times a second) while an archive is read or a layer unpacked, then one line per
 * layer that stays. When stderr is not a terminal (an engine, a log, a pipe) nothing is
 * printed: success prints nothing on stderr.
 */
export function progressPrinter(write: (s: string) => void, now: () => number = Date.now): (p: LoadProgress) => void {
  let last = 0;
  let live = false;
  return (p) => {
    const what = p.phase === "archive" ? "Reading archive" : `Layer ${p.index}/${p.count} ${p.layer!.slice(7, 19)}`;
    if (p.done) {
      const tail = p.phase === "archive" ? humanSize(p.total) : p.existing ? "already exists" : `${humanSize(p.total)} unpacked`;
      write(`${live ? "\r\x1b[K" : ""}${what}: ${tail}\n`);
      live = false;
      return;
    }
    const t = now();
    if (live && t - last < 100) return;
    last = t;
    const pct = p.total ? Math.floor((p.bytes / p.total) * 100) : 100;
    write(`\r\x1b[K${what}: ${humanSize(p.bytes)} / ${humanSize(p.total)} (${pct}%)`);
    live = true;
  };
}

export default async function imageVerb(ctx: CliContext): Promise<number> {
  const root = ctx.global.imageRoot;
  const rt = defaultRuntime(ctx.global.root);
  const action = String(ctx.argv.action);
  const args = ((ctx.argv.args as unknown[]) ?? []).map(String);
  const op = `image ${action}`;
  const need = (what: string): string => {
    if (!args[0]) throw new BerthError({ op, reason: `missing the ${what} argument` });
    return args[0];
  };
  switch (action) {
    case "load": {
      const progress = process.stderr.isTTY ? progressPrinter((s) => process.stderr.write(s)) : undefined;
      for (const name of await imageLoad(rt, root, need("FILE|DIR"), { onProgress: progress })) ctx.stdout(`Loaded image: ${name}\n`);
      return 0;
    }
    case "save": {
      const out = ctx.argv.output as string | undefined;
      if (!out) throw new BerthError({ op, id: args[0], reason: "--output FILE is required" });
      await imageSave(rt, root, need("IMAGE"), out);
      return 0;
    }
    case "ls":
    case "list": {
      const all = imageList(rt, root);
      if (ctx.argv.quiet === true) ctx.stdout([...new Set(all.map((i) => i.id))].map((id) => `${id}\n`).join(""));
      else if (ctx.argv.format === "json") ctx.stdout(JSON.stringify(all) + "\n");
      else
        ctx.stdout(
          table([["IMAGE", "ID", "CREATED", "SIZE"], ...all.map((i) => [i.name, i.id, createdAgo(i.created), humanSize(i.size)])]),
        );
      return 0;
    }
    case "inspect":
      ctx.stdout(JSON.stringify(imageInspect(rt, root, need("IMAGE")), null, 2) + "\n");
      return 0;
    case "history": {
      const rows = imageHistory(rt, root, need("IMAGE"));
      if (ctx.argv.format === "json") ctx.stdout(JSON.stringify(rows) + "\n");
      else
        ctx.stdout(
          table([
            ["CREATED", "CREATED BY", "SIZE", "COMMENT"],
            ...rows.map((r) => [createdAgo(r.created), r.createdBy, humanSize(r.size), r.comment ?? ""]),
          ]),
        );
      return 0;
    }
    case "rm":
    case "remove":
      for (const name of imageRemove(rt, root, need("IMAGE"))) ctx.stdout(`Untagged: ${name}\n`);
      return 0;
    default:
      throw new BerthError({ op: "image", reason: `unknown action "${action}": one of load, save, ls, inspect, history, rm` });
  }
}
