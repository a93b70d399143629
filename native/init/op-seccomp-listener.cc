// seccompListener: hand the seccomp listener fd to the parent, which sends it to the seccomp
// agent at linux.seccomp.listenerPath (config-linux.md "Seccomp", runc's seccomp agent
// protocol).
//
// Why the parent sends it, not us: listenerPath is a host path, and by now we are inside the
// container's root (and maybe its user namespace, which may not connect(2) to the agent's
// socket); the message carries the container's state, which the parent knows; and a failed
// delivery must fail `create` naming the field, which the parent does best. So:
//
//     parent (berth, Node)                            berth-init
//     --------------------                            ----------
//                                                     seccompLoad (NEW_LISTENER): fd
//     syncRecv() <-- kSyncSeccompListener + fd ---    seccompListener: sendmsg SCM_RIGHTS,
//                    (SCM_RIGHTS)                     close our copy, then block in read
//     connect(listenerPath), sendmsg(state JSON
//       + fd), close
//     syncSend(kSyncAck) ------------------------->   continue with the next op
//
//   On a delivery failure the parent reports the error and kills us; we never continue.
//
// We wait for the ack so that nothing after this op (the user's process above all) runs
// before the agent holds the fd: a notifying system call would otherwise block on a listener
// nobody reads yet, or hit ENOSYS once our copy is closed and no agent has one.
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "run.h"

namespace berth {

namespace {

// One SyncRecord with `fd` attached as SCM_RIGHTS. Returns 0 or -errno.
int send_record_with_fd(int sock, uint32_t type, int fd) {
  abi::SyncRecord rec;
  memset(&rec, 0, sizeof rec);
  rec.type = type;
  rec.opIndex = -1;
  iovec iov = {&rec, sizeof rec};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  for (;;) {
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    return n == static_cast<ssize_t>(sizeof rec) ? 0 : -EIO;
  }
}

}  // namespace

int op_seccompListener(Run& run, const Op&) {
  run.doing("send the seccomp listener fd to the parent");
  if (run.seccomp_listener < 0) {
    // The plan puts this op right after a seccompLoad with SECCOMP_FILTER_FLAG_NEW_LISTENER.
    run.detail.add(": no listener (the filter was not loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER)");
    return run.fail(EBADF);
  }
  Fd listener(run.seccomp_listener);
  run.seccomp_listener = -1;
  if (int r = send_record_with_fd(run.sync_fd, abi::kSyncSeccompListener, listener.get()); r < 0) return run.fail(-r);
  listener.reset();
  run.doing("wait for the parent to deliver the seccomp listener fd");
  abi::SyncRecord rec;
  if (int r = sync_recv(run.sync_fd, &rec); r < 0) {
    if (r == -EPIPE) run.detail.add(": the parent closed the socket");
    return run.fail(-r);
  }
  if (rec.type != abi::kSyncAck) {
    run.detail.add(": got message type ").add(rec.type).add(", expected ").add(abi::kSyncAck);
    return run.fail(EPROTO);
  }
  return 0;
}

}  // namespace berth
