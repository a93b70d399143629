// `berth-init run <planFd> <syncFd>`: the container's first process runs its plan.
//
// The addon (native/addon/launch.cc) starts us with this fd layout, n = the caller's fd count:
//
//   0 .. n-1   the fds the plan names (stdio, namespace fds, the exec fifo, ...)
//   n          the plan, a sealed memfd            = planFd
//   n+1        our end of the sync socket          = syncFd
//   n+2        the memfd we were executed from
//
// The sync protocol, seen from here: every message both ways, in order, for create and exec.
// One fixed-size abi::SyncRecord per message (SOCK_SEQPACKET); `+ fd` rides along with
// SCM_RIGHTS; [..] happens only when the plan has that op. The parent's end, with the same
// diagram from its side, is src/container/sync.ts (serveInit).
//
// create
//
//     parent (berth create)                        launch's child, then berth-init (us)
//     launch() ---------- clone3 ---------------->  [new user ns] wait for the maps
//     [cgroupJoin "parent"] writes the pid into
//     the cgroups; [--systemd-cgroup] the unit
//     [new user ns] uid/gid maps, kSyncAck ------>  the child's recv returns; execveat us
//                                                   decode the plan, run the ops in order
//     [waitsForParent] kSyncAck ----------------->  [op waitParent]
//     recv <-------------------- kSyncNetDevices --  [op netDevicesSync] (op-network.cc)
//     moves the devices in, kSyncAck ------------>
//     recv <------------------------- kSyncHooks --  [op hooksSync] (op-hooks.cc)
//     prestart, createRuntime hooks;
//     kSyncAck, opIndex = our host pid ---------->  [op runHook x N: createContainer]
//     recv <---------- kSyncTerminal + pty master --  [op openPty] (op-terminal.cc)
//     to --console-socket or kept, kSyncAck ----->  mountConsole, setCtty, ...
//     recv <-------- kSyncSeccompListener + fd ---  [op seccompListener] (op-seccomp-listener.cc)
//     to listenerPath, kSyncAck ----------------->
//     recv <------------------------- kSyncReady --  op ready
//     records "created"; exits                      [op startResult]; op waitStart: read the
//                                                   exec fifo
//   `berth start`:
//     open start.fifo (O_RDONLY|O_NONBLOCK)
//     a byte into the exec fifo ----------------->  op waitStart returns
//                                                   [op runHook x N: startContainer]
//     read start.fifo: EOF <--------------------  [op startResultDone]: close it; exec
//       or kSyncError {opIndex, detail} <-------  a failing op: the record, then exit 1
//
// exec
//
//     parent (berth exec)                          launch's child, then berth-init (us)
//     launch({join, cgroupProcs}) -- clone3 ----->  join the cgroups, setns each namespace
//                                                   (pid: for our children); execveat us
//     [paused] writes the pid into the cgroups,
//     kSyncAck ---------------------------------->  [op waitParent]
//     recv <---------- kSyncTerminal + pty master --  [op openPty]
//     kSyncAck ---------------------------------->  ... limits, credentials, seccompLoad
//     recv <-------- kSyncSeccompListener + fd ---  [op seccompListener]
//     kSyncAck ---------------------------------->
//     recv <------------------- kSyncPidfd + fd ---  [op forkIntoPidns] (op-fork.cc): clone
//     reaps us, follows the pidfd                   into the pid namespace, send, exit
//     recv: EOF <--------------------------------  the child: [setCtty], execve
//
// Either way, on the first failing op, instead of the next message:
//     recv <--- kSyncError {opIndex, errno, detail} --- exit 1
// EOF on the socket, for create: we died without a word (killed, or a bug); for exec: the
// execve (the socket is close-on-exec). Once `ready` has been sent the parent may be gone, so a
// later failure also goes to stderr, which is the container's.
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../common/linux.h"
#include "commands.h"
#include "io.h"
#include "plan.h"
#include "run.h"

