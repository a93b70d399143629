// sync.cc: the parent's end of the sync socket. One abi::SyncRecord per message, both ways;
// the protocol and its diagram are at the top of native/init/cmd-run.cc.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../abi/plan-abi.h"
#include "addon.h"
#include "args.h"
#include "errors.h"

namespace berth {

// syncRecv(fd): the next record, or null on EOF (berth-init exited or was killed without a
// word). Blocks the JS thread: the caller waits for readiness first if it wants a deadline.
// A record may carry one fd (SCM_RIGHTS: kSyncSeccompListener's listener, kSyncTerminal's
// pty master); it arrives close-on-exec as `fd`, owned by the caller. Any further fds are
// closed: only one is meant.
Napi::Value SyncRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  if (!ArgFd(info, 0, "syncRecv: fd", &fd)) return env.Undefined();
  abi::SyncRecord rec;
  union {
    char buf[CMSG_SPACE(4 * sizeof(int))];
    cmsghdr align;
  } control;
  iovec iov = {&rec, sizeof rec};
  msghdr msg{};
  ssize_t n;
  do {
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    // Not a socket (a test may hand us a pipe): plain read, no fds.
    if (n < 0 && errno == ENOTSOCK) {
      msg.msg_controllen = 0;
      n = read(fd, &rec, sizeof rec);
    }
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowErrno(env, errno, "recvmsg");
  int passed = -1;
  for (cmsghdr* c = msg.msg_controllen > 0 ? CMSG_FIRSTHDR(&msg) : nullptr; c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t k = 0; k < count; k++) {
      int got;
      memcpy(&got, CMSG_DATA(c) + k * sizeof(int), sizeof got);
      if (passed < 0) {
        passed = got;
      } else {
        close(got);
      }
    }
  }
  if (n == 0) {
    if (passed >= 0) close(passed);
    return env.Null();
  }
  // SOCK_SEQPACKET keeps records whole: anything else is not our peer.
  if (n != static_cast<ssize_t>(sizeof rec) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    if (passed >= 0) close(passed);
    return ThrowErrno(env, EPROTO, "recvmsg");
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", Napi::Number::New(env, rec.type));
  out.Set("opIndex", Napi::Number::New(env, rec.opIndex));
  out.Set("errno", Napi::Number::New(env, rec.err));
  out.Set("detail", Napi::String::New(env, rec.detail, strnlen(rec.detail, sizeof rec.detail)));
  if (passed >= 0) out.Set("fd", Napi::Number::New(env, passed));
  return out;
}

// syncSend(fd, type[, value]): a record with no payload but `value` in opIndex (kSyncAck is all
// the parent sends today).
Napi::Value SyncSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  int64_t type = 0;
  if (!ArgFd(info, 0, "syncSend: fd", &fd) || !ArgInt(info, 1, "syncSend: type", 0, 0xffffffff, &type)) {
    return env.Undefined();
  }
  abi::SyncRecord rec;
  memset(&rec, 0, sizeof rec);
  rec.type = static_cast<uint32_t>(type);
  rec.opIndex = -1;
  // An optional value rides in opIndex (the ack to kSyncHooks: the child's host pid).
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    int64_t value = 0;
    if (!ArgInt(info, 2, "syncSend: value", -1, 0x7fffffff, &value)) return env.Undefined();
    rec.opIndex = static_cast<int32_t>(value);
  }
  ssize_t n;
  do {
    // MSG_NOSIGNAL: a dead child is EPIPE here, not a SIGPIPE for Node.
    n = send(fd, &rec, sizeof rec, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowErrno(env, errno, "send");
  return env.Undefined();
}

// syncShutdown(fd): shut the parent's end both ways. berth-init's next send fails (EPIPE) and
// its next receive sees the end, while what it sent before stays queued for syncRecv, which
// then returns null instead of blocking. A parent giving up on an exec uses it to learn, without
// a race, whether berth-init already made the process in the pid namespace (op-fork.cc).
Napi::Value SyncShutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  if (!ArgFd(info, 0, "syncShutdown: fd", &fd)) return env.Undefined();
  if (shutdown(fd, SHUT_RDWR) != 0 && errno != ENOTCONN) return ThrowErrno(env, errno, "shutdown");
  return env.Undefined();
}

}  // namespace berth
