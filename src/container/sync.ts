/**
 * The parent's end of the sync socket: the one place berth (Node) talks to berth-init while it
 * sets a container up. `serveInit` answers berth-init's requests, in create and in exec alike,
 * and turns its failure record into the user's error at the op's config field (`initError`).
 * berth-init's end is native/init/cmd-run.cc, whose diagram is this one seen from the child.
 *
 * The socket is one SOCK_SEQPACKET pair made by `launch`. Every message is one 256-byte record
 * {u32 type, i32 opIndex, i32 errno, char detail[244]} (SYNC in plan/abi.ts, SyncRecord in
 * native/abi/plan-abi.h); some carry an fd (SCM_RIGHTS). `[...]` marks what happens only for
 * some configs; each one happens in this order when it does.
 *
 * create
 *
 *   parent (berth create)                               launch's child, then berth-init
 *   ---------------------                               -------------------------------
 *   native.launch() ------ clone3 (+CLONE_INTO_CGROUP) ->
 *                                                       [new user ns] recv: wait for the maps
 *   [cgroupJoin "parent"] write the pid into the cgroups
 *   [--systemd-cgroup] StartTransientUnit(PIDs=[pid])
 *   [new user ns] write uid_map, gid_map
 *      send ack ---------------------------------------> setresuid(0); execveat berth-init
 *                                                       decode the plan
 *   [waitsForParent] send ack -------------------------> op waitParent (the unit is up, the
 *                                                       cgroups joined); joinCgroup..., setns...
 *   recv <------------------------------ netDevices --- [op netDevicesSync]
 *      move linux.netDevices in; send ack ------------->
 *                                                       mounts, devices, /dev symlinks
 *   recv <----------------------------------- hooks --- [op hooksSync]
 *      prestart, createRuntime hooks on the host
 *      send ack (opIndex = berth-init's host pid) ----> runHook: createContainer hooks
 *                                                       pivotRoot (or chroot)
 *   recv <-------------------- terminal + pty master -- [op openPty]
 *      to --console-socket, or kept (run); send ack --> mountConsole, setCtty
 *                                                       hostname, sysctls, masked paths,
 *                                                       limits, credentials, checkExec,
 *                                                       no_new_privs, seccompLoad
 *   recv <------------------ seccompListener + fd ----- [op seccompListener]
 *      state + fd to linux.seccomp.listenerPath;
 *      send ack --------------------------------------->
 *   recv <----------------------------------- ready --- op ready
 *   record "created", --pid-file; exit                  [op startResult]; op waitStart
 *   ...
 *   berth start: a byte into the exec fifo ------------> [startContainer hooks]; exec
 *
 * exec
 *
 *   parent (berth exec)                                 launch's child, then berth-init
 *   -------------------                                 -------------------------------
 *   native.launch({join, cgroupProcs}) -- clone3 ------> join the cgroups, setns each namespace
 *                                                       (pid: for its children); execveat
 *   [paused] write the pid into every cgroup directory
 *      send ack ---------------------------------------> op waitParent
 *   recv <-------------------- terminal + pty master -- [op openPty]
 *      send ack --------------------------------------->
 *                                                       limits, credentials, checkExec,
 *                                                       no_new_privs, seccompLoad
 *   recv <------------------ seccompListener + fd ----- [op seccompListener]
 *      send ack --------------------------------------->
 *   recv <------------------------------ pidfd + fd --- [op forkIntoPidns]: clone into the
 *      reap berth-init; follow the new pidfd            pid namespace, send its pidfd, exit
 *   recv: EOF <------------------------------------------ the child: [setCtty], execve
 *
 * Either way, on the first failing op, instead of the next message:
 *
 *   recv <---------------- error {opIndex, errno, detail} -- exit 1 (opIndex -1: the launch's
 *                                                           child, before berth-init ran)
 *
 * EOF without a record: for create, berth-init died without a word (a failure); for exec, the
 * process exec'd (the socket is close-on-exec): success.
 */
import { BerthError, errnoNumber } from "../errors";
import { PROC_MOUNT_ALLOWED, SYNC, type PlanOp } from "../plan";
import { exitWithin, pidOfPidfd } from "./proc";
import type { Runtime, SyncMessage } from "./runtime";
import { faultPoint } from "../fault";

/**
 * The parent's answer to each request berth-init may make; all but `pidfd` are acked once
 * the handler returns. A request a verb's plan never makes has no handler.
 */
export interface InitRequests {
  netDevices?: () => void;
  /** Acked with berth-init's host pid (the createContainer hooks' state). */
  hooks?: () => number;
  seccompListener: (fd: number | undefined) => void;
  terminal: (msg: SyncMessage) => void;
  /** exec's handover: the fd is the new process's pidfd. No ack: berth-init exits. */
  pidfd?: (fd: number) => void;
  /** What the verb makes of berth-init's failure (exec: "container not running" if it stopped). */
  initFailed?: (err: BerthError) => unknown;
}

/**
 * Serve berth-init until it is done: "ready" (create's end) or "eof" (the socket's end). An
 * error record becomes initError's BerthError; any other message is an internal error.
 */
export function serveInit(
  rt: Runtime,
  op: string,
  id: string,
  ops: readonly PlanOp[],
  syncFd: number,
  requests: InitRequests,
): "ready" | "eof" {
  const { native } = rt;
  for (;;) {
    const msg = native.syncRecv(syncFd);
    if (!msg) return "eof";
    const handled = serveOne(rt, op, id, syncFd, msg, requests);
    if (handled) continue;
    if (msg.fd !== undefined) native.closeFd(msg.fd);
    if (msg.type === SYNC.error) {
      const err = initError(op, id, ops, msg);
      throw requests.initFailed ? requests.initFailed(err) : err;
    }
    if (msg.type === SYNC.ready) return "ready";
    throw new BerthError({ op, id, reason: `unexpected message ${msg.type} from berth-init`, internal: true });
  }
}

