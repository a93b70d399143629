/**
 * create: from a bundle to a container waiting in berth-init for `start`
 * (ARCHITECTURE.md §2). Every step that leaves something behind registers its undo; a failure
 * runs them in reverse and the user sees the original error (cleanup failures are appended).
 * When create returns, no Node process stays: the container is one berth-init process,
 * blocked reading its exec fifo.
 */
import { closeSync, constants, existsSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { BerthError, problemsError, toBerthError } from "../errors";
import { buildPlan, encodePlan, hostProblems, PlanError, SYNC, type LaunchPlan } from "../plan";
import { cgroupPathFor, type CgroupPlacement } from "../cgroups";
import { planSeccomp } from "../plan";
import type { ContainerRecord } from "../state";
import { writeFileAtomic } from "../state";
import type { NamespaceType, Spec } from "../spec";
import { loadBundle } from "./bundle";
import { gatherHostFacts } from "./host-facts";
import { procStat } from "./proc";
import type { Runtime } from "./runtime";

export interface CreateOptions {
  id: string;
  bundle?: string;
  pidFile?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  consoleSocket?: string;
  /** The container's stdin, stdout, stderr (default: this process's 0, 1, 2). */
  stdio?: [number, number, number];
}

export interface Created {
  record: ContainerRecord;
  pidfd: number;
}

class Undo {
  private steps: { what: string; fn: () => void }[] = [];
  push(what: string, fn: () => void): void {
    this.steps.push({ what, fn });
  }
  get size(): number {
    return this.steps.length;
  }
  /** Run every undo step, newest first; return what failed (never throws). */
  run(): string[] {
    const failed: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        step.fn();
      } catch (err) {
        failed.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.steps = [];
    return failed;
  }
}

function capLastCap(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
  } catch {
    return 40;
  }
}

