#!/usr/bin/env node
// Bundle the CLI, the shim and the library with esbuild, into several files. The CLI is seven
// files in bin/: the entry bin/berth (a Node script with a shebang) and the bundles it loads,
// each only when a command needs it (berth-fast.js, berth-launch.js, berth-main.js,
// berth-image.js, berth-dbus.js, berth-validators.js). containerd-shim-berth-v1 is three: the sh
// executable (copied from src/shim), berth-shim-entry.js and berth-shim.js. Six bundles get a V8
// code cache beside them (NAME.cache, listed below). The library is dist/index.js. A few bundles
// instead of ~50 module loads from node_modules, and each command parses only what it may run
// (bench/results.md times berth against `node -e 0`, the floor of any Node CLI;
// docs/architecture.md, "Start-up bundles").
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] })
    .toString()
    .trim();
} catch {
  // not a git checkout (a tarball): the version alone identifies the build
}

// package.json says "sideEffects": false (no module of ours does anything when imported but
// define things), so that esbuild leaves out the modules of a room a bundle does not use.
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
await build({
  ...common,
  entryPoints: [join(root, "src/cli/entry.ts")],
  outfile: join(root, "bin/berth"),
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
// dbus-next (the systemd cgroup driver's D-Bus client, through src/cgroups/dbus-next.ts)
// likewise: only --systemd-cgroup loads it. Its optional "usocket" (fd passing) and "x11"
// (session bus discovery) are never used.
const dbusApart = {
  name: "dbus-apart",
  setup(b) {
    b.onResolve({ filter: /^(dbus-next|\.\/dbus-next)$/ }, () => ({ path: "./berth-dbus.js", external: true }));
  },
};
// The image room (layers, overlay, tar: ~175 KB with node-tar) likewise: src/container/image.ts
// requires it on first use, for a container made from an image or an `image` command. Inside
// a bundle that lazy require still put its bytes in the file and in the eager code cache, which
// every `state`, `start` and `delete` read and deserialized (bench/results.md). Its copy of
// BerthError is one for `instanceof` (src/errors.ts).
const imageApart = {
  name: "image-apart",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/image$/ }, (args) =>
      args.importer.endsWith(join("src", "container", "image.ts")) ? { path: "./berth-image.js", external: true } : undefined,
    );
  },
};
for (const [name, src] of [
  ["berth-fast.js", "src/cli/fast.ts"],
  ["berth-launch.js", "src/cli/fast-launch.ts"],
  ["berth-main.js", "src/cli/main.ts"],
  ["berth-image.js", "src/image/index.ts"],
]) {
  await build({
    ...common,
    entryPoints: [join(root, src)],
    outfile: join(root, "bin", name),
    minifySyntax: true,
    plugins: [validatorsApart, dbusApart, imageApart],
  });
}
// containerd-shim-berth-v1: containerd's runtime v2 shim. The Node entry (src/shim/entry.ts) is
// small, for the `start` and `delete` that containerd runs per task; the server (src/shim/main.ts,
// one long-lived process calling the library in-process) is bin/berth-shim.js, with a code cache.
// Both share the bundles apart (validators, image, dbus) with the CLI, installed beside them.
// The executable itself is sh (src/shim/containerd-shim-berth-v1.sh: start and delete without
// Node when it can), and the Node entry is bin/berth-shim-entry.js.
copyFileSync(join(root, "src/shim/containerd-shim-berth-v1.sh"), join(root, "bin/containerd-shim-berth-v1"));
chmodSync(join(root, "bin/containerd-shim-berth-v1"), 0o755);
await build({
  ...common,
  entryPoints: [join(root, "src/shim/entry.ts")],
  outfile: join(root, "bin/berth-shim-entry.js"),
  minifySyntax: true,
});
await build({
  ...common,
  entryPoints: [join(root, "src/shim/main.ts")],
  outfile: join(root, "bin/berth-shim.js"),
  minifySyntax: true,
  plugins: [validatorsApart, dbusApart, imageApart],
});
await build({
  ...common,
  entryPoints: [join(root, "src/cgroups/dbus-next.ts")],
  outfile: join(root, "bin/berth-dbus.js"),
  minifySyntax: true,
  external: ["usocket", "x11"],
});
await build({
  ...common,
  entryPoints: [join(root, "src/spec/generated/validators.js")],
  outfile: join(root, "bin/berth-validators.js"),
  minifySyntax: true,
});
chmodSync(join(root, "bin/berth"), 0o755);

// V8 code caches for the bundles bin/berth loads (src/cli/entry.ts reads NAME.cache): every
// function compiled eagerly (--no-lazy while compiling, then --lazy again so that the cache's
// flag hash is the one a normal run has), so the cache covers every verb without running one.
// Each starts with the bundle's size and mtime; a stale or foreign cache is ignored at run time.
// Measured in bench/results.md.
{
  const v8 = await import("node:v8");
  const { Script } = await import("node:vm");
  const { wrap } = (await import("node:module")).default;
  for (const name of ["berth-fast.js", "berth-launch.js", "berth-main.js", "berth-image.js", "berth-validators.js", "berth-shim.js"]) {
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

await build({
  ...common,
  entryPoints: [join(root, "src/index.ts")],
  outfile: join(root, "dist/index.js"),
  external: ["dbus-next", "dbus-next/*"],
});
console.log(
  "bundle: bin/berth, bin/containerd-shim-berth-v1 (+ bin/berth-shim-entry.js, bin/berth-shim.js), bin/berth-fast.js, bin/berth-launch.js, bin/berth-main.js, bin/berth-image.js, bin/berth-dbus.js, bin/berth-validators.js (+ code caches), dist/index.js",
);
