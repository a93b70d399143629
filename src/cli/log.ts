/**
 * `--log FILE --log-format text|json`, as runc writes them: one line per record. Engines
 * (containerd's shim, conmon) pass `--log-format json` and read the last `"level":"error"` line
 * of the file for the message to show their user, so an error goes both to stderr and here.
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

  write(level: Level, msg: string): void {
    if (level === "debug" && !this.debugEnabled) return;
    if (!this.file) {
      // Without --log, warnings reach stderr only under --debug: a command that succeeds
      // prints nothing there (engines treat stderr output as a sign of trouble). Errors are
      // printed by the caller.
      if (this.debugEnabled && level !== "error") process.stderr.write(this.line(level, msg));
      return;
    }
    try {
      appendFileSync(this.file, this.line(level, msg));
    } catch {
      // A log we cannot write must not hide the real outcome of the command.
    }
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
