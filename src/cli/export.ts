/** berth export -o FILE ID */
import { layerExport } from "../container";
import type { CliContext } from "./context";

export default async function exportVerb(ctx: CliContext): Promise<number> {
  await layerExport(ctx.global.imageRoot, ctx.argv["container-id"] as string, ctx.argv.output as string);
  return 0;
}
