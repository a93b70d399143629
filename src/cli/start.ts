/** berth start ID */
import { defaultRuntime, start } from "../container";
import type { CliContext } from "./context";

export default function startVerb(ctx: CliContext): number {
  start(defaultRuntime(ctx.global.root), ctx.argv["container-id"] as string);
  return 0;
}
