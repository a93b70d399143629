// The ops that talk to the parent or wait for it: waitParent, ready, waitStart, and closeFd.
// The message diagram is at the top of cmd-run.cc.
#include <unistd.h>

#include "run.h"

namespace berth {

// Blocks until the parent acks: the answer to waitParent, and to the messages that ask the
// parent for something (hooks, terminal, seccomp listener, network devices).
int wait_ack(Run& run, abi::SyncRecord* rec) {
  if (int r = sync_recv(run.sync_fd, rec); r < 0) {
    if (r == -EPIPE) run.detail.add(": the parent closed the socket");
    return run.fail(-r);
  }
  if (rec->type != abi::kSyncAck) {
    run.detail.add(": got message type ").add(rec->type).add(", expected ").add(abi::kSyncAck);
    return run.fail(EPROTO);
  }
  return 0;
}

// The plan's first op when the parent has work to finish after the launch that no op may run
// ahead of (plan.waitsForParent): create's --systemd-cgroup unit (starting it rewrites the v1
// device rules), the cgroups the parent joins us to before a new cgroup namespace is unshared,
// exec's move into a paused container's cgroups. Not the uid/gid maps of a new user namespace:
// the launch's child waits for those before it execs us (native/addon/launch.cc).
int op_waitParent(Run& run, const Op&) {
  run.doing("wait for the parent's ack on the sync socket");
  abi::SyncRecord rec;
  return wait_ack(run, &rec);
}

// Everything up to here is done: the parent may record the container as created.
int op_ready(Run& run, const Op&) {
  run.doing("report ready on the sync socket");
  if (int r = sync_send(run.sync_fd, abi::kSyncReady, -1, 0, ""); r < 0) return run.fail(-r);
  run.ready_sent = true;
  return 0;
}

// Waits for `start`. The parent opened the exec fifo O_RDWR and passed it to us, so the read
// blocks (no EOF: we hold a write end ourselves) until `berth start` writes a byte. That is
// how a created container costs one sleeping process and no Node.
int op_waitStart(Run& run, const Op& op) {
  int fd = static_cast<int>(op.args[0].i);
  run.doing("wait for start on the exec fifo (fd ", fd, ")");
  char byte;
  for (;;) {
    ssize_t n = read(fd, &byte, 1);
    if (n == 1) break;
    if (n < 0 && errno == EINTR) continue;
    return run.fail(n == 0 ? EPIPE : errno);
  }
  close(fd);
  // The parent that launched us has exited long ago; whoever reads errors now reads stderr.
  if (run.sync_fd >= 0) {
    close(run.sync_fd);
    run.sync_fd = -1;
  }
  return 0;
}

int op_closeFd(Run& run, const Op& op) {
  int fd = static_cast<int>(op.args[0].i);
  run.doing("close fd ", fd);
  // close(2) releases the fd even when it reports an error (EINTR, EIO from a flush); only
  // EBADF says the plan named an fd we do not have.
  if (close(fd) != 0 && errno == EBADF) return run.fail(errno);
  return 0;
}

}  // namespace berth
