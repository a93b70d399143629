/** runc, the reference runtime, run as a user would: everything it says, for side-by-side tests. */
import { existsSync } from "node:fs";
import { runCaptured, type CliResult } from "./cli";

/** runc's binary, or undefined where it is not installed (CI installs it). */
export const runcBin = ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));

/** Output to files, not pipes, for the reason berth() gives (a container keeps them open). */
export function runc(args: string[], input?: string): CliResult {
  return runCaptured(runcBin!, args, { input, spawnErrors: false });
}

/** runc 1.1.5's default device rules as a v1 devices.list shows them, sorted (berth makes the same). */
export const RUNC_DEFAULT_DEVICE_RULES: readonly string[] = [
  "b *:* m",
  "c *:* m",
  "c 1:3 rwm",
  "c 1:5 rwm",
  "c 1:7 rwm",
  "c 1:8 rwm",
  "c 1:9 rwm",
  "c 10:200 rwm",
  "c 136:* rwm",
  "c 5:0 rwm",
  "c 5:2 rwm",
].sort();
