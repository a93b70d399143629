/** berth kill [--all] ID [SIGNAL] */
import { defaultRuntime, kill, parseSignal } from "../container";
import type { CliContext } from "./context";

export default async function killVerb(ctx: CliContext): Promise<number> {
  const id = ctx.argv["container-id"] as string;
  await kill(defaultRuntime(ctx.global.root), id, parseSignal("kill", id, ctx.argv.signal as string | undefined), ctx.argv.all === true);
  return 0;
}
