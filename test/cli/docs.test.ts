/**
 * What berth says about its command line (issue 18): --help and `berth help [VERB]`, the man
 * pages and the bash completion, all made from the command table the parser reads
 * (src/cli/commands.ts, rendered by src/cli/docs.ts). The man pages in man/ are written by
 * `npm run build` (scripts/gen-docs.mjs); here they must be exactly what the table gives now.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
    expect(berth(["completion", "zsh"])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: 'berth: completion: shell "zsh": only bash is supported\n',
    });
  });
});

const nativeBuilt = existsSync(join(repoRoot, "build/Release/berth-init")) && existsSync(join(repoRoot, "build/Release/berth_native.node"));
(nativeBuilt ? test : test.skip)("scripts/install.sh PREFIX installs a man page per verb and the bash completion", () => {
  const prefix = mkdtempSync(join(tmpdir(), "berth-install-"));
  try {
    const r = spawnSync("bash", [join(repoRoot, "scripts/install.sh"), prefix], { encoding: "utf8" });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(readdirSync(join(prefix, "share/man/man8")).sort()).toEqual(Object.keys(manPages()).sort());
    expect(readFileSync(join(prefix, "share/bash-completion/completions/berth"), "utf8")).toBe(berth(["completion", "bash"]).stdout);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});

test("the CLI under test is the built one", () => {
  expect(existsSync(berthBin)).toBe(true);
});
