/**
 * The API reference (npm run docs:api: typedoc over src/index.ts, typedoc.json) builds without
 * a warning: every type the public API names is exported and documented in it, and no
 * {@link} is broken (treatWarningsAsErrors). Written to a scratch directory, not to build/api.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/cli";

jest.setTimeout(180_000);

test("typedoc builds the API reference from the types without warnings; the long calls document their signal", () => {
  const out = mkdtempSync(join(tmpdir(), "berth-api-"));
  try {
    const r = spawnSync(process.execPath, [join(repoRoot, "node_modules/typedoc/bin/typedoc"), "--out", out], {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    expect(r.stdout.split("\n").filter((l) => /warning|error/i.test(l))).toEqual([]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // Each long call's options, as the reference shows them, hold an AbortSignal.
    for (const page of ["functions/wait", "functions/run", "functions/loadImage", "interfaces/ExecOptions", "interfaces/EventsOptions"]) {
      const html = readFileSync(join(out, `${page}.html`), "utf8");
      expect({ page, signal: html.includes("AbortSignal") }).toEqual({ page, signal: true });
    }
    expect(existsSync(join(out, "classes/BerthError.html"))).toBe(true);
    expect(readFileSync(join(out, "types/BerthErrorCode.html"), "utf8")).toContain("container-not-found");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
