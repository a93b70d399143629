/** berth pause ID: freeze the container's cgroup (no signal is sent). */
import { defaultRuntime, pause } from "../container";
import type { CliContext } from "./context";

export default async function pauseVerb(ctx: CliContext): Promise<number> {
  await pause(defaultRuntime(ctx.global.root), ctx.argv["container-id"] as string);
  return 0;
}
