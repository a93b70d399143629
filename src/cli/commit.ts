/** berth commit [-m MSG] ID IMAGE[:TAG] */
import { defaultRuntime, layerCommit } from "../container";
import type { CliContext } from "./context";

export default async function commitVerb(ctx: CliContext): Promise<number> {
  const r = await layerCommit(
    defaultRuntime(ctx.global.root),
    ctx.global.imageRoot,
    ctx.argv["container-id"] as string,
    String(ctx.argv.image),
    ctx.argv.message as string | undefined,
  );
  ctx.stdout(`${r.id}\n`);
  return 0;
}
