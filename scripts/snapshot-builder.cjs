// The --build-snapshot entry (scripts/bundle.mjs runs it with the node binary of the build):
// compile the snapshot bundle (src/cli/snapshot.ts, bundled; path in BERTH_SNAPSHOT_BUNDLE)
// with every function compiled eagerly, then run its top level. V8 keeps the bytecode of
// compiled functions in the snapshot; compiled lazily, only what ran at build time would be
// there and every command would compile the rest at start (measured: create/run 1.5x
// `node -e 0` instead of 1.3x). --no-lazy is set around the compile only and reset after,
// because the snapshot records V8's flags and refuses to load under different ones.
"use strict";
/* eslint-disable @typescript-eslint/no-require-imports -- a --build-snapshot entry is a CommonJS script: require is all it has */
const { readFileSync } = require("node:fs");
const v8 = require("node:v8");
const vm = require("node:vm");

const file = process.env.BERTH_SNAPSHOT_BUNDLE;
if (!file) throw new Error("snapshot-builder: BERTH_SNAPSHOT_BUNDLE is not set");
v8.setFlagsFromString("--no-lazy");
const script = new vm.Script(`(function (exports, require, module) {${readFileSync(file, "utf8")}\n})`, { filename: file });
v8.setFlagsFromString("--lazy");
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod);
