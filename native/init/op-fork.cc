// forkIntoPidns: exec's last step before the user's program, the only one inside the
// container's pid namespace (CVE-2016-9962).
//
// For exec, launch makes us join every namespace of the container but the pid namespace,
// which it joins for our children only (setns(CLONE_NEWPID) never moves the caller). So all
// the plan's ops run in a process the container cannot see: it cannot reach our /proc files,
// nor ptrace us, whatever capabilities it holds. This op comes after the credentials, the
// capability drop, no_new_privs and the seccomp load: the child it makes inherits all of
// them, and is born already filtered, where a tracer inside could not make it skip anything.
//
// The messages (kSyncPidfd, then EOF at the execve) are drawn at the top of cmd-run.cc.
//
// CLONE_PARENT makes the child the parent's, as berth-init was, so the parent waits for its
// status. The seccomp filter may refuse clone3 (profiles that answer ENOSYS so that libc
// falls back): then clone(2), which takes the pidfd at its parent_tid argument.
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/linux.h"
#include "../common/retry.h"
#include "run.h"

namespace berth {

int op_forkIntoPidns(Run& run, const Op&) {
  run.doing("clone into the container's pid namespace");
  int pidfd = -1;
  linux_abi::CloneArgs args{};
  args.flags = CLONE_PARENT | linux_abi::kClonePidfd;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = 0;  // clone3 wants none with CLONE_PARENT: the child gets ours
  // EAGAIN: the container's pids.max (or RLIMIT_NPROC), which its exited but not yet reaped
  // processes may hold for a moment: retried briefly, then said so.
  long pid = RetryEagain([&] { return syscall(__NR_clone3, &args, sizeof args); });
  if (pid < 0 && (errno == ENOSYS || errno == EPERM)) {
    pid = RetryEagain([&] { return syscall(__NR_clone, CLONE_PARENT | linux_abi::kClonePidfd, 0, &pidfd, nullptr, 0); });
  }
  if (pid < 0) {
    int e = errno;
    if (e == EAGAIN) run.detail.add(kEagainForkHint);
    return run.fail(e);
  }
  if (pid == 0) return 0;  // the child: on with the plan
  run.doing("send the pidfd of the process in the container's pid namespace");
  if (int r = sync_send_fd(run.sync_fd, abi::kSyncPidfd, "", pidfd); r < 0) {
    // The parent cannot learn of it: end it rather than leave it running unseen.
    syscall(__NR_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    return run.fail(-r);
  }
  _exit(0);
}

}  // namespace berth
