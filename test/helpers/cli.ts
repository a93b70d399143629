/** Run the built CLI (bin/berth) as a user would, and capture everything it says. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const repoRoot = join(__dirname, "../..");
export const berthBin = join(repoRoot, "bin/berth");

export interface CliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export function berth(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  if (!existsSync(berthBin)) throw new Error(`${berthBin} is missing: run \`npm run build\` first`);
  const r = spawnSync(berthBin, args, { cwd: opts.cwd, input: opts.input, env: opts.env ?? process.env, encoding: "utf8" });
  return { exitCode: r.status, stdout: r.stdout, stderr: r.stderr };
}
