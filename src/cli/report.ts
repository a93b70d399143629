/** How a failed command is reported, shared by main.ts and the fast path (fast.ts). */
import { toBerthError } from "../errors";
import type { Logger } from "./log";

export interface MainIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processIo: MainIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/**
 * One line per problem on stderr; one line in the log that carries them all (engines show the
 * last error line of the log only: BerthError.logLine); a stack only for internal errors under
 * --debug. Returns the exit code (1, or the error's own).
 */
export function reportError(err: unknown, op: string, logger: Logger, debug: boolean, io: MainIo): number {
  const e = toBerthError(err, op);
  for (const line of e.lines()) io.stderr(line + "\n");
  if (logger.toFile) logger.error(e.logLine());
  if (debug && e.internal) io.stderr(`${(e.cause as Error | undefined)?.stack ?? e.stack}\n`);
  return e.exitCode;
}
