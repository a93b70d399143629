/** runc, the reference runtime, run as a user would: everything it says, for side-by-side tests. */
import { existsSync } from "node:fs";
import { runCaptured, type CliResult } from "./cli";

/** runc's binary, or undefined where it is not installed (CI installs it). */
export const runcBin = ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));

/** Output to files, not pipes, for the reason berth() gives (a container keeps them open). */
export function runc(args: string[], input?: string): CliResult {
  return runCaptured(runcBin!, args, { input, spawnErrors: false });
}
