/** berth delete [--force] ID */
import { defaultRuntime, destroy } from "../container";
import type { CliContext } from "./context";

export default async function deleteVerb(ctx: CliContext): Promise<number> {
  await destroy(defaultRuntime(ctx.global.root), ctx.argv["container-id"] as string, ctx.argv.force === true);
  return 0;
}
