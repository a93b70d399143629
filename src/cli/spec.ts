/** berth spec [--bundle DIR] [--rootless] [--oci-version VERSION] */
import { writeDefaultSpec } from "../container";
import type { CliContext } from "./context";

export default function spec(ctx: CliContext): number {
  // `--rootless` is also a global flag (a string); after the verb it is spec's boolean.
  const rootless = ctx.verbArgs.some((a) => a === "--rootless" || a === "--rootless=true");
  writeDefaultSpec(ctx.argv.bundle as string | undefined, rootless, ctx.argv["oci-version"] as string | undefined);
  return 0;
}
