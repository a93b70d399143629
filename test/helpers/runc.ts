/** runc, the reference runtime, run as a user would: everything it says, for side-by-side tests. */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CliResult } from "./cli";

/** runc's binary, or undefined where it is not installed (CI installs it). */
export const runcBin = ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));

/** Output to files, not pipes, for the reason berth() gives (a container keeps them open). */
export function runc(args: string[], input?: string): CliResult {
  const dir = mkdtempSync(join(tmpdir(), "berth-runc-"));
  const out = openSync(join(dir, "out"), "w+");
  const err = openSync(join(dir, "err"), "w+");
  try {
    const r = spawnSync(runcBin!, args, { input, stdio: [input === undefined ? "ignore" : "pipe", out, err], timeout: 30_000, killSignal: "SIGKILL" });
    return { exitCode: r.status, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: readFileSync(join(dir, "err"), "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}
