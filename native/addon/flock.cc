// flock.cc: flock(2), which Node does not expose.
//
// berth serialises the commands that act on one container (create, start, kill, delete run as
// separate processes, often concurrently from an engine) with a flock on a file in the
// container's state directory, as runc does. flock rather than fcntl locks: it belongs to the
// open file description, so the lock goes away exactly when the last fd to it closes -- also
// when the process dies -- and fcntl's "any close drops every lock of the process" trap does
// not apply.
//
// Blocking mode blocks the JS thread. That is the intent: a CLI verb has nothing else to do
// until it owns the container, and the holder is another short-lived berth process. Library
// users who must not block poll with nonblocking = true.
#include <errno.h>
#include <sys/file.h>

#include <string>

#include "addon.h"
#include "errors.h"

namespace berth {

// flock(fd, "sh" | "ex" | "un", nonblocking?) -> true once done; false only when nonblocking
// and another open file description holds a conflicting lock (EWOULDBLOCK).
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber()) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "flock: fd must be a number");
  }
  double fd_d = info[0].As<Napi::Number>().DoubleValue();
  if (!(fd_d >= 0 && fd_d <= 2147483647.0) || fd_d != static_cast<double>(static_cast<int>(fd_d))) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "flock: fd must be a non-negative integer");
  }
  if (!info[1].IsString()) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "flock: op must be \"sh\", \"ex\" or \"un\"");
  }
  std::string op_name = info[1].As<Napi::String>().Utf8Value();
  int op;
  if (op_name == "sh") {
    op = LOCK_SH;
  } else if (op_name == "ex") {
    op = LOCK_EX;
  } else if (op_name == "un") {
    op = LOCK_UN;
  } else {
    return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "flock: op must be \"sh\", \"ex\" or \"un\", not \"" + op_name + "\"");
  }
  bool nonblocking = info.Length() > 2 && info[2].ToBoolean().Value();
  if (nonblocking) op |= LOCK_NB;

  int fd = static_cast<int>(fd_d);
  int rc;
  // A signal handler (Node installs some, e.g. for SIGINT when the user listens) interrupts a
  // blocking flock with EINTR; the wait is not over, so wait again.
  do {
    rc = flock(fd, op);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK && nonblocking) return Napi::Boolean::New(env, false);
  return ThrowErrno(env, errno, "flock");
}

}  // namespace berth
