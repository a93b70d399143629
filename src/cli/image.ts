/** berth image load FILE|DIR | save IMAGE -o FILE | ls | inspect IMAGE | history IMAGE | rm IMAGE */
import { imageHistory, imageInspect, imageList, imageLoad, imageRemove, imageSave } from "../container";
import { BerthError } from "../errors";
import type { CliContext } from "./context";

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join("")).join("\n") + "\n";
}

export default async function imageVerb(ctx: CliContext): Promise<number> {
  const root = ctx.global.imageRoot;
  const action = String(ctx.argv.action);
  const args = ((ctx.argv.args as unknown[]) ?? []).map(String);
  const op = `image ${action}`;
  const need = (what: string): string => {
    if (!args[0]) throw new BerthError({ op, reason: `missing the ${what} argument` });
    return args[0];
  };
  switch (action) {
    case "load":
      for (const name of await imageLoad(root, need("FILE|DIR"))) ctx.stdout(`Loaded image: ${name}\n`);
      return 0;
    case "save": {
      const out = ctx.argv.output as string | undefined;
      if (!out) throw new BerthError({ op, id: args[0], reason: "--output FILE is required" });
      await imageSave(root, need("IMAGE"), out);
      return 0;
    }
    case "ls":
    case "list": {
      const all = imageList(root);
      if (ctx.argv.format === "json") ctx.stdout(JSON.stringify(all) + "\n");
      else ctx.stdout(table([["IMAGE", "ID", "CREATED", "SIZE"], ...all.map((i) => [i.name, i.id, i.created, String(i.size)])]));
      return 0;
    }
    case "inspect":
      ctx.stdout(JSON.stringify(imageInspect(root, need("IMAGE")), null, 2) + "\n");
      return 0;
    case "history": {
      const rows = imageHistory(root, need("IMAGE"));
      if (ctx.argv.format === "json") ctx.stdout(JSON.stringify(rows) + "\n");
      else ctx.stdout(table([["CREATED BY", "SIZE"], ...rows.map((r) => [r.createdBy, String(r.size)])]));
      return 0;
    }
    case "rm":
    case "remove":
      for (const name of imageRemove(root, need("IMAGE"))) ctx.stdout(`Untagged: ${name}\n`);
      return 0;
    default:
      throw new BerthError({ op: "image", reason: `unknown action "${action}": one of load, save, ls, inspect, history, rm` });
  }
}
