/**
 * berth exec [flags] ID COMMAND [ARGS...]  ||  berth exec --process process.json [flags] ID
 * runc's flags; everything after the container id belongs to the command (main.ts protects it).
 * Exit status: the process's (128+n for a signal) in the foreground, 0 once it runs with --detach,
 * 255 when the exec itself fails (as runc).
 */
import { exec } from "../container";
import { BerthError, toBerthError } from "../errors";
import type { CliContext } from "./context";
import { hookRuntime } from "./hook-runtime";

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : [v].flat().map(String));

/**
 * runc ends every exec that fails once its arguments are parsed with status 255 ("exec failed:
 * ..."), whatever the reason: a missing program, a paused or stopped container, an unwritable
 * --pid-file, a bad process.json. Engines see the same from berth; a flag or argument yargs
 * refuses stays 1, as runc's usage errors do.
 */
const EXEC_FAILED = 255;

export default async function execVerb(ctx: CliContext): Promise<number> {
  const id = ctx.argv["container-id"] as string;
  try {
    return await execOnce(ctx, id);
  } catch (err) {
    throw toBerthError(err, "exec", id).withExitCode(EXEC_FAILED);
  }
}

async function execOnce(ctx: CliContext, id: string): Promise<number> {
  const a = ctx.argv;
  if (a["pidfd-socket"])
    throw new BerthError({ op: "exec", id, field: "--pidfd-socket", reason: "is not supported by this build of berth yet" });
  // After the id, main.ts puts a "--": the command then arrives in argv._ after the verb.
  const command = [...(list(a.command) ?? []), ...a._.slice(1).map(String)];
  const processFile = a.process as string | undefined;
  if (!processFile && command.length === 0) throw new BerthError({ op: "exec", id, reason: "exec needs a command, or --process FILE" });
  // Warnings go to the log, and those the user must see (a skipped capability) to stderr too.
  const rt = hookRuntime(ctx);
  const r = await exec(rt, {
    id,
    processFile,
    args: processFile
      ? undefined
      : {
          args: command,
          cwd: a.cwd as string | undefined,
          env: list(a.env),
          user: a.user as string | undefined,
          additionalGids: list(a["additional-gids"]),
          caps: list(a.cap),
          noNewPrivs: ctx.verbArgs.some((x) => x === "--no-new-privs" || x.startsWith("--no-new-privs="))
            ? a["no-new-privs"] === true
            : undefined,
          apparmor: a.apparmor as string | undefined,
          processLabel: a["process-label"] as string | undefined,
          tty: a.tty === true,
        },
    detach: a.detach === true,
    pidFile: a["pid-file"] as string | undefined,
    preserveFds: Number(a["preserve-fds"] ?? 0),
    cgroup: list(a.cgroup),
    ignorePaused: a["ignore-paused"] === true,
    consoleSocket: a["console-socket"] as string | undefined,
  });
  return r.exitCode ?? 0;
}
