/**
 * The fast path for create and run (bin/berth-launch.js): bundled apart from fast.ts so that
 * `state` does not parse the launch code, nor `create` yargs (see fast-args.ts).
 */
import type { Verb } from "./context";
import createVerb from "./create";
import type { FastCall } from "./fast-args";
import { processIo, type MainIo } from "./report";
import { runFastWith } from "./fast-run";
import runVerb from "./run";

const verbs: Partial<Record<FastCall["verb"], Verb>> = { create: createVerb, run: runVerb };

export function runFast(call: FastCall, rawArgs: string[], io: MainIo = processIo): Promise<number> {
  return runFastWith(verbs, call, rawArgs, io);
}
