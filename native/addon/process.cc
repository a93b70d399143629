// process.cc: watching and signalling the processes launch() starts, by pidfd where possible
// (a pid can be recycled once reaped; a pidfd always means the same process), and closing the
// fds launch() hands out.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/linux.h"
#include "addon.h"
#include "args.h"
#include "errors.h"

namespace berth {

namespace {

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

// pidfdOpen(pid): a pidfd (close-on-exec) for any process we may see, e.g. a `created`
// container's init recorded in the state file.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  int64_t pid = 0;
  if (!ArgInt(info, 0, "pidfdOpen: pid", 1, 0x7fffffff, &pid)) return info.Env().Undefined();
  long fd = syscall(__NR_pidfd_open, static_cast<pid_t>(pid), 0);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "pidfd_open");
  return Napi::Number::New(info.Env(), static_cast<double>(fd));
}

// pidfdSendSignal(pidfd, sig): ESRCH once the process has exited, even if its pid has been
// reused since (the point of using a pidfd).
Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  int fd = -1;
  int64_t sig = 0;
  if (!ArgFd(info, 0, "pidfdSendSignal: pidfd", &fd) || !ArgInt(info, 1, "pidfdSendSignal: signal", 0, 64, &sig)) {
    return info.Env().Undefined();
  }
  if (syscall(__NR_pidfd_send_signal, fd, static_cast<int>(sig), nullptr, 0) != 0) {
    return ThrowErrno(info.Env(), errno, "pidfd_send_signal");
  }
  return info.Env().Undefined();
}

// pidfdWait(pidfd, timeoutMs): true once the process has exited (a pidfd polls readable
// then), false on timeout; a negative timeout waits for ever. Works on any fd: "readable or
// hung up" (the sync socket, before syncRecv, to wait with a deadline). Blocks the JS thread.
Napi::Value PidfdWait(const Napi::CallbackInfo& info) {
  int fd = -1;
  int64_t timeout = 0;
  if (!ArgFd(info, 0, "pidfdWait: pidfd", &fd) ||
      !ArgInt(info, 1, "pidfdWait: timeoutMs", -1, 0x7fffffff, &timeout)) {
    return info.Env().Undefined();
  }
  int64_t deadline = timeout < 0 ? 0 : NowMs() + timeout;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int wait_ms = timeout < 0 ? -1 : static_cast<int>(deadline - NowMs() > 0 ? deadline - NowMs() : 0);
    int r = poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ThrowErrno(info.Env(), errno, "poll");
    if (r > 0 && (p.revents & POLLNVAL) != 0) return ThrowErrno(info.Env(), EBADF, "poll");
    return Napi::Boolean::New(info.Env(), r > 0);
  }
}

// waitpid(pid, nohang): reaps a child of this process (launch() makes berth-init one).
// {pid: 0, ...nulls} when nohang and it is still running.
Napi::Value Waitpid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t pid = 0;
  if (!ArgInt(info, 0, "waitpid: pid", 1, 0x7fffffff, &pid)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBoolean()) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "waitpid: nohang must be a boolean");
  }
  bool nohang = info[1].As<Napi::Boolean>().Value();
  int status = 0;
  pid_t r;
  do {
    r = waitpid(static_cast<pid_t>(pid), &status, nohang ? WNOHANG : 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ThrowErrno(env, errno, "waitpid");
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, r));
  out.Set("status", Napi::Number::New(env, r == 0 ? 0 : status));
  out.Set("exitCode", r != 0 && WIFEXITED(status) ? Napi::Number::New(env, WEXITSTATUS(status)) : env.Null());
  out.Set("signal", r != 0 && WIFSIGNALED(status) ? Napi::Number::New(env, WTERMSIG(status)) : env.Null());
  return out;
}

// closeFd(fd): for the fds launch() and the others return. EBADF throws (a double close is a
// bug that could close someone else's fd); EINTR does not (the fd is gone either way).
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = -1;
  if (!ArgFd(info, 0, "closeFd: fd", &fd)) return info.Env().Undefined();
  if (close(fd) != 0 && errno == EBADF) return ThrowErrno(info.Env(), errno, "close");
  return info.Env().Undefined();
}

}  // namespace berth
