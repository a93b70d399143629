/** berth features: the runtime-spec features document, as JSON. */
import { featuresDocument } from "../container";
import type { CliContext } from "./context";
import { commit, version } from "./version";

export default function features(ctx: CliContext): number {
  ctx.stdout(JSON.stringify(featuresDocument({ version, commit }), null, "    ") + "\n");
  return 0;
}
