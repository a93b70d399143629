// sync.cc: the parent's end of the sync socket. One abi::SyncRecord per message, both ways;
// the protocol and its diagram are at the top of native/init/cmd-run.cc.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../abi/plan-abi.h"
#include "addon.h"
#include "args.h"
#include "errors.h"

namespace berth {

// syncRecv(fd): the next record, or null on EOF (berth-init exited or was killed without a
// word). Blocks the JS thread: the caller waits for readiness first if it wants a deadline.
Napi::Value SyncRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  if (!ArgFd(info, 0, "syncRecv: fd", &fd)) return env.Undefined();
  abi::SyncRecord rec;
  ssize_t n;
  do {
    n = read(fd, &rec, sizeof rec);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowErrno(env, errno, "read");
  if (n == 0) return env.Null();
  // SOCK_SEQPACKET keeps records whole: anything else is not our peer.
  if (n != static_cast<ssize_t>(sizeof rec)) return ThrowErrno(env, EPROTO, "read");
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", Napi::Number::New(env, rec.type));
  out.Set("opIndex", Napi::Number::New(env, rec.opIndex));
  out.Set("errno", Napi::Number::New(env, rec.err));
  out.Set("detail", Napi::String::New(env, rec.detail, strnlen(rec.detail, sizeof rec.detail)));
  return out;
}

// syncSend(fd, type): a record with no payload (kSyncAck is all the parent sends today).
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
  ssize_t n;
  do {
    // MSG_NOSIGNAL: a dead child is EPIPE here, not a SIGPIPE for Node.
    n = send(fd, &rec, sizeof rec, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowErrno(env, errno, "send");
  return env.Undefined();
}

}  // namespace berth
