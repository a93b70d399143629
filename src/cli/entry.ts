/**
 * bin/berth: the smallest possible start. Node parses every byte of the file it starts, so this
 * entry holds only the fast-path parser; it then loads one of three bundles next to it:
 *   berth-fast.js   state / start / delete / kill / list in their plain forms (fast.ts), no yargs
 *   berth-launch.js create / run in their plain forms (fast-launch.ts), no yargs
 *   berth-main.js   everything else: the full CLI (main.ts), yargs, all verbs
 * All produce the same output, errors and exit codes (fast-args.ts says why).
 *
 * Each bundle (and berth-validators.js and berth-image.js, required by the bundles on first
 * use) is compiled with the V8 code
 * cache written beside it at build time (NAME.cache, scripts/bundle.mjs): V8 then skips parsing
 * and compiling the functions the cache holds. The cache names the bundle's size and mtime; a
 * cache that does not match, or that V8 rejects (another node binary or V8 flags), is ignored
 * and the bundle compiles as it would without one. BERTH_CODE_CACHE=off ignores the caches.
 */
import { readFileSync, statSync } from "node:fs";
import { wrap } from "node:module";
import { join } from "node:path";
import { Script } from "node:vm";
import { parseFast } from "./fast-args";
import { nodeTooOld } from "./node-version";

const useCache = process.env.BERTH_CODE_CACHE !== "off";

/** The stamp a cache carries: the bundle's size and mtime, 16 bytes (scripts/bundle.mjs writes the same). */
function stamp(file: string): Buffer {
  const st = statSync(file);
  const b = Buffer.alloc(16);
  b.writeDoubleLE(st.size, 0);
  b.writeDoubleLE(st.mtimeMs, 8);
  return b;
}

/** The bundles' `require`: the entry's own (same directory); the validators and the image room, which have code caches, through load(). */
const cached = new Map<string, unknown>();
const bundleRequire = Object.assign(
  (id: string) => (id === "./berth-validators.js" || id === "./berth-image.js" ? loadOnce(id.slice(2)) : require(id)),
  {
    resolve: require.resolve,
    cache: require.cache,
    main: require.main,
    extensions: require.extensions,
  },
) as NodeJS.Require;

function loadOnce(name: string): unknown {
  if (!cached.has(name)) cached.set(name, load(name));
  return cached.get(name);
}

function load(name: string): unknown {
  const file = join(__dirname, name);
  const cacheFile = `${file}.cache`;
  const source = readFileSync(file, "utf8");
  let cachedData: Buffer | undefined;
  if (useCache) {
    try {
      const c = readFileSync(cacheFile);
      if (c.length > 16 && c.subarray(0, 16).equals(stamp(file))) cachedData = c.subarray(16);
    } catch {
      cachedData = undefined; // no cache (a build without one): compile as usual
    }
  }
  const script = new Script(wrap(source), { filename: file, cachedData });
  const mod = { exports: {} as unknown };
  (script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, bundleRequire, mod, file, __dirname);
  return mod.exports;
}

/** Load a bundle; a bundle missing from an incomplete install is one line naming it, not an ENOENT stack. */
function loadBundle(name: string): unknown {
  try {
    return load(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || (err as NodeJS.ErrnoException).path !== join(__dirname, name)) throw err;
    process.stderr.write(`berth: ${join(__dirname, name)} is missing: reinstall berth, or run \`npm run build\` in a checkout\n`);
    process.exit(1);
  }
}

const args = process.argv.slice(2);
let done: Promise<number>;
const tooOld = nodeTooOld(process.versions.node);
if (tooOld) {
  process.stderr.write(tooOld);
  done = Promise.resolve(1);
} else {
  const call = parseFast(args);
  done = call
    ? (loadBundle(call.verb === "create" || call.verb === "run" ? "berth-launch.js" : "berth-fast.js") as typeof import("./fast")).runFast(
        call,
        args,
      )
    : (loadBundle("berth-main.js") as typeof import("./main")).main(args);
}
done.then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`berth: internal error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
