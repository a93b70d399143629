/**
 * The fast path's runner: a FastCall (fast-args.ts) becomes the same verb call main.ts makes
 * after yargs -- the same context, debug line, verb module and error report -- without loading
 * yargs, the command table or the verbs engines do not call constantly. Bundled on its own
 * (bin/berth-fast.js) so that `berth state ID` parses only what it runs.
 */
import type { CliContext, GlobalOptions, Verb } from "./context";
import deleteVerb from "./delete";
import type { FastCall } from "./fast-args";
import killVerb from "./kill";
import listVerb from "./list";
import { Logger } from "./log";
import { processIo, reportError, type MainIo } from "./report";
import startVerb from "./start";
import stateVerb from "./state";

const verbs: Record<FastCall["verb"], Verb> = { state: stateVerb, start: startVerb, delete: deleteVerb, kill: killVerb, list: listVerb };

export async function runFast(call: FastCall, rawArgs: string[], io: MainIo = processIo): Promise<number> {
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
    // The keys the verbs read, as yargs would have set them.
    const argv: CliContext["argv"] = call.verb === "list" ? { _: [call.verb] } : { _: [call.verb], "container-id": call.id, containerId: call.id };
    if (call.verb === "list") Object.assign(argv, { quiet: call.quiet, q: call.quiet, format: call.format, f: call.format });
    if (call.verb === "delete") Object.assign(argv, { force: call.force, f: call.force });
    if (call.verb === "kill") Object.assign(argv, { all: call.all, a: call.all, signal: call.signal });
    logger.debug(`${call.verb}${call.id ? ` ${call.id}` : ""}: ${JSON.stringify(rawArgs)}`);
    const code = await verbs[call.verb]({ global, logger, argv, stdout: io.stdout, verbArgs: rawArgs.slice(call.index + 1) });
    return typeof code === "number" ? code : 0;
  } catch (err) {
    return reportError(err, call.verb, logger, call.debug, io);
  }
}
