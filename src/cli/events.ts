/** berth events [--stats] [--interval 5s] ID: one JSON event per line, as runc prints them. */
import { defaultRuntime, events, parseInterval, stats, statsJson } from "../container";
import type { CliContext } from "./context";

export default async function eventsVerb(ctx: CliContext): Promise<number> {
  const id = ctx.argv["container-id"] as string;
  const rt = defaultRuntime(ctx.global.root);
  if (ctx.argv.stats === true) {
    ctx.stdout(statsJson(stats(rt, id)) + "\n");
    return 0;
  }
  const interval = parseInterval(id, String(ctx.argv.interval ?? "5s"));
  await events(rt, id, interval, (e) => ctx.stdout(statsJson(e) + "\n"));
  return 0;
}
