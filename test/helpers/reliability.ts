/**
 * Shared by the reliability tests (test/reliability/): how long they run, where they record
 * their numbers for docs/reliability.md, and what "the host is left as it was" means.
 *
 * Every reliability test has a short variant that runs in CI and a long one, chosen by
 * BERTH_RELIABILITY_LONG=1 (`npm run reliability` sets it and regenerates the report).
 */
import { execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./cli";

export const longRun = process.env.BERTH_RELIABILITY_LONG === "1";

/** The short (CI) or the long count. */
export function scale(short: number, long: number): number {
  return longRun ? long : short;
}

/**
 * Record a test's figures in build/reliability/<name>.json (or $BERTH_RELIABILITY_DIR); scripts/reliability-report.mjs
 * renders every such file into docs/reliability.md, with the date and commit measured.
 */
export function recordNumbers(name: string, figures: Record<string, unknown>): void {
  const dir = process.env.BERTH_RELIABILITY_DIR ?? join(repoRoot, "build/reliability");
  mkdirSync(dir, { recursive: true });
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    /* not a checkout */
  }
  writeFileSync(
    join(dir, `${name}.json`),
    JSON.stringify({ name, date: new Date().toISOString(), commit, long: longRun, ...figures }, null, 2) + "\n",
  );
}

/** What a container can leave on the host, as sets of strings (so two snapshots can be diffed). */
export interface HostSnapshot {
  /** Entries of the state root. */
  state: string[];
  /** Cgroup directories at or below `<hierarchy>/<cgroupParent>`, on every hierarchy. */
  cgroups: string[];
  /** Mount points, from this process's mountinfo ("<mount point> <fstype>"). */
  mounts: string[];
  /**
   * Processes in a cgroup under cgroupParent, "pid comm" (with hostWide, also every process
   * running berth-init from its sealed memfd, wherever it is).
   */
  processes: string[];
  /**
   * Open fds on berth's memfds (berth-init, berth-plan, berth-seccomp-bpf), "pid/fd target",
   * held by this process or one under cgroupParent (with hostWide, by any process).
   */
  memfds: string[];
  /** This process's own fds: "fd -> target". */
  ownFds: string[];
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function cgroupDirsUnder(parent: string): string[] {
  const found: string[] = [];
  const hierarchies = safeReaddir("/sys/fs/cgroup").map((h) => join("/sys/fs/cgroup", h));
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) hierarchies.push("/sys/fs/cgroup");
  for (const h of hierarchies) {
    const start = join(h, parent);
    const walk = (dir: string): void => {
      let st;
      try {
        st = statSync(dir);
      } catch {
        return;
      }
      if (!st.isDirectory()) return;
      found.push(dir);
      for (const e of safeReaddir(dir)) {
        const p = join(dir, e);
        try {
          if (statSync(p).isDirectory()) walk(p);
        } catch {
          /* gone */
        }
      }
    };
    walk(start);
  }
  return found.sort();
}

/**
 * A snapshot of what berth could leave behind. `cgroupParent` is the cgroupsPath prefix the
 * test's containers use (for the default cgroupsPath: "berth"); its own directory counts too,
 * so a test that starts from none sees one made and left.
 */
export function hostSnapshot(stateRoot: string, cgroupParent = "berth", opts: { hostWide?: boolean } = {}): HostSnapshot {
  const processes: string[] = [];
  const memfds: string[] = [];
  for (const p of safeReaddir("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    let exe = "";
    try {
      exe = readlinkSync(`/proc/${p}/exe`);
    } catch {
      /* a zombie or a kernel thread */
    }
    let cgroup = "";
    try {
      cgroup = readFileSync(`/proc/${p}/cgroup`, "utf8");
    } catch {
      continue;
    }
    let comm = "?";
    try {
      comm = readFileSync(`/proc/${p}/comm`, "utf8").trim();
    } catch {
      /* gone */
    }
    const inOurCgroup = cgroup.split("\n").some((l) => l.split(":")[2]?.startsWith(`/${cgroupParent}/`));
    // Other tests and engines on the host run containers of their own: without hostWide only
    // the processes a cgroup of ours holds count (a leaked berth-init is in one: it starts
    // in the container's cgroup, and a cgroup with a process in it cannot be removed).
    const ours = inOurCgroup || Number(p) === process.pid;
    if (inOurCgroup || (opts.hostWide && exe.includes("memfd:berth-init"))) processes.push(`${p} ${comm}`);
    if (!ours && !opts.hostWide) continue;
    for (const fd of safeReaddir(`/proc/${p}/fd`)) {
      let target = "";
      try {
        target = readlinkSync(`/proc/${p}/fd/${fd}`);
      } catch {
        continue;
      }
      if (/^\/memfd:berth-/.test(target)) memfds.push(`${p}/${fd} ${target}`);
    }
  }
  const ownFds: string[] = [];
  for (const fd of safeReaddir("/proc/self/fd")) {
    try {
      ownFds.push(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      /* the directory's own fd, closed by now */
    }
  }
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const f = l.split(" ");
      const dash = f.indexOf("-");
      return `${f[4]} ${f[dash + 1]}`;
    })
    .sort();
  return {
    state: safeReaddir(stateRoot).sort(),
    cgroups: cgroupDirsUnder(cgroupParent),
    mounts,
    processes: processes.sort(),
    memfds: memfds.sort(),
    ownFds: ownFds.sort(),
  };
}

