/**
 * docs/library.md's worked example, run as written: the program and the output the page shows
 * are taken from the markdown, the program imports "berth" as a user's would (a node_modules/berth
 * link to this built checkout, which resolves through package.json's "exports" to dist/), and
 * runs against a busybox bundle whose process keeps running.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/cli";
import { cgroupDirsFor, makeBundle } from "../helpers/bundle";

jest.setTimeout(60_000);

const page = readFileSync(join(repoRoot, "docs/library.md"), "utf8");

/** The first fenced block (```lang) after `heading` on the page. */
function blockAfter(heading: string, lang: string): string {
  const at = page.indexOf(heading);
  expect(at).toBeGreaterThanOrEqual(0);
  const m = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(page.slice(at));
  expect(m).not.toBeNull();
  return m![1]!;
}

const built = existsSync(join(repoRoot, "dist/index.js")) && existsSync(join(repoRoot, "build/Release/berth_native.node"));
const isRoot = process.getuid?.() === 0;

(built && isRoot ? test : test.skip)("the example program of docs/library.md runs and prints what the page says", () => {
  const program = blockAfter("## The program", "js");
  const expected = blockAfter("Its output", "");
  const work = mkdtempSync(join(tmpdir(), "berth-libdoc-"));
  const b = makeBundle(["sleep", "1000"]);
  try {
    mkdirSync(join(work, "node_modules"));
    symlinkSync(repoRoot, join(work, "node_modules/berth"));
    writeFileSync(join(work, "example.mjs"), program);
    const r = spawnSync(process.execPath, ["example.mjs", b.dir, b.root], { cwd: work, encoding: "utf8", timeout: 45_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(expected.replace("example-PID", `example-${r.pid}`));
    expect(cgroupDirsFor(`/berth/example-${r.pid}`)).toEqual([]);
  } finally {
    b.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
});
