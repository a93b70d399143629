/**
 * create's undo log: every step that leaves something behind registers how to take it back; a
 * failed create runs them newest first, inside the container's lock, and the user sees the
 * original error with what could not be undone appended.
 */
import { BerthError } from "../errors";
import type { UndoLog } from "./net-devices";

export class Undo implements UndoLog {
  private steps: { what: string; fn: () => void | Promise<void> }[] = [];
  private finals: (() => void)[] = [];
  /** Run after every step, whatever happened (the poststop hooks of a failed create). */
  after: (() => void)[] = [];
  push(what: string, fn: () => void | Promise<void>): void {
    this.steps.push({ what, fn });
  }
  /**
   * Run when create is done, either way: after the undo steps of a failed one (which may need
   * it, e.g. the handles that keep the container's network namespace alive), or on success.
   */
  finally(fn: () => void): void {
    this.finals.push(fn);
  }
  get size(): number {
    return this.steps.length;
  }
  /** Run every undo step, newest first; return what failed (never throws). */
  async run(): Promise<string[]> {
    const failed: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step.fn();
      } catch (err) {
        failed.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.steps = [];
    this.release();
    for (const fn of this.after.splice(0)) fn();
    return failed;
  }
  /** The `finally` work, newest first (releasing handles: a failure there changes nothing). */
  release(): void {
    for (const fn of this.finals.splice(0).reverse()) {
      try {
        fn();
      } catch {
        /* a handle that would not close: nothing to undo */
      }
    }
  }
}

/**
 * The original error, with what the rollback could not undo appended (never substituted):
 * "<reason> (cleanup failed: kill berth-init (pid 12): EPERM; ...)".
 */
export function withCleanupFailures(error: BerthError, failed: string[]): BerthError {
  if (failed.length === 0) return error;
  const note = `cleanup failed: ${failed.join("; ")}`;
  return new BerthError({
    op: error.op,
    id: error.id,
    field: error.field,
    value: error.value,
    reason: `${error.reason} (${note})`,
    errno: error.errno,
    syscall: error.syscall,
    errnoInReason: error.errnoInReason,
    // A many-problems error renders its problems, not its reason: the note rides along as one.
    problems: error.problems.length ? [...error.problems, { reason: note, severity: "error" }] : undefined,
    internal: error.internal,
    cause: error.cause ?? error,
  });
}
