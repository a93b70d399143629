/**
 * bin/berth: the smallest possible start. Node parses every byte of the file it starts, so this
 * entry holds only the fast-path parser; it then loads one of two bundles next to it:
 *   berth-fast.js  state / start / delete / kill / list in their plain forms (fast.ts), no yargs
 *   berth-main.js  everything else: the full CLI (main.ts), yargs, all verbs
 * Both produce the same output, errors and exit codes (fast-args.ts says why).
 */
import { join } from "node:path";
import { parseFast } from "./fast-args";

const args = process.argv.slice(2);
const call = parseFast(args);
// Computed paths: esbuild leaves these requires alone, so each bundle is read only when used.
const done: Promise<number> = call
  ? (require(join(__dirname, "berth-fast.js")) as typeof import("./fast")).runFast(call, args)
  : (require(join(__dirname, "berth-main.js")) as typeof import("./main")).main(args);
done.then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`berth: internal error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
