/** berth state ID: the OCI state as JSON. */
import { defaultRuntime, state } from "../container";
import type { CliContext } from "./context";

export default function stateVerb(ctx: CliContext): number {
  ctx.stdout(JSON.stringify(state(defaultRuntime(ctx.global.root), ctx.argv["container-id"] as string), null, 2) + "\n");
  return 0;
}
