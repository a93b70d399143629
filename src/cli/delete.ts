/** berth delete [--force] ID */
import { destroy } from "../container";
import type { CliContext } from "./context";
import { hookRuntime } from "./hook-runtime";

export default async function deleteVerb(ctx: CliContext): Promise<number> {
  await destroy(hookRuntime(ctx), ctx.argv["container-id"] as string, ctx.argv.force === true);
  return 0;
}
