/** berth completion [bash]: the completion script, made from the command table (docs.ts). */
import { BerthError } from "../errors";
import type { CliContext } from "./context";
import { bashCompletion } from "./docs";

export default function completion(ctx: CliContext): number {
  const shell = (ctx.argv.shell as string | undefined) ?? "bash";
  if (shell !== "bash")
    throw new BerthError({ code: "invalid-argument", op: "completion", field: "shell", value: shell, reason: "only bash is supported" });
  ctx.stdout(bashCompletion());
  return 0;
}
