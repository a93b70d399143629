// Per-process settings: sysctl, setrlimit, oomScoreAdj, umask, personality, chdir.
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../common/linux.h"
#include "io.h"
#include "run.h"

namespace berth {

namespace {

// Opens `path` for writing and writes `value` in one write(2): /proc and /proc/sys files
// take a value per write call.
int write_file_at(int dirfd, const char* path, const char* value, uint64_t resolve) {
  linux_abi::OpenHow how{};
  how.flags = O_WRONLY | O_CLOEXEC;
  how.resolve = resolve;
  int fd = static_cast<int>(syscall(__NR_openat2, dirfd, path, &how, sizeof how));
  if (fd < 0) return -errno;
  UniqueFd file(fd);
  return write_all(file.get(), value, Text<1>::length(value));
}

}  // namespace

// A kernel parameter of the container's namespaces (linux.sysctl). "net.ipv4.ip_forward"
// is the file /proc/sys/net/ipv4/ip_forward; a key already written with slashes is taken as
// it is (sysctl(8) does the same, for interface names with dots).
int op_sysctl(Run& run, const Op& op) {
  const char* key = op.args[0].s;
  const char* value = op.args[1].s;
  run.doing("sysctl ", key, "=", value);
  Text<4096> rel;
  bool has_slash = false;
  for (const char* p = key; *p != '\0'; p++) has_slash = has_slash || *p == '/';
  for (const char* p = key; *p != '\0'; p++) rel.add(*p == '.' && !has_slash ? '/' : *p);
  if (rel.full()) return run.fail(ENAMETOOLONG);
  // The file must be under a real procfs's sys/: the /proc we see is the container's, and a
  // key must not climb out of /proc/sys ("..", symlinks), whatever the config says.
  UniqueFd sys(open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!sys.valid()) return run.fail(errno);
  struct statfs fs;
  if (fstatfs(sys.get(), &fs) != 0) return run.fail(errno);
  if (fs.f_type != PROC_SUPER_MAGIC) {
    run.detail.add(": /proc/sys is not on procfs");
    return run.fail(EINVAL);
  }
  uint64_t resolve = linux_abi::kResolveBeneath | linux_abi::kResolveNoSymlinks | linux_abi::kResolveNoMagiclinks;
  if (int r = write_file_at(sys.get(), rel.c_str(), value, resolve); r < 0) return run.fail(-r);
  return 0;
}

int op_setrlimit(Run& run, const Op& op) {
  int resource = static_cast<int>(op.args[0].i);
  // prlimit64 rather than setrlimit: its struct has the same 64-bit layout everywhere, and
  // glibc's setrlimit takes a glibc-only enum type. -1 stands for RLIM_INFINITY (the spec's
  // uint64 max does not fit a JS number).
  struct {
    uint64_t cur, max;
  } rl = {static_cast<uint64_t>(op.args[1].i), static_cast<uint64_t>(op.args[2].i)};
  run.doing("setrlimit resource ", resource, " soft ", static_cast<long long>(op.args[1].i), " hard ",
            static_cast<long long>(op.args[2].i));
  if (syscall(SYS_prlimit64, 0, resource, &rl, nullptr) != 0) return run.fail(errno);
  return 0;
}

int op_oomScoreAdj(Run& run, const Op& op) {
  Text<24> value;
  value.add(static_cast<long long>(op.args[0].i));
  run.doing("write ", value.c_str(), " to /proc/self/oom_score_adj");
  UniqueFd file(open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  if (!file.valid()) return run.fail(errno);
  if (int r = write_all(file.get(), value.c_str(), value.size()); r < 0) return run.fail(-r);
  return 0;
}

int op_umask(Run& run, const Op& op) {
  run.doing("umask");
  umask(static_cast<mode_t>(op.args[0].i) & 0777);
  return 0;
}

int op_personality(Run& run, const Op& op) {
  unsigned long persona = static_cast<unsigned long>(op.args[0].i);
  run.doing("personality ");
  run.detail.hex(persona);
  if (personality(persona) == -1) return run.fail(errno);
  return 0;
}

// The process's working directory (process.cwd): chdirEarly enters it before the user switch,
// chdir after it when chdirEarly was refused. The check after chdir is for the class of
// CVE-2024-21626: a directory fd leaked from the host (or a cwd that resolves through one)
// leaves the process outside its root, where getcwd(3) can no longer produce a path that
// starts with "/" (the kernel answers "(unreachable)/...", glibc ENOENT).
int op_chdirEarly(Run& run, const Op& op) {
  const char* path = op.args[0].s;
  run.doing("chdir to ", path);
  if (chdir(path) == 0) {
    run.cwd_entered = true;
    return 0;
  }
  // Not for us, maybe for the user: chdir tries again after the switch.
  if (errno == EACCES || errno == EPERM) return 0;
  return run.fail(errno);
}

int op_chdir(Run& run, const Op& op) {
  const char* path = op.args[0].s;
  run.doing("chdir to ", path);
  if (!run.cwd_entered && chdir(path) != 0) return run.fail(errno);
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) {
    if (errno == ENOENT) {
      cwd[0] = '\0';  // glibc: the directory is not reachable from our root
    } else {
      // A seccomp filter already loaded (without no_new_privs it must be) may refuse getcwd;
      // the kernel gives the same answer through /proc/self/cwd ("(unreachable)/..." when the
      // directory is outside our root).
      int err = errno;
      ssize_t n = readlink("/proc/self/cwd", cwd, sizeof cwd - 1);
      if (n < 0) return run.fail(err);
      cwd[n] = '\0';
    }
  }
  if (cwd[0] != '/') {
    run.detail.add(": the working directory is outside of the container's root, possible container breakout");
    return run.fail(EPERM);
  }
  return 0;
}

// A session keyring of the container's own, so that it does not share the caller's (keys a
// host session holds would otherwise be visible and usable inside). Named "_ses.<id>" and
// made searchable by its owner, as runc makes it; a kernel without keyrings (ENOSYS) is not
// an error. --no-new-keyring leaves this op out of the plan.
int op_joinSessionKeyring(Run& run, const Op& op) {
  constexpr long kJoinSessionKeyring = 1;  // KEYCTL_JOIN_SESSION_KEYRING
  constexpr long kSetperm = 5;             // KEYCTL_SETPERM
  // possessor: all; owner: view, read, search, link
  constexpr unsigned long kPerm = 0x3f000000UL | 0x00010000UL | 0x00020000UL | 0x00080000UL | 0x00100000UL;
  run.doing("keyctl join session keyring ", op.args[0].s);
  long key = syscall(__NR_keyctl, kJoinSessionKeyring, op.args[0].s, 0, 0, 0);
  if (key < 0) return errno == ENOSYS ? 0 : run.fail(errno);
  run.doing("keyctl setperm on session keyring ", op.args[0].s);
  if (syscall(__NR_keyctl, kSetperm, key, kPerm, 0, 0) != 0) return run.fail(errno);
  return 0;
}

// The LSM exec label: "apparmor" writes /proc/self/attr/apparmor/exec (5.1+; older kernels
// only have /proc/self/attr/exec), "selinux" /proc/self/attr/exec. The kernel applies it at
// our next execve, the user's program. Written in one write(2), as the LSMs require.
int op_setExecLabel(Run& run, const Op& op) {
  const char* lsm = op.args[0].s;
  const char* value = op.args[1].s;
  const char* path = "/proc/self/attr/exec";
  UniqueFd fd;
  if (strcmp(lsm, "apparmor") == 0) {
    fd.reset(open("/proc/self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC));
    if (fd.valid()) path = "/proc/self/attr/apparmor/exec";
  }
  run.doing("write ", value, " to ", path);
  if (!fd.valid()) fd.reset(open(path, O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return run.fail(errno);
  size_t len = strlen(value);
  ssize_t n = write(fd.get(), value, len);
  if (n < 0) return run.fail(errno);
  if (static_cast<size_t>(n) != len) return run.fail(EIO);
  return 0;
}

}  // namespace berth
