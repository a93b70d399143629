// seccompListener: hand the seccomp listener fd to the parent, which sends it to the seccomp
// agent at linux.seccomp.listenerPath (config-linux.md "Seccomp", runc's seccomp agent
// protocol).
//
// Why the parent sends it, not us: listenerPath is a host path, and by now we are inside the
// container's root (and maybe its user namespace, which may not connect(2) to the agent's
// socket); the message carries the container's state, which the parent knows; and a failed
// delivery must fail `create` naming the field, which the parent does best. So we send the
// fd (kSyncSeccompListener, drawn at the top of cmd-run.cc) and block until the parent acks;
// on a delivery failure the parent reports the error and kills us: we never continue.
//
// We wait for the ack so that nothing after this op (the user's process above all) runs
// before the agent holds the fd: a notifying system call would otherwise block on a listener
// nobody reads yet, or hit ENOSYS once our copy is closed and no agent has one.

#include "run.h"

namespace berth {

int op_seccompListener(Run& run, const Op&) {
  run.doing("send the seccomp listener fd to the parent");
  if (run.seccomp_listener < 0) {
    // The plan puts this op right after a seccompLoad with SECCOMP_FILTER_FLAG_NEW_LISTENER.
    run.detail.add(": no listener (the filter was not loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER)");
    return run.fail(EBADF);
  }
  UniqueFd listener(run.seccomp_listener);
  run.seccomp_listener = -1;
  if (int r = sync_send_fd(run.sync_fd, abi::kSyncSeccompListener, "", listener.get()); r < 0) return run.fail(-r);
  listener.reset();
  run.doing("wait for the parent to deliver the seccomp listener fd");
  abi::SyncRecord rec;
  return wait_ack(run, &rec);
}

}  // namespace berth
