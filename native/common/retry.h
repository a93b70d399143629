// retry.h: retrying the kernel's transient answers, for the addon and berth-init alike.
//
//   RetryEintr(fn)   calls fn() again for as long as it fails with EINTR: a signal handler ran
//                    (one of Node's without SA_RESTART, e.g. SIGUSR1's; in berth-init, a stop
//                    and continue) before the call did anything, so doing it again is right.
//   RetryEagain(fn)  also calls fn() again, a bounded number of times with a growing sleep in
//                    between, while it fails with EAGAIN: for a fork or clone against a pids
//                    limit, which an exited process holds until its parent reaps it. If EAGAIN
//                    persists, it is the caller's to report (see kEagainForkHint).
//
// fn returns a syscall-style value: negative with errno set on failure. Both are a loop,
// errno and nanosleep: async-signal-safe, so the child of a clone in a multi-threaded process
// (native/addon/launch.cc) may use them, and a clone's child returns out of them as usual.
//
// Never retry close(2): Linux releases the fd even when it reports EINTR, and a second close
// could close an fd another thread has been given meanwhile.
#ifndef BERTH_NATIVE_COMMON_RETRY_H
#define BERTH_NATIVE_COMMON_RETRY_H

#include <errno.h>
#include <time.h>

namespace berth {

template <typename Fn>
auto RetryEintr(Fn fn) -> decltype(fn()) {
  for (;;) {
    auto r = fn();
    if (!(r < 0 && errno == EINTR)) return r;
  }
}

// 7 tries, 1 + 2 + 4 + ... + 32 = 63 ms of sleep at most: enough for a parent to reap, short
// enough that a limit that really is reached is reported at once to a person.
constexpr int kEagainTries = 7;

template <typename Fn>
auto RetryEagain(Fn fn, int tries = kEagainTries) -> decltype(fn()) {
  long pause_ns = 1000L * 1000L;
  for (int attempt = 1;; attempt++) {
    auto r = RetryEintr(fn);
    if (!(r < 0 && errno == EAGAIN) || attempt >= tries) return r;
    struct timespec ts = {0, pause_ns};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    pause_ns *= 2;
  }
}

// What a fork that still says EAGAIN after RetryEagain means, for an error's detail.
constexpr const char* kEagainForkHint =
    " (the process limit is reached: pids.max of the cgroup, RLIMIT_NPROC, or the host's threads-max)";

}  // namespace berth

#endif  // BERTH_NATIVE_COMMON_RETRY_H
