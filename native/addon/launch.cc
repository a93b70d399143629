// launch.cc: start a container's first process, berth-init, with its plan.
//
//   launch({initPath, plan, fds, cloneFlags, cgroupFd?, pidnsFd?, usernsFd?}) -> {pid, pidfd, syncFd}
//   launch({initPath, plan, fds, cloneFlags: 0, cgroupFd?, join, cgroupProcs}) (exec's form)
//
// The steps, in the Node process (where malloc, exceptions and threads are fine):
//   1. copy berth-init into a sealed memfd: the container's process will be able to see its
//      /proc/1/exe, and must never be able to write through it to a binary the host runs
//      again (CVE-2019-5736). Seals, not a read-only open: they hold for every future opener.
//   2. the plan into another memfd (sealed too: the plan is final once launched).
//   3. a SOCK_SEQPACKET socketpair for the sync records (see native/init/cmd-run.cc).
//   4. block every signal in this thread, join the target pid namespace for children if asked,
//      clone3 (CLONE_PIDFD, CLONE_INTO_CGROUP on v2), then undo both.
//   5. with CLONE_NEWUSER, the child waits for one kSyncAck before it execs: the caller writes
//      uid_map and gid_map, then acks (see Child for why it must happen before the exec).
// In the child, which is a copy of a multi-threaded process, only async-signal-safe calls:
// become non-dumpable, reset signal dispositions, place the fds, unblock signals, execveat
// the memfd.
//
// exec's form enters a running container (CVE-2016-9962): the child writes itself into the
// cgroups (cgroupProcs) and joins every namespace in `join`'s order (user first, mount, then
// pid last, which applies to its children only), then execs berth-init there. berth-init runs
// its whole plan outside the container's pid namespace, unseen from inside, and only its
// last op (forkIntoPidns, native/init/op-fork.cc) makes a process in it.
//
// The fd layout berth-init starts with, n = fds.length:
//   i      fds[i], for i in 0..n-1
//   n      the plan memfd          (argv[2])
//   n+1    the child's sync end    (argv[3])
//   n+2    the berth-init memfd (executed with execveat(AT_EMPTY_PATH))
// and nothing else.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "../abi/plan-abi.h"
#include "../common/linux.h"
#include "../common/retry.h"
#include "addon.h"
#include "errors.h"
#include "../common/unique-fd.h"

namespace berth {

namespace {

// The only clone flags a caller may ask for: namespaces. Anything else (CLONE_VM,
// CLONE_THREAD, CLONE_FILES, a signal in the low byte, ...) would break the child's copy of
// the process in ways this code does not expect.
constexpr uint64_t kAllowedCloneFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                        CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | 0x80 /* CLONE_NEWTIME */;

constexpr unsigned int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

// A failed syscall, for the JS error: errno, syscall name, and the path if there was one.
struct Failure {
  int err = 0;
  const char* syscall = "";
  std::string path;

