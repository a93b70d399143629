/** berth diff ID: A/C/D lines, the container's writable layer against its image. */
import { defaultRuntime, layerDiff } from "../container";
import type { CliContext } from "./context";

export default function diffVerb(ctx: CliContext): number {
  ctx.stdout(
    layerDiff(defaultRuntime(ctx.global.root), ctx.global.imageRoot, ctx.argv["container-id"] as string)
      .map((c) => `${c.kind} ${c.path}\n`)
      .join(""),
  );
  return 0;
}
