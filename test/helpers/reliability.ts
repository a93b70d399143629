/**
 * Shared by the reliability tests (test/reliability/): how long they run, where they record
 * their numbers for docs/reliability.md, and what "the host is left as it was" means.
 *
 * Every reliability test has a short variant that runs in CI and a long one, chosen by
 * BERTH_RELIABILITY_LONG=1 (`npm run reliability` sets it and regenerates the report).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
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
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ name, date: new Date().toISOString(), commit, long: longRun, ...figures }, null, 2) + "\n");
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
  return { state: safeReaddir(stateRoot).sort(), cgroups: cgroupDirsUnder(cgroupParent), mounts, processes: processes.sort(), memfds: memfds.sort(), ownFds: ownFds.sort() };
}

/** What `after` has that `before` had not, per resource (a multiset difference); empty when nothing was left. */
export function leftBehind(before: HostSnapshot, after: HostSnapshot, ignore: (keyof HostSnapshot)[] = []): Partial<Record<keyof HostSnapshot, string[]>> {
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
export async function settledLeftBehind(before: HostSnapshot, after: () => HostSnapshot, ignore: (keyof HostSnapshot)[] = [], ms = 3000): Promise<Partial<Record<keyof HostSnapshot, string[]>>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = leftBehind(before, after(), ignore);
    if (Object.keys(left).length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}
