/** berth export -o FILE ID */
import { defaultRuntime, layerExport } from "../container";
import type { CliContext } from "./context";

export default async function exportVerb(ctx: CliContext): Promise<number> {
  await layerExport(defaultRuntime(ctx.global.root), ctx.global.imageRoot, ctx.argv["container-id"] as string, ctx.argv.output as string);
  return 0;
}
