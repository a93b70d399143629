/** berth features: the runtime-spec features document, as JSON. */
import { defaultRuntime, featuresDocument } from "../container";
import type { CliContext } from "./context";
import { commit, version } from "./version";

export default function features(ctx: CliContext): number {
  ctx.stdout(JSON.stringify(featuresDocument(defaultRuntime(ctx.global.root), { version, commit }), null, "    ") + "\n");
  return 0;
}
