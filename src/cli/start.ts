/** berth start ID */
import { start } from "../container";
import type { CliContext } from "./context";
import { hookRuntime } from "./hook-runtime";

export default async function startVerb(ctx: CliContext): Promise<number> {
  await start(hookRuntime(ctx), ctx.argv["container-id"] as string);
  return 0;
}
