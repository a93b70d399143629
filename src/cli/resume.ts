/** berth resume ID: thaw a paused container. */
import { defaultRuntime, resume } from "../container";
import type { CliContext } from "./context";

export default async function resumeVerb(ctx: CliContext): Promise<number> {
  await resume(defaultRuntime(ctx.global.root), ctx.argv["container-id"] as string);
  return 0;
}
