// wait.cc: waiting for a process to exit, through its pidfd, off the JS thread.
//
//   waitExit(pidfd)      waitid(P_PIDFD, WEXITED): for children of this process only. It
//                        REAPS the child and yields its exit code or fatal signal.
//   pidfdPollExit(pidfd) poll(POLLIN): for any process (the container's init after berth has
//                        exited and come back, a process in another pid namespace). It does not
//                        reap; it resolves once the process has terminated.
//
// A pidfd names one process for good, so neither can confuse the process with a later one
// that reuses its pid (what `kill` and `delete` must never do: docs/architecture.md, "Process
// model", kill and delete).
//
// Both run as Napi::AsyncWorker on libuv's threadpool and block one pool thread until the
// process exits. The pool is small (UV_THREADPOOL_SIZE, 4 by default) and shared with fs and
// crypto, so a caller that waits on many processes at once must size it accordingly.
//
// Each call dup()s the pidfd on the JS thread before queueing the work: the caller may close
// its fd as soon as the call returns, and the number could otherwise be reused by an unrelated
// open() before the pool thread gets to it.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "errors.h"

// glibc < 2.36 has no P_PIDFD; the value is kernel ABI (5.4).
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace berth {

namespace {

// Reads the pidfd argument; false (with a TypeError pending) when it is not an fd number.
bool PidfdArg(const Napi::CallbackInfo& info, const char* fn, int* out) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", std::string(fn) + ": pidfd must be a number");
    return false;
  }
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int>(d))) {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", std::string(fn) + ": pidfd must be a non-negative integer");
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

Napi::Value Rejected(Napi::Env env, int err, const char* syscall) {
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(ErrnoError(env, err, syscall).Value());
  return deferred.Promise();
}

// The shared shape: a promise, an owned fd, and an errno to report from the pool thread.
class PidfdWorker : public Napi::AsyncWorker {
 public:
  PidfdWorker(Napi::Env env, const char* name, int fd)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd) {}
  ~PidfdWorker() override {
    if (fd_ >= 0) close(fd_);
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  // Called on the JS thread when Execute recorded an errno.
  void Reject(const char* syscall) { deferred_.Reject(ErrnoError(Env(), err_, syscall).Value()); }

  Napi::Promise::Deferred deferred_;
  int fd_;
  int err_ = 0;
};

class WaitExitWorker : public PidfdWorker {
 public:
  WaitExitWorker(Napi::Env env, int fd) : PidfdWorker(env, "berth.waitExit", fd) {}

  void Execute() override {
    siginfo_t info = {};
    int rc;
    // Node's signal handlers (SIGCHLD for its own children, SIGINT...) may land on this thread.
    do {
      rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd_), &info, WEXITED);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      err_ = errno;
      return;
    }
    code_ = info.si_code;
    status_ = info.si_status;
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (err_ != 0) return Reject("waitid");
    Napi::Object out = Napi::Object::New(env);
    bool exited = code_ == CLD_EXITED;
    // Without WSTOPPED/WCONTINUED only these three codes can come back.
    out.Set("exitCode", exited ? Napi::Number::New(env, status_) : env.Null());
    out.Set("signal", exited ? env.Null() : Napi::Number::New(env, status_));
    deferred_.Resolve(out);
  }

 private:
  int code_ = 0;
  int status_ = 0;
};

class PollExitWorker : public PidfdWorker {
 public:
  PollExitWorker(Napi::Env env, int fd) : PidfdWorker(env, "berth.pidfdPollExit", fd) {}

  void Execute() override {
    struct pollfd pfd = {fd_, POLLIN, 0};
    for (;;) {
      int rc = poll(&pfd, 1, -1);
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0) {
        err_ = errno;
        return;
      }
      // A pidfd is readable once its process has terminated (exited, not yet necessarily
      // reaped). Newer kernels add POLLHUP once it has been reaped. POLLNVAL cannot happen on
      // our own dup; anything else is reported as EINVAL rather than spun on.
      if (pfd.revents & (POLLIN | POLLHUP)) return;
      err_ = EINVAL;
      return;
    }
  }

  void OnOK() override {
    Napi::HandleScope scope(Env());
    if (err_ != 0) return Reject("poll");
    deferred_.Resolve(Env().Undefined());
  }
};

// Checks and dups the pidfd on the JS thread, then queues Worker with the dup. Argument type
// errors throw; errno failures reject the promise, as for a failure of the wait itself.
template <typename Worker>
Napi::Value Start(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  int pidfd = -1;
  if (!PidfdArg(info, fn, &pidfd)) return env.Undefined();
  // Is it a pidfd at all? poll() on an ordinary file would report it readable at once, i.e.
  // "exited". waitid(P_PIDFD) says EBADF for any other kind of fd; WNOHANG | WNOWAIT make it a
  // pure question (ECHILD, for a process that is not our child, is fine here).
  siginfo_t probe = {};
  if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &probe, WEXITED | WNOHANG | WNOWAIT) < 0 &&
      errno != ECHILD) {
    return Rejected(env, errno, "waitid");
  }
  int fd = fcntl(pidfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Rejected(env, errno, "fcntl");
  auto* worker = new Worker(env, fd);  // an AsyncWorker deletes itself after OnOK
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

// waitExit(pidfd): Promise<{ exitCode: number | null; signal: number | null }>
Napi::Value WaitExit(const Napi::CallbackInfo& info) { return Start<WaitExitWorker>(info, "waitExit"); }

// pidfdPollExit(pidfd): Promise<void>
Napi::Value PidfdPollExit(const Napi::CallbackInfo& info) { return Start<PollExitWorker>(info, "pidfdPollExit"); }

}  // namespace berth
