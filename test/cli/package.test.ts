/**
 * The npm package (issue 18): `npm pack` of the built checkout, installed globally into a scratch
 * prefix as a user would (`npm install -g --prefix PREFIX ./berth-*.tgz`), then used without the
 * checkout: the installed CLI on PREFIX/bin (`--version`, the man pages npm links, as root a
 * container run through it), a consumer project that links the installed package (`npm link
 * berth`, as a user would) and runs a container through `require("berth")` and through
 * `import`, a strict `tsc` of a small TypeScript consumer against the shipped .d.ts files, and
 * the one-line refusal of a Node below "engines".
 *
 * Packs with --ignore-scripts: the checkout is already built (`npm run build`, which jest's
 * callers run first); a real `npm pack` runs the same build as its prepack script. The package
 * has no runtime dependency (every bundle is in the tarball), so both installs are `--offline`:
 * nothing comes from a registry.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
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
let consumer: string;
let files: string[];
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  name: string;
  version: string;
  engines: { node: string };
};
const installedBerth = () => join(prefix, "bin/berth");
const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  spawnSync("npm", [...args, "--offline", "--no-audit", "--no-fund"], { cwd, encoding: "utf8", env: { ...process.env, ...env } });

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
  const r = npm(["install", "-g", "--prefix", prefix, `./${packed[0]!.filename}`], work);
  if (r.status !== 0) throw new Error(`npm install -g of ${packed[0]!.filename} failed: ${r.stderr}`);
  // A project of the user's that uses the installed package.
  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  const l = npm(["link", "berth"], consumer, { npm_config_prefix: prefix });
  if (l.status !== 0) throw new Error(`npm link berth failed: ${l.stderr}`);
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
    expect(realpathSync(join(consumer, "node_modules/berth"))).toBe(join(prefix, "lib/node_modules/berth"));
    const r = spawnSync(installedBerth(), ["--version"], { encoding: "utf8", env: { PATH: `${join(prefix, "bin")}:/usr/bin:/bin` } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^berth version ${pkg.version.replace(/\./g, "\\.")}\n`));
    expect(r.stdout).toMatch(/\nlibseccomp: \d+\.\d+\.\d+/); // the shipped addon loaded
  });

  test("the installed containerd shim (sh, through npm's bin link) reaches its Node entry and answers delete without it", () => {
    const shim = join(prefix, "bin/containerd-shim-berth-v1");
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
      const r = spawnSync(installedBerth(), ["--root", b.root, "run", "-b", b.dir, `pkg-cli-${process.pid}`], {
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
        const berth = require("berth");
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
      const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", cwd: consumer });
      expect(r.stderr).toBe("");
      expect(r.stdout.split("\n").sort()).toEqual(["", "exit 4 container-not-found", "from the library", "status created"]);
    } finally {
      b.cleanup();
    }
  });

  (isRoot ? test : test.skip)("import of the installed library (ESM, named exports) runs a container", () => {
    const b = makeBundle(["sh", "-c", "echo from an ES module; exit 5"]);
    try {
      writeFileSync(
        join(consumer, "run.mjs"),
        `import { run, state, BerthError } from "berth";
import berth from "berth";
const [bundle, root, id] = process.argv.slice(2);
console.log("exit " + (await run(id, { root, bundle, signal: AbortSignal.timeout(20000) })));
const err = await state(id, { root }).catch((e) => e);
console.log(String(err instanceof BerthError && err.code) + " " + (berth.run === run));
`,
      );
      const r = spawnSync(process.execPath, ["run.mjs", b.dir, b.root, `pkg-esm-${process.pid}`], { encoding: "utf8", cwd: consumer });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("from an ES module\nexit 5\ncontainer-not-found true\n");
      expect(r.status).toBe(0);
    } finally {
      b.cleanup();
    }
  });

  test("npm linked the man pages into PREFIX/share/man/man8", () => {
    expect(readdirSync(join(prefix, "share/man/man8")).sort()).toEqual(
      readdirSync(join(repoRoot, "man"))
        .filter((f) => f.endsWith(".8"))
        .sort(),
    );
    expect(readFileSync(join(prefix, "share/man/man8/berth-run.8"), "utf8")).toBe(readFileSync(join(repoRoot, "man/berth-run.8"), "utf8"));
  });

  test('a Node below "engines" gets one line from the installed berth, not a stack', () => {
    expect(pkg.engines.node).toBe(">=20.5");
    const fake = (version: string) =>
      spawnSync(
        process.execPath,
        [
          "-e",
          `Object.defineProperty(process.versions, "node", { value: ${JSON.stringify(version)} });
           process.argv = [process.argv[0], ${JSON.stringify(installedBerth())}, "--version"];
           require(${JSON.stringify(realpathSync(installedBerth()))});`,
        ],
        { encoding: "utf8" },
      );
    expect(fake("18.19.0")).toMatchObject({
      status: 1,
      stdout: "",
      stderr: "berth: node v18.19.0 is too old: berth needs node 20.5 or later\n",
    });
    expect(fake("20.4.1")).toMatchObject({
      status: 1,
      stdout: "",
      stderr: "berth: node v20.4.1 is too old: berth needs node 20.5 or later\n",
    });
    const ok = fake("20.5.0");
    expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: "" });
    expect(ok.stdout).toMatch(/^berth version /);
  });

  test("a strict TypeScript consumer type-checks against the installed .d.ts", () => {
    const dir = consumer; // resolves "berth" through its node_modules/berth, the installed package
    writeFileSync(
      join(dir, "consumer.ts"),
      `import * as berth from "berth";
import { BerthError, type BerthErrorCode } from "berth";

export async function main(signal: AbortSignal): Promise<BerthErrorCode | number> {
  try {
    const s = await berth.state("c1", { root: "/run/berth" });
    const r = await berth.wait(s.id, { signal });
    const e: { pid: number; exitCode?: number } = await berth.exec(s.id, { process: { args: ["true"], cwd: "/" }, signal });
    const code: number = await berth.run("c2", { bundle: "/b", signal });
    for await (const ev of berth.events(s.id, { interval: 1000, signal })) {
      const pids: berth.U64 | undefined = ev.data?.pids.current;
      if (pids !== undefined) break;
    }
    const err = new BerthError({ op: "x", reason: "y", code: "invalid-argument" });
    const c: BerthErrorCode = err.code;
    void c;
    return (r.exitCode ?? -1) + (e.exitCode ?? 0) + code;
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
