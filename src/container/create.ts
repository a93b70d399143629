/**
 * create: from a bundle to a container waiting in berth-init for `start`
 * (docs/architecture.md, "Process model"). createLocked lists the steps in their order, each a
 * function of its own file; every step that leaves something behind registers its undo, and a
 * failure runs them in reverse: the user sees the original error (cleanup failures appended).
 * When create returns, no Node process stays: the container is one berth-init process,
 * blocked reading its exec fifo.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BerthError, toBerthError } from "../errors";
import { fsCgroupDriver } from "../cgroups";
import type { ContainerRecord } from "../state";
import { loadBundle } from "./bundle";
import { cgroupDriver } from "./cgroup-driver";
import type { ReceivedTerminal } from "./console";
import { ParentFds, summaryOf, type CreateContext } from "./create-context";
import { launchInit, recordHostMounts, serveCreate } from "./create-init";
import { writeCreatedRecord } from "./create-record";
import { checkHost } from "./host-check";
import { openInputs } from "./inputs";
import { planLaunch } from "./launch-plan";
import { placeCgroups } from "./place-cgroups";
import { prepareRootfs } from "./rootfs";
import type { Runtime } from "./runtime";
import { prepareSeccomp } from "./seccomp";
import { Undo, withCleanupFailures } from "./undo";
import { reportWarnings } from "./warnings";
import { faultPoint } from "../fault";

export { withCleanupFailures };

export interface CreateOptions {
  id: string;
  bundle?: string;
  pidFile?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** Where the pty master goes when process.terminal is true (runc's --console-socket). */
  consoleSocket?: string;
  /**
   * The caller stays with the container (`run` without --detach): with process.terminal it
   * gets the pty master (Created.terminal) to relay, and a console socket is refused.
   */
  foreground?: boolean;
  /**
   * With process.terminal: the pty master comes back to the caller (Created.terminal) instead
   * of going to a console socket, for a caller in this process that serves the terminal itself
   * (containerd's shim). The container is still detached.
   */
  keepTerminal?: boolean;
  /** --systemd-cgroup: cgroupsPath is slice:prefix:name, laid out as systemd would. */
  systemdCgroup?: boolean;
  /** The container's stdin, stdout, stderr (default: this process's 0, 1, 2). */
  stdio?: [number, number, number];
  /**
   * The caller's NOTIFY_SOCKET (sd_notify): the socket is bound into the container at
   * /run/notify/notify.sock and the process's NOTIFY_SOCKET points there.
   */
  notifySocket?: string;
  /**
   * Socket activation (LISTEN_FDS=N for this process): fds 3..3+N-1 go to the container
   * before the --preserve-fds ones, and its env gets LISTEN_FDS=N, LISTEN_PID=1 (as runc).
   */
  listenFds?: number;
}

export interface Created {
  record: ContainerRecord;
  pidfd: number;
  /** The pty master, with `foreground` or `keepTerminal` and process.terminal; the caller closes it. */
  terminal?: ReceivedTerminal;
}

export function capLastCap(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
  } catch {
    return 40;
  }
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
        faultPoint("create", id, "make the state directory");
        const created = await createLocked(rt, opts, undo);
        undo.release();
        return created;
      } catch (err) {
        const error = toBerthError(err, "create", id);
        throw withCleanupFailures(error, await undo.run());
      }
    });
  } catch (err) {
    // Taking the lock failed: nothing but the directory was made. If it is gone (a `delete
    // --force` removed it before the lock was ours; store.ts lock), the directory now at the
    // path, if any, is another create's: not ours to remove.
    if (err instanceof BerthError && err.reason === "container does not exist") throw err;
    if (undo.size > 0) throw withCleanupFailures(toBerthError(err, "create", id), await undo.run());
    throw err;
  }
}

async function createLocked(rt: Runtime, opts: CreateOptions, undo: Undo): Promise<Created> {
  const { id } = opts;
  const cgroups = cgroupDriver(rt, opts.systemdCgroup === true);
  // 1. Load the bundle: config.json read, parsed, validated, checked.
  const bundle = loadBundle(opts.bundle, "create", id);
  const spec = bundle.spec;
  reportWarnings(rt, "create", id, bundle.warnings);
  // 2. Check the host: what it cannot do is refused now, at the field that asks for it.
  const host = checkHost({ rt, opts, id, spec });
  const rootfs = resolve(bundle.dir, spec.root!.path);
  const ctx: CreateContext = {
    rt,
    opts,
    id,
    bundle,
    spec,
    rootfs,
    undo,
    creating: creatingRecord(id, bundle.dir, spec, rootfs),
    parentFds: new ParentFds(),
  };
  // A "creating" record, before anything is made on the host, and kept up to date until
  // "created": if create is killed, `delete --force` finds from it what to remove.
  rt.store.write(ctx.creating, false);
  faultPoint("create", id, "record creating");
  // 3. Prepare the rootfs (the image's, for `berth bundle`) and look at the bind sources.
  const binds = prepareRootfs(ctx);
  // 4. Prepare seccomp: plan the filter and compile it to BPF.
  const seccomp = prepareSeccomp(rt, "create", id, spec, bundle.dir, host.facts.seccomp.flags, true);
  try {
    // 5. Open berth-init's inputs, which fix its fd layout.
    const inputs = openInputs(ctx);
    // 6. Build the plan (pure). The cgroupfs driver detects what the host check read.
    const layout = rt.cgroups === fsCgroupDriver ? host.facts.cgroupLayout : cgroups.detect();
    const planned = planLaunch(ctx, cgroups, layout, host, binds, seccomp, inputs);
    // 7. Place the cgroups, before the process exists.
    const placed = await placeCgroups(ctx, cgroups, layout, planned);
    const hostMounts = recordHostMounts(ctx);
    // What delete must find if create is killed from here on: the cgroups and host mounts.
    Object.assign(ctx.creating, {
      cgroupDirs: placed.placement.created,
      cgroupShared: placed.cgroupShared.length ? placed.cgroupShared : undefined,
      cgroupPath: planned.cgroupPath,
      cgroupUnified: placed.placement.unified,
      systemdUnit: placed.lease.unit,
      hostMounts,
    });
    rt.store.writeSummary(summaryOf(ctx.creating));
    faultPoint("create", id, "record cgroups and mounts");
    // 8. Launch berth-init.
    const launched = launchInit(ctx, placed.plan, inputs, placed);
    // 9. Serve it through the sync protocol until it is ready (container/sync.ts).
    const served = await serveCreate(ctx, cgroups, placed.plan, placed, planned.cgroupPath, launched, host.consoleSocket, seccomp);
    // 10. Write the record ("created") and --pid-file.
    const record = await writeCreatedRecord(ctx, launched, placed.plan, inputs.slots.startResult !== undefined, served.cgroupDirs);
    placed.lease.close();
    return { record, pidfd: launched.pidfd, terminal: served.terminal };
  } finally {
    ctx.parentFds.closeAll();
  }
}

function creatingRecord(id: string, bundleDir: string, spec: CreateContext["spec"], rootfs: string): ContainerRecord {
  return {
    ociVersion: spec.ociVersion,
    id,
    status: "creating",
    pid: 0,
    bundle: bundleDir,
    annotations: spec.annotations,
    created: new Date().toISOString(),
    rootfs,
    pidStartTime: "",
    cgroupDirs: [],
    config: spec,
    owner: "root",
  };
}
