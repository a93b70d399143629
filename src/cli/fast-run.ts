/**
 * The fast path's common runner (fast.ts for state/start/delete/kill/list, fast-launch.ts for
 * create/run): a FastCall (fast-args.ts) becomes the same verb call main.ts makes after yargs --
 * the same context, debug line, verb module and error report -- without loading yargs.
 */
import type { CliContext, GlobalOptions, Verb } from "./context";
import type { FastCall } from "./fast-args";
import { Logger } from "./log";
import { processIo, reportError, type MainIo } from "./report";

/** The keys the verbs read, as yargs would have set them (both spellings, aliases included). */
function verbArgv(call: FastCall): CliContext["argv"] {
  if (call.verb === "list") return { _: [call.verb], quiet: call.quiet, q: call.quiet, format: call.format, f: call.format };
  const argv: CliContext["argv"] = { _: [call.verb], "container-id": call.id, containerId: call.id };
  if (call.verb === "delete") Object.assign(argv, { force: call.force, f: call.force });
  if (call.verb === "kill") Object.assign(argv, { all: call.all, a: call.all, signal: call.signal });
  if (call.verb === "create" || call.verb === "run") {
    const set = (k: string, camel: string, v: unknown) => {
      if (v !== undefined) Object.assign(argv, { [k]: v, [camel]: v });
    };
    if (call.bundle !== undefined) Object.assign(argv, { bundle: call.bundle, b: call.bundle });
    set("pid-file", "pidFile", call.pidFile);
    set("console-socket", "consoleSocket", call.consoleSocket);
    set("no-pivot", "noPivot", call.noPivot || undefined);
    set("no-new-keyring", "noNewKeyring", call.noNewKeyring || undefined);
    set("preserve-fds", "preserveFds", call.preserveFds);
    if (call.verb === "run" && call.detach) Object.assign(argv, { detach: true, d: true });
  }
  return argv;
}

export async function runFastWith(
  verbs: Partial<Record<FastCall["verb"], Verb>>,
  call: FastCall,
  rawArgs: string[],
  io: MainIo = processIo,
): Promise<number> {
  const logger = new Logger(call.log, call.logFormat, call.debug);
  try {
    const global: GlobalOptions = {
      root: call.root,
      debug: call.debug,
      log: call.log,
      logFormat: call.logFormat,
      systemdCgroup: call.systemdCgroup,
      rootless: call.rootless,
      criu: call.criu,
    };
    const argv = verbArgv(call);
    logger.debug(`${call.verb}${call.id ? ` ${call.id}` : ""}: ${JSON.stringify(rawArgs)}`);
    const code = await verbs[call.verb]!({ global, logger, argv, stdout: io.stdout, verbArgs: rawArgs.slice(call.index + 1) });
    return typeof code === "number" ? code : 0;
  } catch (err) {
    return reportError(err, call.verb, logger, call.debug, io);
  }
}
