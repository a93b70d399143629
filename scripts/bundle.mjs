#!/usr/bin/env node
// Bundle the CLI into one file, bin/berth (a Node script with a shebang), and the library into
// dist/index.js. One file means one read and one parse at start-up instead of ~50 module loads
// from node_modules (see ../shared/reference/performance.md, "The floor of a Node.js CLI").
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
} catch {
  // not a git checkout (a tarball): the version alone identifies the build
}

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  logLevel: "warning",
  legalComments: "none",
  // Prefer ES module builds: some packages (jsonc-parser) ship a UMD "main" whose dynamic
  // requires esbuild cannot follow.
  mainFields: ["module", "main"],
  define: { BERTH_VERSION: JSON.stringify(pkg.version), BERTH_COMMIT: JSON.stringify(commit) },
};

// bin/berth is only the entry and the fast-path parser (src/cli/entry.ts); it requires
// berth-fast.js (state/start/delete/kill without yargs) or berth-main.js (the full CLI) from
// its own directory. Node parses all of a file it loads, so each command parses only what it
// may run: measured in bench/results.md.
// bin/berth.js is that entry; bin/berth is the launcher (native/launcher/berth.c) that runs it,
// or the V8 startup snapshot for create/run (below), or a copy of the entry when the native
// build has no launcher.
await build({
  ...common,
  entryPoints: [join(root, "src/cli/entry.ts")],
  outfile: join(root, "bin/berth.js"),
  banner: { js: "#!/usr/bin/env node" },
  minifySyntax: true,
});
// The generated schema validators (~260 KB) are required on first validation only
// (src/spec/validate.ts); in the CLI bundles they stay a file of their own, so that the verbs
// that never validate do not parse them.
const validatorsApart = {
  name: "validators-apart",
  setup(b) {
    b.onResolve({ filter: /\/generated\/validators$/ }, () => ({ path: "./berth-validators.js", external: true }));
  },
};
for (const [name, src] of [["berth-fast.js", "src/cli/fast.ts"], ["berth-launch.js", "src/cli/fast-launch.ts"], ["berth-main.js", "src/cli/main.ts"]]) {
  await build({ ...common, entryPoints: [join(root, src)], outfile: join(root, "bin", name), minifySyntax: true, plugins: [validatorsApart] });
}
await build({ ...common, entryPoints: [join(root, "src/spec/generated/validators.js")], outfile: join(root, "bin/berth-validators.js"), minifySyntax: true });
chmodSync(join(root, "bin/berth.js"), 0o755);

// V8 code caches for the bundles bin/berth loads (src/cli/entry.ts reads NAME.cache): every
// function compiled eagerly (--no-lazy while compiling, then --lazy again so that the cache's
// flag hash is the one a normal run has), so the cache covers every verb without running one.
// Each starts with the bundle's size and mtime; a stale or foreign cache is ignored at run time.
// Measured in bench/results.md.
{
  const v8 = await import("node:v8");
  const { Script } = await import("node:vm");
  const { wrap } = (await import("node:module")).default;
  for (const name of ["berth-fast.js", "berth-launch.js", "berth-main.js", "berth-validators.js"]) {
    const file = join(root, "bin", name);
    v8.setFlagsFromString("--no-lazy");
    const script = new Script(wrap(readFileSync(file, "utf8")), { filename: file });
    v8.setFlagsFromString("--lazy");
    const st = statSync(file);
    const head = Buffer.alloc(16);
    head.writeDoubleLE(st.size, 0);
    head.writeDoubleLE(st.mtimeMs, 8);
    writeFileSync(`${file}.cache`, Buffer.concat([head, script.createCachedData()]));
  }
}

// The V8 startup snapshot for create/run (src/cli/snapshot.ts says why and how): the whole CLI
// in one bundle, executed by this very node binary under --build-snapshot (a blob loads only
// in the node that made it: bin/berth.snapshot records which, with its size and mtime, and the
// launcher falls back to bin/berth.js when that binary has changed). The bundle is an input
// only; the blob is what runs.
{
  const bundle = join(root, "build", "berth-snapshot.js");
  const blob = join(root, "bin", "berth-launch.blob");
  rmSync(blob, { force: true });
  await build({ ...common, entryPoints: [join(root, "src/cli/snapshot.ts")], outfile: bundle, minifySyntax: true, define: { ...common.define, __dirname: "globalThis.__berthDirname" } });
  // --no-warnings: the builder warns that node:vm and node:child_process are "not yet fully
  // verified" in snapshot builder scripts; vm is only the builder's, and child_process is only
  // required (for hooks and ps) at run time, after deserialization.
  execFileSync(process.execPath, ["--no-warnings", "--snapshot-blob", blob, "--build-snapshot", join(root, "scripts", "snapshot-builder.cjs")], {
    env: { ...process.env, BERTH_SNAPSHOT_BUNDLE: bundle },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const st = statSync(process.execPath, { bigint: true });
  const sec = st.mtimeNs / 1_000_000_000n;
  writeFileSync(join(root, "bin", "berth.snapshot"), `${process.execPath}\n${st.size} ${sec} ${st.mtimeNs - sec * 1_000_000_000n}\n`);
}
const launcher = join(root, "build", "Release", "berth-launcher");
rmSync(join(root, "bin", "berth"), { force: true });
copyFileSync(existsSync(launcher) ? launcher : join(root, "bin", "berth.js"), join(root, "bin", "berth"));
chmodSync(join(root, "bin", "berth"), 0o755);

await build({ ...common, entryPoints: [join(root, "src/index.ts")], outfile: join(root, "dist/index.js") });
console.log(`bundle: bin/berth (${existsSync(launcher) ? "launcher" : "entry"}), bin/berth.js, bin/berth-fast.js, bin/berth-launch.js, bin/berth-main.js, bin/berth-launch.blob, dist/index.js`);