  bool set(const char* name, const std::string& p = std::string()) {
    err = errno;
    syscall = name;
    path = p;
    return false;
  }
};

// memfd_create with the vm.memfd_noexec (6.3) flag `exec_flag`, retried without it on kernels
// that do not know it (EINVAL).
int MemfdCreate(const char* name, unsigned int flags, unsigned int exec_flag) {
  int fd = static_cast<int>(syscall(__NR_memfd_create, name, flags | exec_flag));
  if (fd < 0 && errno == EINVAL) fd = static_cast<int>(syscall(__NR_memfd_create, name, flags));
  return fd;
}

// F_SEAL_WRITE is refused with EBUSY while the kernel still holds references to the memfd's
// pages (seen under load right after the copy: the pages sendfile moved are released
// asynchronously). That passes: try again for up to about 100 ms before calling it a failure.
bool AddSeals(int fd) {
  for (int attempt = 0;; attempt++) {
    if (fcntl(fd, F_ADD_SEALS, kSeals) == 0) return true;
    if (errno != EBUSY || attempt == 100) return false;
    struct timespec ms = {0, 1000 * 1000};
    nanosleep(&ms, nullptr);
  }
}

// berth-init, copied into a memfd sealed against any change.
bool SealedInitCopy(const std::string& path, UniqueFd* out, Failure* f) {
  UniqueFd src(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.valid()) return f->set("open", path);
  struct stat st;
  if (fstat(src.get(), &st) != 0) return f->set("fstat", path);
  if (!S_ISREG(st.st_mode)) {
    errno = EACCES;
    return f->set("open", path);
  }
  UniqueFd mfd(MemfdCreate("berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING, linux_abi::kMfdExec));
  if (!mfd.valid()) return f->set("memfd_create");
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = sendfile(mfd.get(), src.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return f->set("sendfile", path);
    if (n == 0) {  // the file shrank under us: not a binary we want to run
      errno = EIO;
      return f->set("sendfile", path);
    }
  }
  if (!AddSeals(mfd.get())) return f->set("fcntl(F_ADD_SEALS)");
  *out = std::move(mfd);
  return true;
}

// The plan, in a sealed memfd positioned at 0.
bool PlanMemfd(const uint8_t* data, size_t len, UniqueFd* out, Failure* f) {
  UniqueFd mfd(MemfdCreate("berth-plan", MFD_CLOEXEC | MFD_ALLOW_SEALING, linux_abi::kMfdNoexecSeal));
  if (!mfd.valid()) return f->set("memfd_create");
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(mfd.get(), data + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return f->set("write");
    done += static_cast<size_t>(n);
  }
  if (!AddSeals(mfd.get())) return f->set("fcntl(F_ADD_SEALS)");
  if (lseek(mfd.get(), 0, SEEK_SET) != 0) return f->set("lseek");
  *out = std::move(mfd);
  return true;
}

// Everything the child needs, prepared by the parent before clone3: the child may not
// allocate (malloc's locks may be held by another thread at the moment of the clone).
struct ChildSetup {
  const int* sources;  // fds to place at 0..count-1
  int* scratch;        // count ints
  int count;
  int high;            // above every source and every target: the parking area
  int sync_fd;         // the child's sync end before placement
  int sync_target;     // ... and after
  char* const* argv;
  char* const* envp;
  bool wait_ack;       // block for one kSyncAck before the exec (a new user namespace)
  int userns_fd;       // a user namespace to join (placed fd number), or -1
  uint64_t unshare_flags;  // with userns_fd: the namespaces to create inside it
  linux_abi::CloneArgs* inner;  // with CLONE_NEWPID in unshare_flags: the second clone
  int* inner_pidfd;
  // exec's entry (see Enter): namespaces to join in order, parked above berth-init's fds.
  const int* join_sources;  // the caller's fds
  const int* join_types;    // CLONE_NEW* of each
  int join_count;
  const char* const* cgroup_files;  // cgroup.procs / tasks files to write "0" into first
  int cgroup_count;
};

// Closes every fd >= from (async-signal-safe: close_range, or close one by one before 5.9).
void CloseFrom(int from) {
  if (syscall(__NR_close_range, from, ~0U, 0) == 0) return;
  struct rlimit rl;
  int limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 20) ? static_cast<int>(rl.rlim_cur) : 1 << 20;
  for (int fd = from; fd < limit; fd++) close(fd);
}

// A SyncRecord from the child, with async-signal-safe calls only: berth-init has not started,
// so the parent learns of the failure the same way as of a failing op (opIndex -1).
void ChildReport(int fd, int err, const char* detail) {
  abi::SyncRecord rec;
  char* p = reinterpret_cast<char*>(&rec);
  for (size_t i = 0; i < sizeof rec; i++) p[i] = 0;
  rec.type = abi::kSyncError;
  rec.opIndex = -1;
  rec.err = err;
  for (size_t i = 0; detail[i] != '\0' && i + 1 < sizeof rec.detail; i++) rec.detail[i] = detail[i];
  RetryEintr([&] { return send(fd, &rec, sizeof rec, MSG_NOSIGNAL); });
}

[[noreturn]] void ChildFail(int fd, const char* detail) {
  ChildReport(fd, errno, detail);
  _exit(127);
}

// The middle process of a joined user namespace hands the real init's pidfd to the parent.
void ChildSendPidfd(int sock, int pidfd) {
  abi::SyncRecord rec;
  char* p = reinterpret_cast<char*>(&rec);
  for (size_t i = 0; i < sizeof rec; i++) p[i] = 0;
  rec.type = abi::kSyncPidfd;
  rec.opIndex = -1;
  struct iovec iov = {&rec, sizeof rec};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  for (size_t i = 0; i < sizeof control; i++) control[i] = 0;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &pidfd, sizeof(int));
  RetryEintr([&] { return sendmsg(sock, &msg, MSG_NOSIGNAL); });
}

const char* NamespaceName(int type) {
  switch (type) {
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWNET: return "network";
    case CLONE_NEWCGROUP: return "cgroup";
    case 0x80: return "time";
    case CLONE_NEWNS: return "mount";
    case CLONE_NEWPID: return "pid";
    default: return "?";
  }
}

// "launch: <what> <name>", for ChildFail, without allocating.
struct Detail {
  char buf[sizeof(abi::SyncRecord::detail)];
  size_t len = 0;
  Detail& add(const char* str) {
    for (; *str != '\0' && len + 1 < sizeof buf; str++) buf[len++] = *str;
    buf[len] = '\0';
    return *this;
  }
};

// exec's way in (CVE-2016-9962): this process, outside the container's pid namespace and so
// invisible to everything in it, takes the container's cgroups (writing "0" moves the writer),
// then joins every namespace, the user namespace first (it owns the others) and the mount
// namespace last but for pid: setns into a mount namespace makes its root our root and cwd,
// so the host's / is gone. The pid namespace applies to our children only: berth-init's last
// op makes the one process that appears in it. The namespace fds sit at s.count + i.
void Enter(const ChildSetup& s) {
  for (int i = 0; i < s.cgroup_count; i++) {
    int fd = open(s.cgroup_files[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) ChildFail(s.sync_target, Detail().add("launch: join the cgroup ").add(s.cgroup_files[i]).buf);
    close(fd);
  }
  for (int i = 0; i < s.join_count; i++) {
    int type = s.join_types[i];
    if (setns(s.count + i, type) != 0) ChildFail(s.sync_target, Detail().add("launch: setns into the container's ").add(NamespaceName(type)).add(" namespace").buf);
    if (type == CLONE_NEWUSER) {
      // Our ids are the host's, which the namespace may not map: become its root.
      if (syscall(SYS_setresgid, 0, 0, 0) != 0) ChildFail(s.sync_target, "launch: setresgid(0) in the container's user namespace (is gid 0 mapped?)");
      if (syscall(SYS_setresuid, 0, 0, 0) != 0) ChildFail(s.sync_target, "launch: setresuid(0) in the container's user namespace (is uid 0 mapped?)");
    }
  }
}

[[noreturn]] void Child(const ChildSetup& s) {
  // Not dumpable from here to berth-init's execve (which berth-init undoes first thing): no
  // process of a container may ptrace us or read our /proc files (CVE-2016-9962).
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  // Every disposition back to the default. Handlers would be reset by execve anyway, but not
  // before it: with Node's handlers still installed, a signal arriving once we unblock below
  // would run libuv's handler in this copy of the process. And an ignored signal stays
  // ignored across execve (Node ignores SIGPIPE; a container must not inherit that). glibc
  // refuses the two signals it reserves (32, 33): they are never ignored, nothing to undo.
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }

  // Place the fds. A source may sit at another's target number, so first park every source
  // above all of them (F_DUPFD: the lowest free fd >= high), then dup2 each down to its
  // place. dup2 clears FD_CLOEXEC on the copy, so the targets survive the exec.
  for (int i = 0; i < s.count; i++) {
    s.scratch[i] = fcntl(s.sources[i], F_DUPFD, s.high);
    if (s.scratch[i] < 0) ChildFail(s.sync_fd, "launch: dup the fds for berth-init");
  }
  for (int i = 0; i < s.join_count; i++) {
    s.scratch[s.count + i] = fcntl(s.join_sources[i], F_DUPFD, s.high);
    if (s.scratch[s.count + i] < 0) ChildFail(s.sync_fd, "launch: dup the namespace fds");
  }
  for (int i = 0; i < s.count + s.join_count; i++) {
    if (dup2(s.scratch[i], i) < 0) ChildFail(s.sync_fd, "launch: place the fds for berth-init");
  }
  // Everything else goes, the parked copies included: no fd of the Node process may reach
  // the container.
  CloseFrom(s.count + s.join_count);

  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  // Joining a user namespace (linux.namespaces[].path): clone3 cannot, so this process
  // joins it, becomes its root, and creates the other namespaces inside it, so that they are
  // owned by it. A new pid namespace from unshare applies to children only: then one more
  // clone makes the container's pid 1, whose pidfd goes to the parent, and this one exits.
  if (s.userns_fd >= 0) {
    if (setns(s.userns_fd, CLONE_NEWUSER) != 0) ChildFail(s.sync_target, "launch: setns into the user namespace");
    close(s.userns_fd);
    if (syscall(SYS_setresgid, 0, 0, 0) != 0) ChildFail(s.sync_target, "launch: setresgid(0) in the joined user namespace (is gid 0 mapped?)");
    if (syscall(SYS_setresuid, 0, 0, 0) != 0) ChildFail(s.sync_target, "launch: setresuid(0) in the joined user namespace (is uid 0 mapped?)");
    if (s.unshare_flags != 0 && unshare(static_cast<int>(s.unshare_flags)) != 0) {
      ChildFail(s.sync_target, "launch: unshare the namespaces inside the joined user namespace");
    }
    if ((s.unshare_flags & CLONE_NEWPID) != 0) {
      long pid = RetryEagain([&] { return syscall(__NR_clone3, s.inner, sizeof *s.inner); });
      if (pid < 0) ChildFail(s.sync_target, "launch: clone3 the container's init in its pid namespace");
      if (pid > 0) {
        ChildSendPidfd(s.sync_target, *s.inner_pidfd);
        _exit(0);
      }
    }
  }

  if (s.join_count > 0 || s.cgroup_count > 0) {
    Enter(s);
    CloseFrom(s.count);
  }

  // In a new user namespace we have no uid until the parent writes uid_map, and execve as an
  // unmapped uid would drop every capability berth-init needs. So the maps come first: wait
  // for the parent's ack (read(2) is async-signal-safe), then exec as root of the namespace.
  if (s.wait_ack) {
    abi::SyncRecord rec;
    ssize_t got;
    do {
      got = recv(s.sync_target, &rec, sizeof rec, 0);
    } while (got < 0 && errno == EINTR);
    if (got != static_cast<ssize_t>(sizeof rec) || rec.type != abi::kSyncAck) {
      if (got >= 0) errno = EPIPE;
      ChildFail(s.sync_target, "launch: wait for the uid/gid maps");
    }
    // Our credentials are still the host's, which the maps do not name: become the
    // namespace's root (raw syscalls: glibc's wrappers would try to reach threads that only
    // existed in the parent). Fails with EINVAL when the maps have no container id 0.
    if (syscall(SYS_setresgid, 0, 0, 0) != 0) ChildFail(s.sync_target, "launch: setresgid(0) in the new user namespace (is gid 0 mapped?)");
    if (syscall(SYS_setresuid, 0, 0, 0) != 0) ChildFail(s.sync_target, "launch: setresuid(0) in the new user namespace (is uid 0 mapped?)");
  }

  // The init memfd is the last fd placed, and not close-on-exec: berth-init marks it so
  // itself. (With FD_CLOEXEC set, execveat of a script would fail, as fexecve(3) notes.)
  syscall(SYS_execveat, s.count - 1, "", s.argv, s.envp, AT_EMPTY_PATH);
  ChildFail(s.sync_target, "launch: execveat berth-init");
}

// Restores this thread's signal mask and pid namespace for children on scope exit, whatever
// path the launch takes.
class ThreadStateGuard {
 public:
  ThreadStateGuard() { block_all(); }
  ~ThreadStateGuard() { restore(); }

