/** berth run [--bundle DIR] [--detach] [--keep] [--pid-file FILE] [--console-socket PATH] [--no-pivot] [--no-new-keyring] ID */
import { run } from "../container";
import type { CliContext } from "./context";
import { activationOptions, hookRuntime } from "./hook-runtime";

export default async function runVerb(ctx: CliContext): Promise<number> {
  const id = ctx.argv["container-id"] as string;
  const rt = hookRuntime(ctx);
  return run(rt, {
    id,
    bundle: ctx.argv.bundle as string | undefined,
    pidFile: ctx.argv["pid-file"] as string | undefined,
    noPivot: ctx.argv["no-pivot"] === true,
    noNewKeyring: ctx.argv["no-new-keyring"] === true,
    systemdCgroup: ctx.global.systemdCgroup,
    preserveFds: Number(ctx.argv["preserve-fds"] ?? 0),
    ...activationOptions(),
    detach: ctx.argv.detach === true,
    keep: ctx.argv.keep === true,
    consoleSocket: ctx.argv["console-socket"] as string | undefined,
  });
}
