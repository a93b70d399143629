/**
 * The CLI as a V8 startup snapshot (bin/berth-launch.blob), for `create` and `run`.
 *
 * scripts/bundle.mjs bundles this file with everything it imports (the fast paths, the full
 * yargs CLI, the schema validators) and has the node binary that runs the build execute it
 * under `--build-snapshot` (scripts/snapshot-builder.cjs compiles the bundle eagerly first, so
 * the snapshot holds bytecode for every function, not only for what ran at build time). The
 * top level below runs then; at run time Node deserializes that heap and calls the function
 * given to setDeserializeMainFunction: no bundle is read, parsed or compiled.
 *
 * The launcher (native/launcher/berth.c, installed as bin/berth) starts
 * `NODE --snapshot-blob DIR/berth-launch.blob -- ARGS` for a create or run, with the node
 * binary that built the blob, and bin/berth.js (entry.ts, code caches) for every other verb:
 * measured in bench/results.md, the snapshot is faster for create/run (much code, all of it
 * compiled) and slower for state/kill/list (deserializing the larger heap costs more than the
 * small bundle's code cache). Either way the verb runs the same code (parseFast, then the fast
 * path or main.ts), so output, errors and exit codes are the same.
 *
 * Nothing at module top level may capture the build's environment (cwd, env, fds, pid):
 * those would be the build's, frozen into the blob. `__dirname` is bundled as
 * `globalThis.__berthDirname`, set below from the blob's path, so the addon and berth-init
 * are found beside the blob wherever it is installed.
 */
import { dirname, resolve } from "node:path";
import { startupSnapshot } from "node:v8";
import { parseFast } from "./fast-args";
import { runFast as runHot } from "./fast";
import { runFast as runLaunch } from "./fast-launch";
import { main } from "./main";

declare global {
  var __berthDirname: string;
}

/** The directory of the blob: `--snapshot-blob FILE` or `--snapshot-blob=FILE` among Node's own arguments. */
function blobDir(execArgv: readonly string[]): string {
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (a === "--snapshot-blob" && execArgv[i + 1]) return dirname(resolve(execArgv[i + 1]!));
    if (a.startsWith("--snapshot-blob=")) return dirname(resolve(a.slice("--snapshot-blob=".length)));
  }
  return process.cwd();
}

function run(): void {
  globalThis.__berthDirname = blobDir(process.execArgv);
  // Started from a snapshot, argv is [node, ...the arguments after `--`].
  const args = process.argv.slice(1);
  const call = parseFast(args);
  const done: Promise<number> = call ? (call.verb === "create" || call.verb === "run" ? runLaunch : runHot)(call, args) : main(args);
  done.then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`berth: internal error: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

startupSnapshot.setDeserializeMainFunction(run);
