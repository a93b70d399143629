/** berth bundle IMAGE DIR */
import { defaultRuntime, imageBundle } from "../container";
import type { CliContext } from "./context";

export default function bundleVerb(ctx: CliContext): number {
  imageBundle(defaultRuntime(ctx.global.root), ctx.global.imageRoot, String(ctx.argv.image), String(ctx.argv.dir));
  return 0;
}