/** What `after` has that `before` had not, per resource (a multiset difference); empty when nothing was left. */
export function leftBehind(
  before: HostSnapshot,
  after: HostSnapshot,
  ignore: (keyof HostSnapshot)[] = [],
): Partial<Record<keyof HostSnapshot, string[]>> {
  const out: Partial<Record<keyof HostSnapshot, string[]>> = {};
  for (const key of Object.keys(after) as (keyof HostSnapshot)[]) {
    if (ignore.includes(key)) continue;
    const remaining = [...before[key]];
    const extra: string[] = [];
    for (const v of after[key]) {
      const i = remaining.indexOf(v);
      if (i >= 0) remaining.splice(i, 1);
      else extra.push(v);
    }
    if (extra.length) out[key] = extra;
  }
  return out;
}

/**
 * What is still left after `after()` settles: other tests and programs on the host come and go
 * (their processes, mounts and memfds show in a snapshot for a moment), so a difference must
 * persist for `ms` to count. Empty when nothing was left.
 */
export async function settledLeftBehind(
  before: HostSnapshot,
  after: () => HostSnapshot,
  ignore: (keyof HostSnapshot)[] = [],
  ms = 3000,
): Promise<Partial<Record<keyof HostSnapshot, string[]>>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = leftBehind(before, after(), ignore);
    if (Object.keys(left).length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How one command started by spawnCli ended. */
export interface SpawnedResult {
  /** The exit status; null when it was killed (timedOut) or died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** It ran past its deadline and was killed with SIGKILL: for a lifecycle verb, a deadlock. */
  timedOut: boolean;
}

/**
 * Run a command with spawn, not spawnSync, so that many can run at once. stdout and stderr go
 * to files, for the reason berth() gives (a container inherits them); they are read back when
 * the command has exited and removed at once (a container keeps only an unlinked file open).
 */
export function spawnCli(bin: string, args: string[], timeoutMs = 30_000): Promise<SpawnedResult> {
  const dir = mkdtempSync(join(tmpdir(), "berth-spawn-"));
  const outPath = join(dir, "out");
  const errPath = join(dir, "err");
  const out = openSync(outPath, "w+");
  const err = openSync(errPath, "w+");
  const t0 = Date.now();
  return new Promise<SpawnedResult>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["ignore", out, err] });
    closeSync(out);
    closeSync(err);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      try {
        resolve({
          code,
          signal,
          stdout: readFileSync(outPath, "utf8"),
          stderr: readFileSync(errPath, "utf8"),
          ms: Date.now() - t0,
          timedOut,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    child.on("error", (e) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(e);
    });
    child.on("close", finish);
  });
}

/**
 * Zombies berth could be the parent of: children of this process not yet reaped, and
 * berth-init processes (comm "memfd:berth-ini", pid 1's children once reparented) that nobody reaps: "pid ppid comm".
 */
export function zombies(): string[] {
  const found: string[] = [];
  for (const p of safeReaddir("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, "utf8");
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(" ");
    if (state !== "Z") continue;
    if (Number(ppid) === process.pid || (ppid === "1" && comm.includes("berth-ini"))) found.push(`${p} ${ppid} ${comm}`);
  }
  return found.sort();
}

/** rmdir the cgroup directories at and below /<p> on every hierarchy, deepest first (only empty ones: a test's own leftovers). */
export function removeCgroupTree(p: string): void {
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const walk = (dir: string): void => {
      let entries: string[];
      try {
        entries = readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name);
      } catch {
        return;
      }
      for (const e of entries) walk(join(dir, e));
      try {
        rmdirSync(dir);
      } catch {
        /* not empty: leave it */
      }
    };
    walk(join("/sys/fs/cgroup", h, p));
  }
}
