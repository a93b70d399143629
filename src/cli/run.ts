/** berth run [--bundle DIR] [--detach] [--keep] [--pid-file FILE] [--no-pivot] [--no-new-keyring] ID */
import { run } from "../container";
import { BerthError } from "../errors";
import type { CliContext } from "./context";
import { activationOptions, hookRuntime } from "./hook-runtime";

export default async function runVerb(ctx: CliContext): Promise<number> {
  const id = ctx.argv["container-id"] as string;
  if (ctx.argv["console-socket"]) throw new BerthError({ op: "run", id, field: "--console-socket", reason: "terminals are not supported by this build of berth yet" });
  const rt = hookRuntime(ctx);
  return run(rt, {
    id,
    bundle: ctx.argv.bundle as string | undefined,
    pidFile: ctx.argv["pid-file"] as string | undefined,
    noPivot: ctx.argv["no-pivot"] === true,
    noNewKeyring: ctx.argv["no-new-keyring"] === true,
    preserveFds: Number(ctx.argv["preserve-fds"] ?? 0),
    ...activationOptions(),
    detach: ctx.argv.detach === true,
    keep: ctx.argv.keep === true,
  });
}
