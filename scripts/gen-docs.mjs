#!/usr/bin/env node
// Write the man pages (man/berth.8, man/berth-VERB.8) from berth's command table: src/cli/docs.ts
// renders them from src/cli/commands.ts, the table the parser itself reads, so a page cannot
// list a flag the CLI does not take, nor miss one (test/cli/docs.test.ts compares the files with
// a fresh rendering). Part of `npm run build`; the pages ship in the npm package ("files",
// "directories.man") and scripts/install.sh puts them in PREFIX/share/man/man8.
import { build } from "esbuild";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = await build({
  entryPoints: [join(root, "src/cli/docs.ts")],
  bundle: true,
  write: false,
  platform: "node",
  format: "cjs",
  logLevel: "warning",
});
const mod = { exports: {} };
new Function("module", "exports", "require", out.outputFiles[0].text)(mod, mod.exports, createRequire(import.meta.url));
const pages = mod.exports.manPages();
const dir = join(root, "man");
mkdirSync(dir, { recursive: true });
// Pages of verbs that are gone must not linger.
for (const f of readdirSync(dir)) if (f.endsWith(".8") && !(f in pages)) rmSync(join(dir, f));
for (const [name, text] of Object.entries(pages)) writeFileSync(join(dir, name), text);
console.log(`man: ${Object.keys(pages).length} pages in man/`);
