/**
 * `--log FILE --log-format text|json`, as runc writes them: one line per record. Engines
 * (containerd's shim, conmon) pass `--log-format json` and read the last `"level":"error"` line
 * of the file for the message to show their user, so an error goes both to stderr and here.
 * Without --log, warnings go to stderr (as runc's do); with it, only to the log, as today: an
 * engine reads them there, and its user is not shown a runtime's stderr as if it were an error.
 */
import { appendFileSync } from "node:fs";

export type LogFormat = "text" | "json";
export type Level = "debug" | "info" | "warning" | "error";

export class Logger {
  constructor(
    private readonly file: string | undefined,
    private readonly format: LogFormat,
    private readonly debugEnabled: boolean,
  ) {}

  private line(level: Level, msg: string): string {
    const time = new Date().toISOString();
    if (this.format === "json") return JSON.stringify({ level, msg, time }) + "\n";
    // logrus text format, which runc users grep.
    return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
  }

  /** Whether records go to a --log file (else to stderr). */
  get toFile(): boolean {
    return this.file !== undefined;
  }

  write(level: Level, msg: string): void {
    if (level === "debug" && !this.debugEnabled) return;
    if (!this.file) {
      // Without --log, records go to stderr, as runc's do (logrus writes to stderr): a warning
      // as one plain line, `berth: create c1: linux.seccomp.syscalls[0].names[1] "x": ...: skipped`;
      // debug and info lines only under --debug, in the log's format. Errors are printed by
      // the caller.
      if (level === "warning") process.stderr.write(`berth: ${msg}\n`);
      else if (this.debugEnabled && level !== "error") process.stderr.write(this.line(level, msg));
      return;
    }
    try {
      appendFileSync(this.file, this.line(level, msg));
    } catch {
      // A log we cannot write must not hide the real outcome of the command.
    }
  }

  /**
   * A warning the user must see even when --log is set (a failed poststart hook, a skipped
   * capability, a state directory list cannot read): on stderr, and in the log when there is one.
   */
  notice(msg: string): void {
    if (this.file) process.stderr.write(`berth: ${msg}\n`);
    this.write("warning", msg);
  }

  debug(msg: string): void {
    this.write("debug", msg);
  }
  warn(msg: string): void {
    this.write("warning", msg);
  }
  error(msg: string): void {
    this.write("error", msg);
  }
}
