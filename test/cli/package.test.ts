/**
 * The npm package (issue 18): `npm pack` of the built checkout, installed into a scratch prefix
 * as a user would, then used without the checkout: the installed CLI (`--version`, and as root
 * a container run through it), `require` of the installed library, and a strict `tsc` of a
 * small consumer against the shipped .d.ts files.
 *
 * Packs with --ignore-scripts: the checkout is already built (`npm run build`, which jest's
 * callers run first); a real `npm pack` runs the same build as its prepack script. Installs
 * from npm's cache when it can (`--offline`), else `--prefer-offline` (the registry is
 * reachable in CI).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/cli";
import { makeBundle } from "../helpers/bundle";

jest.setTimeout(120_000);

const isRoot = process.getuid?.() === 0;
const built = [
  "bin/berth",
  "bin/berth-main.js",
  "dist/index.js",
  "dist/index.d.ts",
  "build/Release/berth_native.node",
  "build/Release/berth-init",
].every((f) => existsSync(join(repoRoot, f)));
const maybe = built ? describe : describe.skip;

let work: string;
let prefix: string;
let files: string[];
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { name: string; version: string };

beforeAll(() => {
  if (!built) return;
  work = mkdtempSync(join(tmpdir(), "berth-pkg-"));
  prefix = join(work, "prefix");
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const packed = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  files = packed[0]!.files.map((f) => f.path);
  const tgz = join(work, packed[0]!.filename);
  const install = (mode: string) =>
    spawnSync("npm", ["install", "--prefix", prefix, tgz, "--no-audit", "--no-fund", mode], { encoding: "utf8" });
  let r = install("--offline");
  if (r.status !== 0) r = install("--prefer-offline");
  if (r.status !== 0) throw new Error(`npm install of ${tgz} failed: ${r.stderr}`);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

maybe("the packed and installed package", () => {
  test("holds what runs and nothing of the sources, tests or bench", () => {
    for (const f of [
      "package.json",
      "bin/berth",
      "bin/berth-fast.js",
      "bin/berth-launch.js",
      "bin/berth-main.js",
      "bin/berth-image.js",
      "bin/berth-validators.js",
      "bin/berth-dbus.js",
      "bin/containerd-shim-berth-v1",
      "bin/berth-shim-entry.js",
      "bin/berth-shim.js",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/errors.d.ts",
      "build/Release/berth_native.node",
      "build/Release/berth-init",
    ]) {
      expect(files).toContain(f);
    }
    expect(
      files.filter(
        (f) => /^(src|test|bench|native|scripts|spec-schemas|docs|\.ci)\//.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts")),
      ),
    ).toEqual([]);
    expect(files.length).toBeLessThan(150);
    // The man pages (npm links them into PREFIX/share/man on a global install: "directories.man").
    expect(files.filter((f) => f.startsWith("man/")).sort()).toEqual(
      readdirSync(join(repoRoot, "man"))
        .filter((f) => f.endsWith(".8"))
        .map((f) => `man/${f}`)
        .sort(),
    );
    expect(files).toContain("man/berth-run.8");
  });

  test("the installed berth prints its versions", () => {
    const r = spawnSync(join(prefix, "node_modules/.bin/berth"), ["--version"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^berth version ${pkg.version.replace(/\./g, "\\.")}\n`));
    expect(r.stdout).toMatch(/\nlibseccomp: \d+\.\d+\.\d+/); // the shipped addon loaded
  });

  test("the installed containerd shim (sh, through npm's bin link) reaches its Node entry and answers delete without it", () => {
    const shim = join(prefix, "node_modules/.bin/containerd-shim-berth-v1");
    const v = spawnSync(shim, ["-v"], { encoding: "utf8" });
    expect({ status: v.status, stdout: v.stdout, stderr: v.stderr }).toEqual({
      status: 0,
      stdout: `containerd-shim-berth-v1:\n  Version: ${pkg.version}\n`,
      stderr: "",
    });
    const d = spawnSync(shim, ["-namespace", "pkgtest", "-id", `none-${process.pid}`, "-bundle", join(work, "no-bundle"), "delete"]);
    expect(d.status).toBe(0);
    expect(d.stdout.subarray(0, 3)).toEqual(Buffer.from([0x10, 0x89, 0x01])); // exit_status 137, then exited_at
  });

  (isRoot ? test : test.skip)("the installed CLI runs a container", () => {
    const b = makeBundle(["echo", "hello from the installed berth"]);
    try {
      const r = spawnSync(join(prefix, "node_modules/.bin/berth"), ["--root", b.root, "run", "-b", b.dir, `pkg-cli-${process.pid}`], {
        encoding: "utf8",
        env: { PATH: process.env.PATH },
      });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("hello from the installed berth\n");
      expect(r.status).toBe(0);
    } finally {
      b.cleanup();
    }
  });

  (isRoot ? test : test.skip)("require() of the installed library creates, starts, waits for and deletes a container", () => {
    const b = makeBundle(["sh", "-c", "echo from the library; exit 4"]);
    try {
      const id = `pkg-lib-${process.pid}`;
      const script = `
        const berth = require(${JSON.stringify(join(prefix, "node_modules/berth"))});
        (async () => {
          const opts = { root: ${JSON.stringify(b.root)} };
          const s = await berth.create(${JSON.stringify(id)}, { ...opts, bundle: ${JSON.stringify(b.dir)} });
          console.log("status " + s.status);
          await berth.start(${JSON.stringify(id)}, opts);
          const w = await berth.wait(${JSON.stringify(id)}, opts);
          await berth.delete(${JSON.stringify(id)}, opts);
          const gone = await berth.state(${JSON.stringify(id)}, opts).catch((e) => e.code);
          console.log("exit " + w.exitCode + " " + gone);
        })().catch((e) => { console.error(e); process.exit(1); });`;
      const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", cwd: work });
      expect(r.stderr).toBe("");
      expect(r.stdout.split("\n").sort()).toEqual(["", "exit 4 container-not-found", "from the library", "status created"]);
    } finally {
      b.cleanup();
    }
  });

  test("a strict TypeScript consumer type-checks against the installed .d.ts", () => {
    const dir = join(prefix, "consumer"); // resolves "berth" from prefix/node_modules, as a project would
    execFileSync("mkdir", ["-p", dir]);
    writeFileSync(
      join(dir, "consumer.ts"),
      `import * as berth from "berth";
import { BerthError, type BerthErrorCode } from "berth";

export async function main(signal: AbortSignal): Promise<BerthErrorCode | number> {
  try {
    const s = await berth.state("c1", { root: "/run/berth" });
    const r = await berth.wait(s.id, { signal });
    return r.exitCode ?? -1;
  } catch (err) {
    if (err instanceof BerthError) return err.code;
    throw err;
  }
}
`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: "node16",
          moduleResolution: "node16",
          target: "ES2022",
          types: ["node"],
          typeRoots: [join(repoRoot, "node_modules/@types")],
          skipLibCheck: false,
        },
        files: ["consumer.ts"],
      }),
    );
    const r = spawnSync(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
