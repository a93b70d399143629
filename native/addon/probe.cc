// probe.cc: host facts the plan builder needs, gathered by asking the kernel.
//
// Every probe here must be free of side effects: it runs in the Node process that goes on to
// launch containers. The rule is to call each syscall with arguments the kernel rejects in
// its very first checks (a size below the smallest struct version, flag bits no kernel
// defines, fd -1, a NULL struct pointer), so nothing can be created, closed, mounted,
// signalled or installed, and to read only one thing from the answer: ENOSYS or not.
//
// ENOSYS covers both "kernel too old" and "a seccomp filter around us says ENOSYS" (Docker's
// default profile does that for clone3 so glibc falls back to clone). Either way we must not
// plan to use the call, so both count as unavailable. Any other errno means the call exists.
#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "../common/linux.h"
#include "addon.h"
#include "errors.h"

// Older uapi headers lack the newer seccomp constants; values are kernel ABI.
#ifndef SECCOMP_SET_MODE_FILTER
#define SECCOMP_SET_MODE_FILTER 1
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL 2
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_KILL_THREAD
#define SECCOMP_RET_KILL_THREAD 0x00000000U
#endif
#ifndef SECCOMP_RET_TRAP
#define SECCOMP_RET_TRAP 0x00030000U
#endif
#ifndef SECCOMP_RET_ERRNO
#define SECCOMP_RET_ERRNO 0x00050000U
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_RET_TRACE
#define SECCOMP_RET_TRACE 0x7ff00000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_RET_ALLOW
#define SECCOMP_RET_ALLOW 0x7fff0000U
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC (1UL << 0)
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace berth {

namespace {

// Flag words no kernel accepts: every probed call validates its flags before anything else.
constexpr unsigned int kBadFlags = ~0U;

bool Exists(long ret) { return !(ret == -1 && errno == ENOSYS); }

// For calls that return an fd on success. Our arguments make success impossible, but if a
// future kernel ever accepted them we must not leak the fd into every container we launch.
bool ExistsClosingFd(long ret) {
  if (ret >= 0) close(static_cast<int>(ret));
  return Exists(ret);
}

Napi::Object ProbeSyscalls(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  // clone3(NULL, 0): a size below CLONE_ARGS_SIZE_VER0 is EINVAL before anything is copied,
  // so no process can be created.
  out.Set("clone3", Exists(syscall(__NR_clone3, nullptr, 0)));
  // openat2(-1, NULL, NULL, 0): size below OPEN_HOW_SIZE_VER0 is the first check, EINVAL.
  out.Set("openat2", Exists(syscall(__NR_openat2, -1, nullptr, nullptr, 0)));
  // mount_setattr: unknown flags are EINVAL, and size 0 is EINVAL on its own.
  out.Set("mountSetattr", Exists(syscall(__NR_mount_setattr, -1, nullptr, kBadFlags, nullptr, 0)));
  // open_tree/move_mount: unknown flags are EINVAL before any path is looked up; without
  // OPEN_TREE_CLONE and a real path neither could touch a mount anyway.
  out.Set("openTree", ExistsClosingFd(syscall(__NR_open_tree, -1, nullptr, kBadFlags)));
  out.Set("moveMount", Exists(syscall(__NR_move_mount, -1, nullptr, -1, nullptr, kBadFlags)));
  // pidfd_open(0, 0): pid <= 0 is EINVAL. pidfd_send_signal(-1, 0, NULL, bad flags): EINVAL
  // for the flags, EBADF for the fd; signal 0 besides, so nothing can ever be signalled.
  out.Set("pidfdOpen", ExistsClosingFd(syscall(__NR_pidfd_open, 0, 0)));
  out.Set("pidfdSendSignal", Exists(syscall(__NR_pidfd_send_signal, -1, 0, nullptr, kBadFlags)));
  // memfd_create(NULL, bad flags): flags are checked before the name is read.
  out.Set("memfdCreate", ExistsClosingFd(syscall(__NR_memfd_create, nullptr, kBadFlags)));
  // close_range(~0, 0, bad flags): flags are EINVAL, and first > last is EINVAL too. This one
  // closes fds when it succeeds, hence both guards.
  out.Set("closeRange", Exists(syscall(__NR_close_range, ~0U, 0U, kBadFlags)));
  return out;
}

long Seccomp(unsigned int op, unsigned long flags, void* args) {
#ifdef __NR_seccomp
  return syscall(__NR_seccomp, op, flags, args);
#else
  (void)op, (void)flags, (void)args;
  errno = ENOSYS;
  return -1;
#endif
}

// SECCOMP_GET_ACTION_AVAIL (4.14): 0 when the kernel knows the action, EOPNOTSUPP when not.
// Older kernels answer EINVAL for the unknown operation, which also reads as "not available".
bool ActionAvailable(uint32_t action) { return Seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0; }

// SECCOMP_SET_MODE_FILTER with a NULL program: the kernel validates the flag bits first
// (EINVAL for a flag it does not know), then copies the sock_fprog from user memory, which
// fails with EFAULT before a filter exists. So EFAULT means "flag known" and no filter can be
// installed. This is also how libseccomp probes flags. The EFAULT comes before the
// no_new_privs/CAP_SYS_ADMIN check (EACCES), so the probe works unprivileged too.
bool FilterFlagAvailable(unsigned long flags) {
  return Seccomp(SECCOMP_SET_MODE_FILTER, flags, nullptr) == -1 && errno == EFAULT;
}

Napi::Object ProbeSeccomp(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  // PR_GET_SECCOMP is EINVAL on a kernel built without CONFIG_SECCOMP. (Under strict mode it
  // would kill us, but nothing runs Node under strict mode: it forbids all but four calls.)
  out.Set("mode", prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0);

  Napi::Object actions = Napi::Object::New(env);
  actions.Set("kill_process", ActionAvailable(SECCOMP_RET_KILL_PROCESS));
  actions.Set("kill_thread", ActionAvailable(SECCOMP_RET_KILL_THREAD));
  actions.Set("trap", ActionAvailable(SECCOMP_RET_TRAP));
  actions.Set("errno", ActionAvailable(SECCOMP_RET_ERRNO));
  actions.Set("user_notif", ActionAvailable(SECCOMP_RET_USER_NOTIF));
  actions.Set("trace", ActionAvailable(SECCOMP_RET_TRACE));
  actions.Set("log", ActionAvailable(SECCOMP_RET_LOG));
  actions.Set("allow", ActionAvailable(SECCOMP_RET_ALLOW));
  out.Set("actions", actions);

  Napi::Object flags = Napi::Object::New(env);
  flags.Set("tsync", FilterFlagAvailable(SECCOMP_FILTER_FLAG_TSYNC));
  flags.Set("log", FilterFlagAvailable(SECCOMP_FILTER_FLAG_LOG));
  flags.Set("spec_allow", FilterFlagAvailable(SECCOMP_FILTER_FLAG_SPEC_ALLOW));
  flags.Set("new_listener", FilterFlagAvailable(SECCOMP_FILTER_FLAG_NEW_LISTENER));
  flags.Set("tsync_esrch", FilterFlagAvailable(SECCOMP_FILTER_FLAG_TSYNC_ESRCH));
  // The kernel rejects WAIT_KILLABLE_RECV without NEW_LISTENER (EINVAL), so probe the pair.
  flags.Set("wait_killable_recv", FilterFlagAvailable(SECCOMP_FILTER_FLAG_NEW_LISTENER |
                                                      SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV));
  out.Set("flags", flags);
  return out;
}

// A namespace type exists when the kernel shows its link in /proc/self/ns (each appeared with
// its namespace: cgroup in 4.6, time in 5.6). Without /proc mounted all read false, which is
// the right answer for a launcher that needs /proc anyway.
Napi::Object ProbeNamespaces(Napi::Env env) {
  static constexpr const char* kNames[] = {"pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time"};
  Napi::Object out = Napi::Object::New(env);
  for (const char* name : kNames) {
    std::string path = std::string("/proc/self/ns/") + name;
    // AT_EACCESS is not needed: existence is all we ask, and F_OK ignores permissions.
    out.Set(name, access(path.c_str(), F_OK) == 0);
  }
  return out;
}

}  // namespace

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct utsname uts;
  if (uname(&uts) != 0) return ThrowErrno(env, errno, "uname");

  Napi::Object out = Napi::Object::New(env);
  out.Set("kernelRelease", Napi::String::New(env, uts.release));
  out.Set("syscalls", ProbeSyscalls(env));
  out.Set("seccomp", ProbeSeccomp(env));
  out.Set("namespaces", ProbeNamespaces(env));
  return out;
}

}  // namespace berth
