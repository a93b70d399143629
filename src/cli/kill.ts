/** berth kill [--all] ID [SIGNAL] */
import { defaultRuntime, kill, parseSignal } from "../container";
import type { CliContext } from "./context";

export default function killVerb(ctx: CliContext): number {
  const id = ctx.argv["container-id"] as string;
  kill(defaultRuntime(ctx.global.root), id, parseSignal("kill", id, ctx.argv.signal as string | undefined), ctx.argv.all === true);
  return 0;
}
