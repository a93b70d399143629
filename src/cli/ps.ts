/** berth ps [--format table|json] ID [ps args...]: the host's ps(1) narrowed to the container. */
import { containerProcesses, defaultRuntime, ps } from "../container";
import type { CliContext } from "./context";

export default function psVerb(ctx: CliContext): number {
  const id = ctx.argv["container-id"] as string;
  const rt = defaultRuntime(ctx.global.root);
  if (ctx.argv.format === "json") {
    ctx.stdout(JSON.stringify(containerProcesses(rt, id)) + "\n");
    return 0;
  }
  // After the id, main.ts puts a "--": ps's own flags arrive in argv._ after the verb.
  const args = [...[ctx.argv["ps-args"] ?? []].flat(), ...ctx.argv._.slice(1)].map(String);
  ctx.stdout(ps(rt, id, args));
  return 0;
}
