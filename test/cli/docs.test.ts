/**
 * What berth says about its command line (issue 18): --help and `berth help [VERB]`, the man
 * pages and the bash and zsh completions, all made from the command table the parser reads
 * (src/cli/commands.ts, rendered by src/cli/docs.ts). The man pages in man/ are written by
 * `npm run build` (scripts/gen-docs.mjs); here they must be exactly what the table gives now.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth, berthBin, repoRoot } from "../helpers/cli";
import { commands, globalOptions } from "../../src/cli/commands";
import { manPages } from "../../src/cli/docs";

const collapse = (s: string) => s.replace(/\s+/g, " ");

describe("help", () => {
  test("berth help is berth --help; berth help VERB is berth VERB --help; both exit 0 with nothing on stderr", () => {
    const main = berth(["--help"]);
    expect({ exitCode: main.exitCode, stderr: main.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(berth(["help"])).toEqual(main);
    expect(berth(["-h"])).toEqual(main);
    for (const c of commands) {
      const own = berth([c.name, "--help"]);
      expect({ verb: c.name, exitCode: own.exitCode, stderr: own.stderr }).toEqual({ verb: c.name, exitCode: 0, stderr: "" });
      expect(berth(["help", c.name])).toEqual(own);
    }
    expect(berth(["help", "frobnicate"])).toEqual({ exitCode: 1, stdout: "", stderr: 'berth: help: unknown command "frobnicate"\n' });
  });

  test("a verb's own flags come first, then the global ones; every text is wrapped between words, never inside one", () => {
    for (const c of commands) {
      const text = berth([c.name, "--help"]).stdout;
      const globalsAt = text.indexOf("\nGlobal options:\n");
      expect(globalsAt).toBeGreaterThan(0);
      for (const [flag, o] of Object.entries(c.options)) {
        const at = text.indexOf(`--${flag}`);
        expect({ verb: c.name, flag, beforeGlobals: at >= 0 && at < globalsAt }).toEqual({ verb: c.name, flag, beforeGlobals: true });
        // Lines joined with a space give the text back only if no word was cut.
        expect(collapse(text)).toContain(collapse(String(o.describe)));
      }
      for (const [flag, o] of Object.entries(globalOptions)) {
        expect(text.indexOf(`--${flag}`, globalsAt)).toBeGreaterThan(globalsAt);
        expect(collapse(text)).toContain(collapse(o.describe));
      }
      for (const line of text.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    }
    const main = berth(["--help"]).stdout;
    for (const c of commands) expect(collapse(main)).toContain(`${c.name} ${collapse(c.describe)}`);
  });

  test("an extra argument is named as one, also after --; exec and ps keep theirs", () => {
    expect(berth(["state", "a", "xyz"])).toEqual({ exitCode: 1, stdout: "", stderr: 'berth: state: unexpected argument "xyz"\n' });
    expect(berth(["state", "a", "--", "xyz"])).toEqual({ exitCode: 1, stdout: "", stderr: 'berth: state: unexpected argument "xyz"\n' });
    expect(berth(["--root", "/nonexistent-berth-root", "exec", "a", "--", "ls", "-h"]).stderr).toBe(
      "berth: exec a: container does not exist\n",
    );
  });
});

describe("man pages", () => {
  const dir = join(repoRoot, "man");

  test("berth.8 and one page per verb are in man/, exactly as the command table renders them now", () => {
    const pages = manPages();
    expect(Object.keys(pages).sort()).toEqual(["berth.8", ...commands.map((c) => `berth-${c.name}.8`)].sort());
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith(".8"))
        .sort(),
    ).toEqual(Object.keys(pages).sort());
    for (const [name, text] of Object.entries(pages)) expect({ name, text: readFileSync(join(dir, name), "utf8") }).toEqual({ name, text });
  });

  test("each verb's page lists every flag of the verb; berth.8 every verb and global flag", () => {
    const pages = manPages();
    const unroff = (s: string) => s.replace(/\\-/g, "-").replace(/\\f[BIR]/g, "");
    for (const c of commands) {
      const page = unroff(pages[`berth-${c.name}.8`]!);
      expect(page).toContain(`.TH BERTH-${c.name.toUpperCase()} 8`);
      for (const flag of Object.keys(c.options)) expect(page).toContain(`--${flag}`);
      expect(unroff(pages["berth.8"]!)).toContain(`berth-${c.name}(8)`);
    }
    for (const flag of Object.keys(globalOptions)) expect(unroff(pages["berth.8"]!)).toContain(`--${flag}`);
  });

  (existsSync("/usr/bin/man") ? test : test.skip)("man renders berth-run.8 without errors", () => {
    const r = spawnSync("man", ["-l", "--warnings", join(dir, "berth-run.8")], {
      encoding: "utf8",
      env: { ...process.env, MANWIDTH: "80", MAN_KEEP_FORMATTING: "" },
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.stdout).toContain("--preserve-fds");
  });
});

describe("bash completion", () => {
  /** COMPREPLY for the words of a command line (the last one is being completed). */
  function complete(words: string[]): string[] {
    const script = berth(["completion", "bash"]);
    expect({ exitCode: script.exitCode, stderr: script.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const line = ["berth", ...words];
    const bash = `${script.stdout}
COMP_WORDS=(${line.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${line.length - 1}
_berth; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync("bash", ["-c", bash], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${join(repoRoot, "bin")}:${process.env.PATH}` },
    });
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter(Boolean).sort();
  }

  test("berth completion bash lists every verb, each verb's flags, and the global flags", () => {
    expect(complete([""])).toEqual(commands.map((c) => c.name).sort());
    expect(complete(["--root", "/x", "st"])).toEqual(["start", "state"]);
    const run = commands.find((c) => c.name === "run")!;
    expect(complete(["run", "--"])).toEqual(
      expect.arrayContaining([...Object.keys(run.options).map((f) => `--${f}`), "--root", "--log-format"]),
    );
    expect(complete(["help", "ch"])).toEqual(["check", "checkpoint"]);
  });

  test("another shell is refused, naming it", () => {
    expect(berth(["completion", "fish"])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: 'berth: completion: shell "fish": must be bash or zsh\n',
    });
  });
});

