/**
 * One error type for all of berth.
 *
 * A BerthError says which operation failed, on which container, because of which config field
 * (and its value), for what reason, and -- when the kernel said no -- the errno text:
 *
 *   berth: create c1: mounts[3].destination "proc": must be an absolute path
 *   berth: create c1: mounts[5] bind "/data" on "/mnt": mount: no such file or directory
 *   berth: kill c9: container does not exist
 *
 * Engines match some of these texts as runc prints them ("container does not exist",
 * "container not running", lower-case errno text), so reasons keep runc's wording where one
 * exists. A config can have many problems at once; they travel together in `problems` and are
 * rendered one line each.
 */
import { getSystemErrorMap } from "node:util";

export type Severity = "error" | "warning";

/** One thing wrong with an input, located by its field path (`linux.namespaces[2].type`). */
export interface Problem {
  field?: string;
  /** The offending value, when there is one to show. */
  value?: unknown;
  reason: string;
  severity: Severity;
}

/**
 * What a program tests instead of a message's text (`err.code === "container-not-found"`).
 * Stable: a code is never renamed or reused; README, "Errors", lists them. The CLI never prints
 * it (the messages are runc's wording, which engines match).
 *
 *   container-not-found    no container with this id in the state root
 *   container-exists       create/run: the id is taken
 *   container-not-running  the container (its init) is not running: kill, exec, update, events
 *   container-paused       exec in a paused container
 *   container-state        the container is in the wrong state for the operation (start of a
 *                          started or stopped one, delete of a running one, resume of one not paused)
 *   image-not-found        no image by this name or id in the image store
 *   image-in-use           image rm of an image a container's writable layer sits on
 *   invalid-config         config.json / process.json is wrong, or asks what this host cannot do
 *                          (`problems` and `field` say where)
 *   invalid-argument       an argument is wrong: a container id, a signal name, an option
 *   native-missing         berth_native.node or berth-init is missing or cannot be loaded
 *   system                 a system call failed (`errno`, `syscall`)
 *   internal               a bug or a host surprise
 *   other                  anything else: read the message
 */
export type BerthErrorCode =
  | "container-not-found"
  | "container-exists"
  | "container-not-running"
  | "container-paused"
  | "container-state"
  | "image-not-found"
  | "image-in-use"
  | "invalid-config"
  | "invalid-argument"
  | "native-missing"
  | "system"
  | "internal"
  | "other";

export interface BerthErrorInit {
  /** The stable code; when left out: "internal" for internal errors, "invalid-config" with problems, "system" with an errno, else "other". */
  code?: BerthErrorCode;
  op: string;
  id?: string;
  field?: string;
  value?: unknown;
  reason: string;
  /** errno name ("ENOENT") or number, when a system call failed. */
  errno?: string | number;
  /** Name of the failing system call, printed before the errno text ("mount: ..."). */
  syscall?: string;
  /** The reason already says what the errno means (berth-init's `exec: "x": executable file not found in $PATH`): its text is not appended. */
  errnoInReason?: boolean;
  /** Several problems found at once (config validation). `reason` then summarises them. */
  problems?: Problem[];
  /** Internal errors are bugs or host surprises: they show a stack under --debug. */
  internal?: boolean;
  /** The CLI's exit status for this error: 1 unless a verb says otherwise (exec: 255, as runc). */
  exitCode?: number;
  cause?: unknown;
}

const errnoNames = new Map<string, number>();
let systemErrors: Map<number, [string, string]> | undefined;

function systemErrorMap(): Map<number, [string, string]> {
  if (!systemErrors) {
    systemErrors = getSystemErrorMap();
    for (const [num, [name]] of systemErrors) errnoNames.set(name, num);
  }
  return systemErrors;
}

/** "ENOENT" or 2 (or -2, libuv style) -> "no such file or directory". */
export function errnoText(errno: string | number): string {
  const map = systemErrorMap();
  let num: number | undefined;
  if (typeof errno === "number") num = -Math.abs(errno);
  else num = errnoNames.get(errno);
  const entry = num === undefined ? undefined : map.get(num);
  if (!entry) return typeof errno === "number" ? `errno ${Math.abs(errno)}` : errno;
  // libuv's messages are already lower-case, as runc's (Go's syscall.Errno) are.
  return entry[1];
}

/** "ENOENT" -> 2, and numbers unchanged (positive). */
export function errnoNumber(errno: string | number): number | undefined {
  if (typeof errno === "number") return Math.abs(errno);
  systemErrorMap();
  const num = errnoNames.get(errno);
  return num === undefined ? undefined : Math.abs(num);
}

/** Render a config value for a message: strings quoted, others as short JSON. */
export function renderValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * A reason may quote what the user gave (a path, a name) as it was: control characters are
 * escaped as in JSON, so that one problem stays one line (engines show the last line only).
 */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** `<field> "<value>": <reason>`, the located part of a message. */
export function renderProblem(p: Problem): string {
  let out = "";
  if (p.field) out += oneLine(p.field);
  if (p.value !== undefined) out += (out ? " " : "") + renderValue(p.value);
  return out ? `${out}: ${oneLine(p.reason)}` : oneLine(p.reason);
}

/**
 * Marks a BerthError whichever copy of this module made it: the CLI loads the image room from
 * a bundle of its own (bin/berth-image.js, scripts/bundle.mjs), which has its own copy of this
 * class, and `instanceof BerthError` must hold for its errors too.
 */
const BRAND = Symbol.for("berth.BerthError");