/** One request, answered; false for a message that is not one this verb serves. */
function serveOne(rt: Runtime, op: string, id: string, syncFd: number, msg: SyncMessage, r: InitRequests): boolean {
  const { native } = rt;
  if (msg.type === SYNC.netDevices && r.netDevices) {
    // berth-init is in its final network namespace: move linux.netDevices in.
    r.netDevices();
    faultPoint(op, id, "move the network devices");
    native.syncSend(syncFd, SYNC.ack);
  } else if (msg.type === SYNC.hooks && r.hooks) {
    const pid = r.hooks();
    faultPoint(op, id, "run the createRuntime hooks");
    native.syncSend(syncFd, SYNC.ack, pid);
  } else if (msg.type === SYNC.seccompListener) {
    r.seccompListener(msg.fd);
    faultPoint(op, id, "send the seccomp listener");
    native.syncSend(syncFd, SYNC.ack);
  } else if (msg.type === SYNC.terminal) {
    r.terminal(msg);
    faultPoint(op, id, "take the terminal");
    native.syncSend(syncFd, SYNC.ack);
  } else if (msg.type === SYNC.pidfd && r.pidfd) {
    r.pidfd(msg.fd!);
    faultPoint(op, id, "follow the process");
  } else {
    return false;
  }
  return true;
}

/** berth-init's failure record as the user's message, located at the op's config field. */
export function initError(
  op: string,
  id: string,
  ops: readonly PlanOp[],
  msg: { opIndex: number; errno: number; detail: string },
): BerthError {
  const planned = ops[msg.opIndex];
  // A hook's detail is the whole reason ("exit status 1"): no errno text after it.
  if (planned?.op === "runHook") return new BerthError({ op, id, field: planned.origin, value: planned.args[0], reason: msg.detail });
  // mountNoFollow's own refusal: the detail names the symlink or non-directory it met, and an
  // errno text ("too many levels of symbolic links") would only mislead.
  if (planned?.op === "mountNoFollow" && (msg.errno === errnoNumber("ELOOP") || msg.errno === errnoNumber("ENOTDIR"))) {
    return new BerthError({
      op,
      id,
      field: planned.origin,
      reason: `${msg.detail} in the rootfs: procfs and sysfs are mounted only on a real directory, never through a symlink`,
    });
  }
  // A config mount whose target resolved into the container's /proc (guardProcTarget, just
  // before it): the detail says where to.
  if (
    ops[msg.opIndex - 1]?.op === "guardProcTarget" &&
    msg.errno === errnoNumber("EPERM") &&
    msg.detail.includes(": the target resolves to ")
  ) {
    return new BerthError({
      op,
      id,
      field: planned?.origin,
      reason: `${msg.detail} in the rootfs: only a procfs may be mounted on /proc, and below it only ${PROC_MOUNT_ALLOWED.join(", ")}`,
    });
  }
  return new BerthError({
    op,
    id,
    field: planned?.origin,
    reason: msg.detail || (planned ? planned.op : "berth-init failed"),
    errno: msg.errno || undefined,
    // checkExec's "executable file not found in $PATH" is runc's whole message (ENOENT).
    errnoInReason: msg.detail.endsWith(": executable file not found in $PATH"),
  });
}

/**
 * An exec that fails while berth-init may still make the process in the pid namespace.
 * First let it say what it did: its ops ahead are short and wait for nothing of ours, so it
 * soon sends the pidfd (we then own that process: the caller kills and reaps it), an error,
 * or ends. Only when it waits for us (an ack it will not get) or is slow is the socket shut:
 * its send of the pidfd then fails and it kills that process itself (op-fork.cc), which, made
 * with CLONE_PARENT, is left for us to reap; a zombie in the container's pid namespace would
 * keep its init from ever finishing its exit. Returns the process to kill: the one it made,
 * or berth-init when it is still the one that would exec.
 */
export async function takeOverUnannounced(
  rt: Runtime,
  launched: { pid: number; pidfd: number; syncFd: number },
  current: { pid: number; pidfd: number },
  forks: boolean,
): Promise<{ pid: number; pidfd: number }> {
  const { native } = rt;
  if (!forks || current.pid !== launched.pid || !native.syncShutdown) return current;
  const fd = launched.syncFd;
  let shut = false;
  const shutDown = () => {
    native.syncShutdown!(fd);
    shut = true;
  };
  try {
    for (;;) {
      if (!shut && !native.pidfdWait?.(fd, 2000)) shutDown();
      // Once shut, what it sent before is read, then the end.
      const msg = native.syncRecv(fd);
      if (!msg) {
        if (!shut) return current;
        break;
      }
      if (msg.type === SYNC.pidfd && msg.fd !== undefined) {
        native.waitpid(current.pid, false);
        native.closeFd(current.pidfd);
        return { pid: pidOfPidfd(msg.fd), pidfd: msg.fd };
      }
      if (msg.fd !== undefined) native.closeFd(msg.fd);
      // An error: berth-init ends without making anything. Anything else waits for an ack.
      if (!shut) {
        if (msg.type === SYNC.error) return current;
        shutDown();
      }
    }
  } catch {
    return current;
  }
  // Nothing sent: berth-init ends on its own now (its receive sees the end, or its send fails
  // and it kills what it made); a bounded wait, and the caller's SIGKILL after that.
  await exitWithin(native, current.pidfd, 2000);
  return current;
}