  // Joins `pidns` for our children only (setns(CLONE_NEWPID) changes pid_for_children, never
  // the caller's own pid namespace, so it is safe in a multi-threaded process).
  bool enter_pidns(int pidns, Failure* f) {
    saved_pidns_.reset(open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
    if (!saved_pidns_.valid()) return f->set("open", "/proc/thread-self/ns/pid_for_children");
    if (setns(pidns, CLONE_NEWPID) != 0) {
      f->set("setns");
      saved_pidns_.reset();
      return false;
    }
    return true;
  }

  // 0, or the errno of a failed restore of pid_for_children (the caller must not go on
  // spawning processes into the container's pid namespace).
  int restore() {
    int err = 0;
    if (saved_pidns_.valid()) {
      if (setns(saved_pidns_.get(), CLONE_NEWPID) != 0) err = errno;
      saved_pidns_.reset();
    }
    if (blocked_) {
      pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
      blocked_ = false;
    }
    return err;
  }

 private:
  void block_all() {
    sigset_t all;
    sigfillset(&all);
    blocked_ = pthread_sigmask(SIG_SETMASK, &all, &old_mask_) == 0;
  }

  sigset_t old_mask_;
  bool blocked_ = false;
  UniqueFd saved_pidns_;
};

// The middle process's first record: kSyncPidfd with the init's pidfd (0, *fd set), or an
// error record, left unread for the caller (EAGAIN). Other values are errnos.
int ReceivePidfd(int sock, int* fd) {
  abi::SyncRecord rec;
  ssize_t got;
  do {
    got = recv(sock, &rec, sizeof rec, MSG_PEEK);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return errno;
  if (got != static_cast<ssize_t>(sizeof rec)) return EAGAIN;  // EOF or short: the caller sees it
  if (rec.type != abi::kSyncPidfd) return EAGAIN;
  struct iovec iov = {&rec, sizeof rec};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  do {
    got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return errno;
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  if (cm == nullptr || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int))) return EPROTO;
  memcpy(fd, CMSG_DATA(cm), sizeof(int));
  return 0;
}

// The pid a pidfd refers to, in our pid namespace ("Pid:" in its fdinfo), or -1.
long PidOfPidfd(int pidfd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return -1;
  char line[128];
  long pid = -1;
  while (fgets(line, sizeof line, f) != nullptr) {
    if (strncmp(line, "Pid:", 4) == 0) pid = strtol(line + 4, nullptr, 10);
  }
  fclose(f);
  return pid;
}

bool GetFdOption(Napi::Env env, Napi::Object opts, const char* name, int* out) {
  Napi::Value v = opts.Get(name);
  if (v.IsUndefined() || v.IsNull()) {
    *out = -1;
    return true;
  }
  if (!v.IsNumber()) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", std::string("launch: ") + name + " must be a file descriptor");
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 0x7fffffff || d != static_cast<int>(d)) {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", std::string("launch: ") + name + " must be a file descriptor");
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

}  // namespace

Napi::Value Launch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "launch: options must be an object");
  }
  Napi::Object opts = info[0].As<Napi::Object>();

