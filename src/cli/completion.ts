/** berth completion [bash|zsh]: the completion script, made from the command table (docs.ts). */
import { BerthError } from "../errors";
import type { CliContext } from "./context";
import { bashCompletion, zshCompletion } from "./docs";

export default function completion(ctx: CliContext): number {
  const shell = (ctx.argv.shell as string | undefined) ?? "bash";
  if (shell !== "bash" && shell !== "zsh")
    throw new BerthError({ code: "invalid-argument", op: "completion", field: "shell", value: shell, reason: "must be bash or zsh" });
  ctx.stdout(shell === "zsh" ? zshCompletion() : bashCompletion());
  return 0;
}
