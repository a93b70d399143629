/** berth create [--bundle DIR] [--pid-file FILE] [--console-socket PATH] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID */
import { create } from "../container";
import type { CliContext } from "./context";
import { activationOptions, hookRuntime } from "./hook-runtime";

export default async function createVerb(ctx: CliContext): Promise<number> {
  const id = ctx.argv["container-id"] as string;
  const rt = hookRuntime(ctx);
  const { pidfd } = await create(rt, {
    id,
    bundle: ctx.argv.bundle as string | undefined,
    pidFile: ctx.argv["pid-file"] as string | undefined,
    noPivot: ctx.argv["no-pivot"] === true,
    noNewKeyring: ctx.argv["no-new-keyring"] === true,
    systemdCgroup: ctx.global.systemdCgroup,
    preserveFds: Number(ctx.argv["preserve-fds"] ?? 0),
    ...activationOptions(),
    consoleSocket: ctx.argv["console-socket"] as string | undefined,
  });
  rt.native.closeFd(pidfd);
  return 0;
}
