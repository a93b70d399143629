/** Run the built CLI (bin/berth) as a user would, and capture everything it says. */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const repoRoot = join(__dirname, "../..");
export const berthBin = join(repoRoot, "bin/berth");

export interface CliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * stdout and stderr go to files, not pipes: a container made by `create` or `run -d` inherits
 * them and keeps them open for as long as it lives (as with runc), so waiting for a pipe's
 * end would wait for the container. What the CLI wrote is read back once it has exited.
 */
export function berth(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  if (!existsSync(berthBin)) throw new Error(`${berthBin} is missing: run \`npm run build\` first`);
  return runCaptured(berthBin, args, opts);
}

/**
 * Run any runtime's binary (berth, runc) with its output captured through files, for the
 * reason berth() gives. A failure to spawn or a timeout throws, unless `spawnErrors` is false
 * (then exitCode is null).
 */
export function runCaptured(
  bin: string,
  args: string[],
  opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; spawnErrors?: boolean } = {},
): CliResult {
  const dir = mkdtempSync(join(tmpdir(), "berth-cli-"));
  const out = openSync(join(dir, "out"), "w+");
  const err = openSync(join(dir, "err"), "w+");
  try {
    const r = spawnSync(bin, args, {
      cwd: opts.cwd,
      input: opts.input,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? "ignore" : "pipe", out, err],
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: "SIGKILL",
    });
    if (r.error && opts.spawnErrors !== false) throw r.error;
    return { exitCode: r.status, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: readFileSync(join(dir, "err"), "utf8") };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}