namespace berth {

namespace {

using Handler = int (*)(Run&, const Op&);

struct HandlerEntry {
  uint16_t tag;
  Handler handler;
};

const HandlerEntry kHandlers[] = {
#define BERTH_X_HANDLER(tag, name, sig) {tag, op_##name},
    BERTH_PLAN_OPS(BERTH_X_HANDLER)
#undef BERTH_X_HANDLER
};

Handler find_handler(uint16_t tag) {
  for (const HandlerEntry& h : kHandlers) {
    if (h.tag == tag) return h.handler;
  }
  return nullptr;
}

// A decimal fd number from argv. Anything else is a launch bug.
bool parse_fd(const char* s, int* out) {
  if (*s == '\0') return false;
  long v = 0;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + (*s - '0');
    if (v > 1 << 30) return false;
  }
  *out = static_cast<int>(v);
  return true;
}

// Marks every fd >= `from` close-on-exec: the plan, the sync socket and our own memfd must not
// reach the user's process, nor must anything that slipped through launch. The fds below are
// the plan's, and the plan decides about them (waitStart and setns close theirs, closeFd the
// rest).
int cloexec_from(int from) {
  if (syscall(__NR_close_range, from, ~0U, linux_abi::kCloseRangeCloexec) == 0) return 0;
  // Before 5.11: walk /proc/self/fd (at this point still the host's /proc, or any /proc: we
  // only need our own fds).
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -errno;
  int self = dirfd(dir);
  while (struct dirent* e = readdir(dir)) {
    int fd = 0;
    if (!parse_fd(e->d_name, &fd) || fd < from || fd == self) continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  closedir(dir);
  return 0;
}

#define BERTH_X_TAG(t, name, sig) constexpr uint16_t k_##name = t;
BERTH_PLAN_OPS(BERTH_X_TAG)
#undef BERTH_X_TAG

// The rootfs the plan will pivot (or chroot) into: "in root" paths before that op are under
// it. A plan without either op runs in the root it was started in.
const char* find_rootfs(const Plan& plan) {
  for (uint32_t i = 0; i < plan.count; i++) {
    uint16_t tag = plan.ops[i].info->tag;
    if (tag == k_pivotRoot || tag == k_chrootNoPivot || tag == k_chroot) return plan.ops[i].args[0].s;
  }
  return "/";
}

[[noreturn]] void report_and_exit(Run& run, int32_t op_index) {
  if (run.sync_fd >= 0) {
    sync_send(run.sync_fd, abi::kSyncError, op_index, run.err, run.detail.c_str());
  }
  // `berth start` is waiting for the startContainer hooks: it reads this record.
  if (run.start_result_fd >= 0) {
    sync_send(run.start_result_fd, abi::kSyncError, op_index, run.err, run.detail.c_str());
  }
  // After waitStart nobody reads the socket: say it where the container's output goes.
  if (run.sync_fd < 0 || run.ready_sent) {
    Text<512> line;
    line.add("berth-init: ").add(run.detail.c_str()).add(": ").add(strerror(run.err)).add('\n');
    write_str(STDERR_FILENO, line.c_str());
  }
  _exit(kExitOpFailed);
}

}  // namespace

int cmd_run(const char* plan_arg, const char* sync_arg) {
  // Nobody may trace us or open our /proc files, from the first op to the final execve (which
  // decides anew for the user's program): a process of the container that could attach
  // after the capability drop would skip the seccomp and no_new_privs loads that follow it
  // (CVE-2016-9962). The launch child was non-dumpable too, but execve made us dumpable again.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int plan_fd = -1;
  Run run;
  if (!parse_fd(plan_arg, &plan_fd) || !parse_fd(sync_arg, &run.sync_fd)) {
    write_str(STDERR_FILENO, "usage: berth-init run <planFd> <syncFd>\n");
    return kExitUsage;
  }

  if (int r = cloexec_from(plan_fd); r < 0) {
    run.doing("mark fds >= ", plan_fd, " close-on-exec");
    run.fail(-r);
    report_and_exit(run, -1);
  }

  unsigned char* buf = nullptr;
  size_t len = 0;
  if (int r = read_all(plan_fd, kMaxPlanBytes, &buf, &len); r < 0) {
    run.doing("read the plan from fd ", plan_fd);
    run.fail(-r);
    report_and_exit(run, -1);
  }
  Plan plan{};
  char why[200];
  if (!decode_plan(buf, len, &plan, why, sizeof why)) {
    // The addon and this binary come from the same build, so this is a stale berth-init or a
    // bug; either way nothing may run.
    run.doing("decode the plan: ", why);
    run.fail(EINVAL);
    report_and_exit(run, -1);
  }
  // The plan is in memory; its fd has no further use.
  close(plan_fd);
  run.root_path = find_rootfs(plan);

  // A test's injected fault (src/fault.ts): the op the parent named fails instead of running.
  int fault_op = -1;
  if (const char* f = getenv("BERTH_FAULT_OP"); f != nullptr && !parse_fd(f, &fault_op)) fault_op = -1;
  for (uint32_t i = 0; i < plan.count; i++) {
    const Op& op = plan.ops[i];
    if (static_cast<int>(i) == fault_op) {
      run.doing("fault injected at step \"berth-init op ", i, " ", op.info->name, "\" (BERTH_FAULT)");
      run.fail(ECANCELED);
      report_and_exit(run, static_cast<int32_t>(i));
    }
    run.doing(op.info->name);
    Handler handler = find_handler(op.info->tag);
    if (handler(run, op) != 0) report_and_exit(run, static_cast<int32_t>(i));
  }
  // A plan normally ends in exec, which does not return. Without one there is nothing to run.
  return kExitOk;
}

}  // namespace berth