/** The kernel took the uid_map: "containerID hostID size" lines, written in one write(2). */
function mapText(maps: { containerID: number; hostID: number; size: number }[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/** Write /proc/<pid>/{uid,gid}_map; a refusal is located at the config field it came from. */
function writeIdMap(id: string, pid: number, kind: "uid" | "gid", maps: { containerID: number; hostID: number; size: number }[]): void {
  try {
    writeFileSync(`/proc/${pid}/${kind}_map`, mapText(maps));
  } catch (err) {
    throw new BerthError({ op: "create", id, field: `linux.${kind}Mappings`, reason: `write /proc/${pid}/${kind}_map`, errno: (err as NodeJS.ErrnoException).code ?? "EIO", cause: err });
  }
}

/** Turn berth-init's failure record into the user's message, located at the op's config field. */
function initError(id: string, plan: LaunchPlan, msg: { opIndex: number; errno: number; detail: string }): BerthError {
  const op = plan.ops[msg.opIndex];
  return new BerthError({
    op: "create",
    id,
    field: op?.origin,
    reason: msg.detail || (op ? op.op : "berth-init failed"),
    errno: msg.errno || undefined,
  });
}

export async function create(rt: Runtime, opts: CreateOptions): Promise<Created> {
  const { id } = opts;
  const { store } = rt;
  try {
    store.createDir("create", id);
  } catch (err) {
    throw toBerthError(err, "create", id);
  }
  const undo = new Undo();
  undo.push(`remove ${store.dir(id)}`, () => store.remove(id));
  try {
    // The undo runs inside the lock: a `delete` or `kill` waiting for it then finds the
    // container gone, never half-removed.
    return await store.withLockAsync("create", id, async () => {
      try {
        return await createLocked(rt, opts, undo);
      } catch (err) {
        throw withCleanupFailures(toBerthError(err, "create", id), undo.run());
      }
    });
  } catch (err) {
    // Taking the lock failed: nothing but the directory was made.
    if (undo.size > 0) throw withCleanupFailures(toBerthError(err, "create", id), undo.run());
    throw err;
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
    // A many-problems error renders its problems, not its reason: the note rides along as one.
    problems: error.problems.length ? [...error.problems, { reason: note, severity: "error" }] : undefined,
    internal: error.internal,
    cause: error.cause ?? error,
  });
}

async function createLocked(rt: Runtime, opts: CreateOptions, undo: Undo): Promise<Created> {
  const { id } = opts;
  const { store, native, cgroups } = rt;
  const bundle = loadBundle(opts.bundle, "create", id);
  const spec: Spec = bundle.spec;
  for (const w of bundle.warnings) rt.warn(`create ${id}: ${w.field}: ${w.reason}`);

  // What the host cannot do is reported now, located at the field that asks for it.
  const facts = gatherHostFacts();
  const hostIssues = hostProblems(spec, facts).filter((p) => p.severity === "error");
  if (hostIssues.length) throw problemsError("create", id, hostIssues);

  const rootfs = resolve(bundle.dir, spec.root!.path);
  try {
    if (!statSync(rootfs).isDirectory()) throw new BerthError({ op: "create", id, field: "root.path", value: spec.root!.path, reason: "is not a directory" });
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new BerthError({ op: "create", id, field: "root.path", value: spec.root!.path, reason: "stat", errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
  }

  // Bind sources: a file needs a file to mount on; a missing one is an error now, not in init.
  const bindIsFile: boolean[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    const isBind = m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
    if (!isBind) return;
    const source = resolve(bundle.dir, m.source ?? "");
    try {
      bindIsFile[i] = !statSync(source).isDirectory();
    } catch (err) {
      throw new BerthError({ op: "create", id, field: `mounts[${i}].source`, value: m.source, reason: "stat", errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
    }
  });

  let seccomp: { bpf: Uint8Array; flags: number } | undefined;
  if (spec.linux?.seccomp) {
    if (!native.seccompCompile) throw new BerthError({ op: "create", id, field: "linux.seccomp", reason: "seccomp is not available in this build of berth" });
    const req = planSeccomp(spec.linux.seccomp, native.seccompArchNative(), facts.seccomp.flags);
    const compiled = native.seccompCompile(req);
    for (const name of compiled.skipped) rt.warn(`create ${id}: linux.seccomp: unknown system call "${name}" skipped`);
    seccomp = { bpf: compiled.bpf, flags: req.flags };
  }

  // The exec fifo: berth-init blocks reading it until `start` writes a byte. The parent opens
  // it O_RDWR, so the child's read blocks (a writer exists) instead of seeing end-of-file.
  const fifo = store.fifoPath(id);
  native.mkfifo(fifo, 0o600);
  const fifoFd = native.openFifoRdwr(fifo);
  const parentFds: number[] = [fifoFd];
  const closeParentFds = () => {
    for (const fd of parentFds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
  };

  try {
    // Child fd layout: 0-2 stdio, then --preserve-fds, then the fifo and joined namespaces.
    const preserve = opts.preserveFds ?? 0;
    const fds: number[] = [...(opts.stdio ?? [0, 1, 2])];
    for (let i = 0; i < preserve; i++) fds.push(3 + i);
    const fifoIndex = fds.push(fifoFd) - 1;
    const nsIndex: Partial<Record<NamespaceType, number>> = {};
    let pidnsFd: number | undefined;
    for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) {
      if (!ns.path || ns.type === "user") continue;
      let fd: number;
      try {
        fd = openSync(ns.path, constants.O_RDONLY);
      } catch (err) {
        throw new BerthError({ op: "create", id, field: `linux.namespaces[${i}].path`, value: ns.path, reason: "open", errno: (err as NodeJS.ErrnoException).code ?? "EIO" });
      }
      parentFds.push(fd);
      if (ns.type === "pid") pidnsFd = fd;
      else if (ns.type !== "time") nsIndex[ns.type] = fds.push(fd) - 1;
    }

    const layout = cgroups.detect();
    let plan: LaunchPlan;
    try {
      plan = buildPlan({
        spec,
        rootfs,
        bundle: bundle.dir,
        noPivot: opts.noPivot,
        fds: { fifo: fifoIndex, namespaces: nsIndex },
        bindSourceIsFile: (i) => bindIsFile[i] ?? false,
        cgroup: {
        mode: layout.mode,
        hierarchies: layout.v1Hierarchies.map((h) => ({ name: h.mountPoint.split("/").pop()!, mountPoint: h.mountPoint, data: h.data })),
        v2Mount: layout.v2Mount,
        path: cgroupPathFor(spec.linux?.cgroupsPath, id),
      },
        capLastCap: capLastCap(),
        seccomp,
      });
    } catch (err) {
      if (err instanceof PlanError) throw new BerthError({ op: "create", id, field: err.field, value: err.value, reason: err.reason });
      throw err;
    }

    // Cgroups before the process: it must never run user code outside them.
    const placement: CgroupPlacement = cgroups.create(layout, cgroupPathFor(spec.linux?.cgroupsPath, id));
    undo.push("remove cgroups", () => {
      const failed = cgroups.remove(placement.created);
      if (failed.length) throw new Error(failed.map((f) => `${f.dir}: ${f.error.code}`).join(", "));
    });
    let cgroupFd: number | undefined;
    if (placement.unified) {
      cgroupFd = openSync(placement.unified, constants.O_RDONLY | constants.O_DIRECTORY);
      parentFds.push(cgroupFd);
    }

    const launched = native.launch({ initPath: native.berthInitPath(), plan: encodePlan(plan.ops), fds, cloneFlags: plan.cloneFlags, cgroupFd, pidnsFd });
    undo.push(`kill berth-init (pid ${launched.pid})`, () => {
      try {
        try {
          native.pidfdSendSignal(launched.pidfd, 9);
        } catch (err) {
          // ESRCH: it exited on its own (a failing op); any other error and waiting would hang.
          if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
        }
        // It is our child: reap it, so no zombie stays and its cgroups can be removed.
        native.waitpid(launched.pid, false);
      } finally {
        native.closeFd(launched.pidfd);
      }
    });
    closeParentFds();

    try {
      cgroups.joinV1(placement, launched.pid);
      if (plan.userns) {
        writeIdMap(id, launched.pid, "uid", plan.userns.uidMappings);
        writeIdMap(id, launched.pid, "gid", plan.userns.gidMappings);
        native.syncSend(launched.syncFd, SYNC.ack);
      }
      const msg = native.syncRecv(launched.syncFd);
      if (!msg) throw new BerthError({ op: "create", id, reason: "berth-init exited before it was ready" });
      if (msg.type === SYNC.error) throw initError(id, plan, msg);
      if (msg.type !== SYNC.ready) throw new BerthError({ op: "create", id, reason: `unexpected message ${msg.type} from berth-init`, internal: true });
    } finally {
      native.closeFd(launched.syncFd);
    }

    const stat = procStat(launched.pid);
    if (!stat) throw new BerthError({ op: "create", id, reason: "berth-init exited before it was ready" });
    const record: ContainerRecord = {
      ociVersion: spec.ociVersion,
      id,
      status: "created",
      pid: launched.pid,
      bundle: bundle.dir,
      annotations: spec.annotations,
      created: new Date().toISOString(),
      rootfs,
      pidStartTime: stat.startTime,
      cgroupDirs: placement.created,
      cgroupUnified: placement.unified,
      config: spec,
      userns: plan.userns,
      owner: "root",
    };
    store.write(record);
    if (opts.pidFile) {
      const pidFile = resolve(opts.pidFile);
      try {
        // runc writes the pid file atomically too: engines poll for it.
        writeFileAtomic(pidFile, String(launched.pid), 0o644);
      } catch (err) {
        throw new BerthError({ op: "create", id, field: "--pid-file", value: opts.pidFile, reason: "write", errno: (err as NodeJS.ErrnoException).code ?? "EIO", cause: err });
      }
      undo.push(`remove ${pidFile}`, () => existsSync(pidFile) && unlinkSync(pidFile));
    }
    return { record, pidfd: launched.pidfd };
  } finally {
    closeParentFds();
  }
}