export class BerthError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** What kind of error this is, for programs (BerthErrorCode); never part of the message. */
  readonly code: BerthErrorCode;
  readonly op: string;
  readonly id?: string;
  readonly field?: string;
  readonly value?: unknown;
  readonly reason: string;
  readonly errno?: string | number;
  readonly syscall?: string;
  readonly errnoInReason: boolean;
  readonly problems: Problem[];
  readonly internal: boolean;
  readonly exitCode: number;

  constructor(init: BerthErrorInit) {
    super("", init.cause === undefined ? undefined : { cause: init.cause });
    Object.defineProperty(this, BRAND, { value: true });
    this.name = "BerthError";
    this.op = init.op;
    this.id = init.id;
    this.field = init.field;
    this.value = init.value;
    this.reason = init.reason;
    this.errno = init.errno;
    this.syscall = init.syscall;
    this.errnoInReason = init.errnoInReason ?? false;
    this.problems = init.problems ?? [];
    this.internal = init.internal ?? false;
    this.exitCode = init.exitCode ?? 1;
    this.code =
      init.code ??
      (this.internal
        ? "internal"
        : this.problems.some((p) => p.severity === "error")
          ? "invalid-config"
          : this.errno !== undefined
            ? "system"
            : "other");
    this.message = this.render();
  }

  /** `berth: <op> <id>` */
  get prefix(): string {
    const where = this.where();
    return where ? `berth: ${where}` : "berth";
  }

  /** The main line, without the "berth: op id: " prefix. */
  get detail(): string {
    let text = renderProblem({ field: this.field, value: this.value, reason: this.reason, severity: "error" });
    // A reason that already ends with the errno's text (berth-init's "stat /x: no such file or
    // directory") does not get it twice.
    if (this.errno !== undefined && !this.errnoInReason && !(this.syscall === undefined && this.reason.endsWith(errnoText(this.errno)))) {
      text += ": " + (this.syscall ? `${this.syscall}: ` : "") + errnoText(this.errno);
    }
    return text;
  }

  /** Every line the user sees: one per problem when there are several, otherwise one. */
  lines(): string[] {
    const errors = this.problems.filter((p) => p.severity === "error");
    if (errors.length > 0) return errors.map((p) => `${this.prefix}: ${renderProblem(p)}`);
    return [`${this.prefix}: ${this.detail}`];
  }

  /**
   * The whole error as one line without the "berth: " prefix, for the --log file: engines show
   * their user only the last error line of it (conmon, containerd's shim), after a prefix of
   * their own that names the runtime (podman: "Error: berth: ..."). Several problems are joined
   * with "; " on that one line.
   */
  logLine(): string {
    const where = this.where();
    const errors = this.problems.filter((p) => p.severity === "error");
    const body =
      errors.length > 1
        ? `${errors.length} problems: ${errors.map(renderProblem).join("; ")}`
        : errors.length === 1
          ? renderProblem(errors[0]!)
          : this.detail;
    return where ? `${where}: ${body}` : body;
  }

  render(): string {
    return this.lines().join("\n");
  }

  /** `<op> <id>`; an id as the user typed it may hold a newline: escaped, as in a reason. */
  private where(): string {
    return [this.op, this.id === undefined ? undefined : oneLine(String(this.id))].filter(Boolean).join(" ");
  }

  /** Same error for another container or operation (the library reuses spec errors). */
  withContext(op: string, id?: string): BerthError {
    return new BerthError({ ...this.init(), op, id });
  }

  /** Same error, ending the CLI with another exit status. */
  withExitCode(exitCode: number): BerthError {
    return new BerthError({ ...this.init(), exitCode });
  }

  private init(): BerthErrorInit {
    return {
      code: this.code,
      op: this.op,
      id: this.id,
      field: this.field,
      value: this.value,
      reason: this.reason,
      errno: this.errno,
      syscall: this.syscall,
      errnoInReason: this.errnoInReason,
      problems: this.problems,
      internal: this.internal,
      exitCode: this.exitCode,
      cause: this.cause,
    };
  }
}

/** Validation found problems: an error carrying all of them (warnings ride along). */
export function problemsError(op: string, id: string | undefined, problems: Problem[]): BerthError {
  const errors = problems.filter((p) => p.severity === "error");
  return new BerthError({
    op,
    id,
    reason: errors.length === 1 ? renderProblem(errors[0]!) : `${errors.length} problems in config`,
    problems,
  });
}

/**
 * Wrap any thrown value as a BerthError. Node system errors (fs, child_process) carry
 * code/syscall/path: keep them, so the user reads "open /x/config.json: no such file or directory".
 */
export function toBerthError(err: unknown, op: string, id?: string): BerthError {
  if (err instanceof BerthError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  // The addon or berth-init is not where src/native looks, or cannot be loaded: the message
  // already names the path and the fix; it is not a bug.
  if (e && typeof e === "object" && (e.code === "ERR_BERTH_NATIVE_NOT_FOUND" || e.code === "ERR_BERTH_NATIVE_LOAD")) {
    return new BerthError({ code: "native-missing", op, id, reason: e.message, cause: err });
  }
  if (e && typeof e === "object" && typeof e.code === "string" && /^E[A-Z0-9]+$/.test(e.code)) {
    // A process that could not be made (the addon retried EAGAIN briefly first): say which
    // limit that is, rather than only "resource temporarily unavailable".
    const limit = e.code === "EAGAIN" && (e.syscall === "clone3" || e.syscall === "clone" || e.syscall === "fork");
    return new BerthError({
      op,
      id,
      field: e.path,
      reason: limit
        ? `${e.syscall}: the process limit is reached (RLIMIT_NPROC, pids.max of the cgroup, or the host's threads-max)`
        : (e.syscall ?? "system call failed"),
      errno: e.code,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BerthError({ op, id, reason: `internal error: ${message}`, internal: true, cause: err });
}
