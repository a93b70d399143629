/**
 * The fast path's runner: a FastCall (fast-args.ts) becomes the same verb call main.ts makes
 * after yargs -- the same context, debug line, verb module and error report -- without loading
 * yargs, the command table or the verbs engines do not call constantly. Bundled on its own
 * (bin/berth-fast.js) so that `berth state ID` parses only what it runs.
 */
import type { Verb } from "./context";
import deleteVerb from "./delete";
import type { FastCall } from "./fast-args";
import killVerb from "./kill";
import listVerb from "./list";
import { processIo, type MainIo } from "./report";
import { runFastWith } from "./fast-run";
import startVerb from "./start";
import stateVerb from "./state";

const verbs: Partial<Record<FastCall["verb"], Verb>> = {
  state: stateVerb,
  start: startVerb,
  delete: deleteVerb,
  kill: killVerb,
  list: listVerb,
};

export function runFast(call: FastCall, rawArgs: string[], io: MainIo = processIo): Promise<number> {
  return runFastWith(verbs, call, rawArgs, io);
}