const hasZsh = spawnSync("zsh", ["-c", "exit 0"]).status === 0;
(hasZsh ? describe : describe.skip)("zsh completion", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-zsh-"));
    const script = berth(["completion", "zsh"]);
    expect({ exitCode: script.exitCode, stderr: script.stderr }).toEqual({ exitCode: 0, stderr: "" });
    mkdirSync(join(dir, "functions"));
    writeFileSync(join(dir, "functions/_berth"), script.stdout); // autoloaded from $fpath, as installed
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The words zsh offers for `line` + TAB (test/helpers/zsh-complete.zsh: a real zsh in a pseudo-terminal). */
  function complete(line: string): string[] {
    for (const f of ["out", "ready", "done"]) rmSync(join(dir, f), { force: true });
    const r = spawnSync("zsh", ["-f", join(repoRoot, "test/helpers/zsh-complete.zsh"), dir, line], {
      encoding: "utf8",
      env: { ...process.env, TERM: "dumb", PATH: `${join(repoRoot, "bin")}:${process.env.PATH}` },
      timeout: 30_000,
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    return [...new Set(existsSync(join(dir, "out")) ? readFileSync(join(dir, "out"), "utf8").split("\n").filter(Boolean) : [])].sort();
  }

  test("berth completion zsh completes the verbs, each verb's flags and the global flags, from the command table", () => {
    expect(complete("berth ")).toEqual(commands.map((c) => c.name).sort());
    expect(complete("berth --root /x st")).toEqual(["start", "state"]);
    const run = commands.find((c) => c.name === "run")!;
    const runFlags = complete("berth run --");
    expect(runFlags).toEqual(expect.arrayContaining([...Object.keys(run.options).map((f) => `--${f}`), "--root", "--log-format"]));
    expect(runFlags).not.toContain("--signal"); // kill's, not run's
    expect(complete("berth completion ")).toEqual(["bash", "zsh"]);
  });

  test("a verb that takes a container id offers the ids of `berth list -q` under the --root given", () => {
    const root = join(dir, "root");
    mkdirSync(root);
    const fake = { ociVersion: "1.3.0", id: "", status: "stopped", pid: 0, bundle: "/nonexistent" };
    for (const id of ["alpha", "beta"]) {
      mkdirSync(join(root, id));
      writeFileSync(join(root, id, "state.json"), JSON.stringify({ ...fake, id }));
    }
    expect(berth(["--root", root, "list", "-q"])).toEqual({ exitCode: 0, stdout: "alpha\nbeta\n", stderr: "" });
    expect(complete(`berth --root ${root} delete `)).toEqual(["alpha", "beta"]);
  });
});

const nativeBuilt = existsSync(join(repoRoot, "build/Release/berth-init")) && existsSync(join(repoRoot, "build/Release/berth_native.node"));
(nativeBuilt ? test : test.skip)(
  "scripts/install.sh PREFIX installs a man page per verb and both completions; uninstall.sh leaves PREFIX empty",
  () => {
    const prefix = mkdtempSync(join(tmpdir(), "berth-install-"));
    try {
      const r = spawnSync("bash", [join(repoRoot, "scripts/install.sh"), prefix], { encoding: "utf8" });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(readdirSync(join(prefix, "share/man/man8")).sort()).toEqual(Object.keys(manPages()).sort());
      expect(readFileSync(join(prefix, "share/bash-completion/completions/berth"), "utf8")).toBe(berth(["completion", "bash"]).stdout);
      expect(readFileSync(join(prefix, "share/zsh/site-functions/_berth"), "utf8")).toBe(berth(["completion", "zsh"]).stdout);
      const v = spawnSync(join(prefix, "bin/berth"), ["--version"], { encoding: "utf8" });
      expect({ status: v.status, stderr: v.stderr }).toEqual({ status: 0, stderr: "" });
      // A second install over the first (an upgrade) is still removed whole.
      expect(spawnSync("bash", [join(repoRoot, "scripts/install.sh"), prefix]).status).toBe(0);

      // Run from a copy, as a user without the checkout would: uninstall reads only its own list.
      const copy = join(prefix, "..", `${prefix.split("/").pop()}-uninstall.sh`);
      writeFileSync(copy, readFileSync(join(repoRoot, "scripts/uninstall.sh")));
      try {
        const u = spawnSync("bash", [copy, prefix], { encoding: "utf8", cwd: tmpdir() });
        expect({ status: u.status, stderr: u.stderr }).toEqual({ status: 0, stderr: "" });
        expect(u.stdout).toMatch(new RegExp(`^uninstalled berth from ${prefix} \\(\\d+ files\\)\n$`));
      } finally {
        rmSync(copy, { force: true });
      }
      expect(readdirSync(prefix)).toEqual([]);
      const again = spawnSync("bash", [join(repoRoot, "scripts/uninstall.sh"), prefix], { encoding: "utf8" });
      expect({ status: again.status, stderr: again.stderr }).toEqual({
        status: 1,
        stderr: `uninstall: ${prefix}/lib/berth/installed is missing: berth was not installed in ${prefix} by scripts/install.sh\n`,
      });
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  },
);

(nativeBuilt ? test : test.skip)(
  "uninstall.sh keeps what it did not install: a file of someone else's in share/man/man8 and its directories stay",
  () => {
    const prefix = mkdtempSync(join(tmpdir(), "berth-install-"));
    try {
      mkdirSync(join(prefix, "share/man/man8"), { recursive: true });
      writeFileSync(join(prefix, "share/man/man8/other.8"), ".TH OTHER 8\n");
      writeFileSync(join(prefix, "share/man/man8/berthold.8"), ".TH BERTHOLD 8\n"); // berth*.8, but not berth's
      expect(spawnSync("bash", [join(repoRoot, "scripts/install.sh"), prefix]).status).toBe(0);
      const u = spawnSync("bash", [join(repoRoot, "scripts/uninstall.sh"), prefix], { encoding: "utf8" });
      expect({ status: u.status, stderr: u.stderr }).toEqual({ status: 0, stderr: "" });
      expect(readdirSync(prefix)).toEqual(["share"]);
      expect(readdirSync(join(prefix, "share"))).toEqual(["man"]);
      expect(readdirSync(join(prefix, "share/man/man8")).sort()).toEqual(["berthold.8", "other.8"]);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  },
);

test("the CLI under test is the built one", () => {
  expect(existsSync(berthBin)).toBe(true);
});