  Napi::Value init_v = opts.Get("initPath");
  if (!init_v.IsString()) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "launch: initPath must be a string");
  std::string init_path = init_v.As<Napi::String>().Utf8Value();
  if (init_path.empty() || init_path.find('\0') != std::string::npos) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "launch: initPath must be a non-empty path without NUL");
  }

  Napi::Value plan_v = opts.Get("plan");
  if (!plan_v.IsTypedArray() || plan_v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "launch: plan must be a Buffer or Uint8Array");
  }
  Napi::Uint8Array plan = plan_v.As<Napi::Uint8Array>();

  Napi::Value fds_v = opts.Get("fds");
  if (!fds_v.IsArray()) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "launch: fds must be an array");
  Napi::Array fds_a = fds_v.As<Napi::Array>();
  std::vector<int> sources;
  for (uint32_t i = 0; i < fds_a.Length(); i++) {
    Napi::Value v = fds_a.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (d < 0 || d > 0x7fffffff || d != static_cast<int>(d)) {
      char msg[80];
      snprintf(msg, sizeof msg, "launch: fds[%u] must be a file descriptor", i);
      return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", msg);
    }
    // An fd that is not open would only fail in the child, where we can say less.
    if (fcntl(static_cast<int>(d), F_GETFD) < 0) return ThrowErrno(env, errno, "fcntl");
    sources.push_back(static_cast<int>(d));
  }

  Napi::Value flags_v = opts.Get("cloneFlags");
  if (!flags_v.IsNumber()) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "launch: cloneFlags must be a number");
  double flags_d = flags_v.As<Napi::Number>().DoubleValue();
  uint64_t clone_flags = static_cast<uint64_t>(flags_d);
  if (flags_d < 0 || static_cast<double>(clone_flags) != flags_d || (clone_flags & ~kAllowedCloneFlags) != 0) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "launch: cloneFlags may only hold CLONE_NEW* flags");
  }

  int cgroup_fd = -1, pidns_fd = -1, userns_index = -1, fault_op = -1;
  if (!GetFdOption(env, opts, "cgroupFd", &cgroup_fd) || !GetFdOption(env, opts, "pidnsFd", &pidns_fd) ||
      !GetFdOption(env, opts, "usernsFd", &userns_index) || !GetFdOption(env, opts, "faultOp", &fault_op)) {
    return env.Undefined();
  }
  if (userns_index >= static_cast<int>(sources.size())) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "launch: usernsFd must be an index into fds");
  }
  if (userns_index >= 0 && (clone_flags & CLONE_NEWUSER) != 0) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "launch: usernsFd and CLONE_NEWUSER exclude each other");
  }
  // exec's joins: [{fd, type}], entered in this order by the child (see Enter), and the
  // cgroup files it writes itself into before them.
  std::vector<int> join_sources, join_types;
  Napi::Value join_v = opts.Get("join");
  if (!join_v.IsUndefined() && !join_v.IsNull()) {
    if (!join_v.IsArray()) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "launch: join must be an array");
    Napi::Array join_a = join_v.As<Napi::Array>();
    for (uint32_t i = 0; i < join_a.Length(); i++) {
      Napi::Value e = join_a.Get(i);
      int fd = -1;
      if (!e.IsObject() || !GetFdOption(env, e.As<Napi::Object>(), "fd", &fd)) {
        if (env.IsExceptionPending()) return env.Undefined();
        return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "launch: join entries must be {fd, type}");
      }
      Napi::Value t = e.As<Napi::Object>().Get("type");
      double td = t.IsNumber() ? t.As<Napi::Number>().DoubleValue() : -1;
      uint64_t type = static_cast<uint64_t>(td);
      bool one_flag = td > 0 && static_cast<double>(type) == td && (type & (type - 1)) == 0;
      if (fd < 0 || !one_flag || (type & kAllowedCloneFlags) == 0) {
        return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "launch: join entries must be {fd, type: one CLONE_NEW* flag}");
      }
      // The pid namespace only makes sense last: it applies to the child made after the joins.
      if (!join_types.empty() && join_types.back() == CLONE_NEWPID) {
        return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "launch: a pid namespace must be the last join");
      }
      if (fcntl(fd, F_GETFD) < 0) return ThrowErrno(env, errno, "fcntl");
      join_sources.push_back(fd);
      join_types.push_back(static_cast<int>(type));
    }
  }
  std::vector<std::string> cgroup_files;
  Napi::Value cg_v = opts.Get("cgroupProcs");
  if (!cg_v.IsUndefined() && !cg_v.IsNull()) {
    if (!cg_v.IsArray()) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "launch: cgroupProcs must be an array of paths");
    Napi::Array cg_a = cg_v.As<Napi::Array>();
    for (uint32_t i = 0; i < cg_a.Length(); i++) {
      Napi::Value e = cg_a.Get(i);
      if (!e.IsString()) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "launch: cgroupProcs must be an array of paths");
      cgroup_files.push_back(e.As<Napi::String>().Utf8Value());
      if (cgroup_files.back().empty() || cgroup_files.back().find('\0') != std::string::npos) {
        return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "launch: cgroupProcs paths must be non-empty, without NUL");
      }
    }
  }
  const bool entering = !join_sources.empty() || !cgroup_files.empty();
  if (entering && (clone_flags != 0 || userns_index >= 0 || pidns_fd >= 0)) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "launch: join and cgroupProcs exclude cloneFlags, usernsFd and pidnsFd");
  }

  // A joined user namespace: the child creates the other namespaces itself (see Child).
  uint64_t unshare_flags = 0;
  if (userns_index >= 0) {
    unshare_flags = clone_flags;
    clone_flags = 0;
  }

  Failure f;
  UniqueFd init_mfd, plan_mfd;
  if (!SealedInitCopy(init_path, &init_mfd, &f) || !PlanMemfd(plan.Data(), plan.ByteLength(), &plan_mfd, &f)) {
    return ThrowErrno(env, f.err, f.syscall, f.path.empty() ? nullptr : f.path.c_str());
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return ThrowErrno(env, errno, "socketpair");
  UniqueFd parent_sync(pair[0]), child_sync(pair[1]);

  // argv and the fd table of the child, built now (see ChildSetup).
  const int n = static_cast<int>(sources.size());
  sources.push_back(plan_mfd.get());
  sources.push_back(child_sync.get());
  sources.push_back(init_mfd.get());
  std::vector<int> scratch(sources.size() + join_sources.size());
  int high = static_cast<int>(scratch.size());
  for (int fd : sources) high = fd > high ? fd : high;
  for (int fd : join_sources) high = fd > high ? fd : high;
  std::vector<const char*> cgroup_ptrs;
  for (const std::string& path : cgroup_files) cgroup_ptrs.push_back(path.c_str());
  char arg0[] = "berth-init", arg1[] = "run", plan_arg[16], sync_arg[16];
  snprintf(plan_arg, sizeof plan_arg, "%d", n);
  snprintf(sync_arg, sizeof sync_arg, "%d", n + 1);
  char* argv[] = {arg0, arg1, plan_arg, sync_arg, nullptr};
  // berth-init needs no environment (the container's comes with the exec op), but for a test's
  // injected fault (src/fault.ts): BERTH_FAULT_OP names the op it fails.
  char fault_env[32];
  char* envp[] = {nullptr, nullptr};
  if (fault_op >= 0) {
    snprintf(fault_env, sizeof fault_env, "BERTH_FAULT_OP=%d", fault_op);
    envp[0] = fault_env;
  }
  linux_abi::CloneArgs inner;
  memset(&inner, 0, sizeof inner);
  int inner_pidfd = -1;
  inner.flags = linux_abi::kClonePidfd;
  inner.pidfd = reinterpret_cast<uint64_t>(&inner_pidfd);
  inner.exit_signal = SIGCHLD;
  ChildSetup setup = {sources.data(), scratch.data(), static_cast<int>(sources.size()), high + 1,
                      child_sync.get(), n + 1, argv, envp, (clone_flags & CLONE_NEWUSER) != 0,
                      userns_index, unshare_flags, &inner, &inner_pidfd,
                      join_sources.data(), join_types.data(), static_cast<int>(join_sources.size()),
                      cgroup_ptrs.data(), static_cast<int>(cgroup_ptrs.size())};

  linux_abi::CloneArgs args;
  memset(&args, 0, sizeof args);
  int pidfd = -1;
  args.flags = clone_flags | linux_abi::kClonePidfd;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= linux_abi::kCloneIntoCgroup;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }

  // The container's init will be our grandchild: become a subreaper so that it is reparented
  // to us when the middle process exits, and waitid on its pidfd (run's wait) still works.
  if ((unshare_flags & CLONE_NEWPID) != 0 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return ThrowErrno(env, errno, "prctl(PR_SET_CHILD_SUBREAPER)");
  }

  long pid;
  int clone_err = 0, restore_err = 0;
  {
    ThreadStateGuard guard;
    if (pidns_fd >= 0 && !guard.enter_pidns(pidns_fd, &f)) {
      return ThrowErrno(env, f.err, f.syscall, f.path.empty() ? nullptr : f.path.c_str());
    }
    // EAGAIN: a process limit (RLIMIT_NPROC, a pids.max) that an exited, not yet reaped
    // process may still hold for a moment: retried briefly (RetryEagain), then reported.
    pid = RetryEagain([&] { return syscall(__NR_clone3, &args, sizeof args); });
    if (pid == 0) Child(setup);
    clone_err = errno;
    restore_err = guard.restore();
  }
  if (pid < 0) return ThrowErrno(env, clone_err, "clone3");
  UniqueFd owned_pidfd(pidfd);
  if (restore_err != 0) {
    // This thread would go on creating children in the container's pid namespace: stop the
    // container we just made and fail loudly rather than leave that behind.
    syscall(__NR_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    while (waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
    }
    return ThrowErrno(env, restore_err, "setns", "/proc/thread-self/ns/pid_for_children");
  }

  // The child has its copies; ours of its sync end, the plan and the binary must go, or the
  // parent end would never see EOF when berth-init dies.
  child_sync.reset();
  plan_mfd.reset();
  init_mfd.reset();

  if ((unshare_flags & CLONE_NEWPID) != 0) {
    // The container's init is the child's child: take its pidfd, reap the middle process. If
    // the child failed instead, its error record stays queued for the caller's syncRecv, and
    // the caller sees the (exited) middle process as the one that failed.
    int inner_fd = -1;
    int err = ReceivePidfd(parent_sync.get(), &inner_fd);
    if (err != 0 && err != EAGAIN) {
      syscall(__NR_pidfd_send_signal, owned_pidfd.get(), SIGKILL, nullptr, 0);
      while (waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
      }
      return ThrowErrno(env, err, "recvmsg", "the container's pidfd");
    }
    if (inner_fd >= 0) {
      while (waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
      }
      owned_pidfd.reset(inner_fd);
      pid = PidOfPidfd(inner_fd);
      if (pid <= 0) {
        syscall(__NR_pidfd_send_signal, inner_fd, SIGKILL, nullptr, 0);
        return ThrowErrno(env, EIO, "read", "the pid of the container's pidfd");
      }
    }
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, static_cast<double>(pid)));
  out.Set("pidfd", Napi::Number::New(env, owned_pidfd.release()));
  out.Set("syncFd", Napi::Number::New(env, parent_sync.release()));
  return out;
}

}  // namespace berth
