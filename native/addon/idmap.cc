// idmap.cc: idmapped mounts, made in the parent (the container may be in a user namespace,
// without CAP_SYS_ADMIN over the source's filesystem, which mount_setattr(MOUNT_ATTR_IDMAP)
// needs). TypeScript decides the mappings and which trees; these two calls execute:
//
//   usernsFd(uidMap, gidMap)      a user namespace with those maps, as an fd
//   openTreeIdmapped(src, userns, recursiveTree, recursiveIdmap)
//                                 open_tree(OPEN_TREE_CLONE) + mount_setattr(IDMAP): a
//                                 detached tree, as an fd, that berth-init attaches with
//                                 move_mount (op moveMount)
//
// A user namespace is only made by a process entering it, and Node is multithreaded (unshare
// of CLONE_NEWUSER is refused then), so a child is cloned into a new one. It does nothing but
// wait on a pipe; the parent writes its maps, opens /proc/<pid>/ns/user, closes the pipe, and
// reaps it. The namespace lives on as long as the fd.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "../common/linux.h"
#include "../common/mount-flags.h"
#include "addon.h"
#include "args.h"
#include "errors.h"
#include "../common/retry.h"
#include "../common/unique-fd.h"

namespace berth {

namespace {

// One write(2): the kernel takes a map file in a single write only.
int WriteFile(const std::string& path, const std::string& text) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno;
  ssize_t n = write(fd.get(), text.data(), text.size());
  if (n < 0) return errno;
  return n == static_cast<ssize_t>(text.size()) ? 0 : EIO;
}

// Reaps the helper child whatever happens to the parent's steps.
class Helper {
 public:
  Helper(pid_t pid, int release_fd) : pid_(pid), release_(release_fd) {}
  ~Helper() {
    release_.reset();  // the child's read returns 0: it exits
    int status = 0;
    while (waitpid(pid_, &status, __WALL) < 0 && errno == EINTR) {
    }
  }

 private:
  pid_t pid_;
  UniqueFd release_;
};

}  // namespace

// usernsFd(uidMap, gidMap): uidMap and gidMap are uid_map/gid_map texts
// ("containerID hostID size\n" lines). Returns a close-on-exec fd of the new namespace.
Napi::Value UsernsFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string uid_map, gid_map;
  if (!ArgPath(info, 0, "usernsFd: uidMap", &uid_map) || !ArgPath(info, 1, "usernsFd: gidMap", &gid_map)) {
    return env.Undefined();
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return ThrowErrno(env, errno, "pipe2");
  UniqueFd rd(pipefd[0]);
  UniqueFd wr(pipefd[1]);
  // fork semantics (no CLONE_VM, no new stack): the child is a copy of this thread. It makes
  // raw system calls only, as after any fork in a multithreaded process.
  long pid = RetryEagain([] { return syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr); });
  if (pid < 0) return ThrowErrno(env, errno, "clone", "CLONE_NEWUSER");
  if (pid == 0) {
    char c;
    syscall(SYS_close, pipefd[1]);
    while (syscall(SYS_read, pipefd[0], &c, 1) < 0 && errno == EINTR) {
    }
    syscall(SYS_exit_group, 0);
  }
  rd.reset();
  Helper helper(static_cast<pid_t>(pid), wr.release());
  std::string proc = "/proc/" + std::to_string(pid);
  if (int e = WriteFile(proc + "/uid_map", uid_map); e != 0) return ThrowErrno(env, e, "write", (proc + "/uid_map").c_str());
  if (int e = WriteFile(proc + "/gid_map", gid_map); e != 0) return ThrowErrno(env, e, "write", (proc + "/gid_map").c_str());
  int fd = open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ThrowErrno(env, errno, "open", (proc + "/ns/user").c_str());
  return Napi::Number::New(env, fd);
}

// openTreeClone(source, recursive): a detached copy of the mount at `source` (with its
// submounts if recursive), opened with our credentials: for a container in a user namespace,
// whose root may not be allowed to look the source up (runc and crun open bind sources on the
// host side too). Returns {fd, flags}: a close-on-exec fd of the tree, for op moveMount, and
// the MS_* flags of its mount (nosuid, nodev, noexec, the atime mode): a bind made inside the
// user namespace would have them locked, so the plan carries them into any remount.
Napi::Value OpenTreeClone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source;
  if (!ArgPath(info, 0, "openTreeClone: source", &source)) return env.Undefined();
  bool recursive = info.Length() > 1 && info[1].ToBoolean().Value();
  unsigned int flags = linux_abi::kOpenTreeClone | linux_abi::kOpenTreeCloexec | (recursive ? linux_abi::kAtRecursive : 0);
  UniqueFd tree(static_cast<int>(syscall(__NR_open_tree, AT_FDCWD, source.c_str(), flags)));
  if (!tree.valid()) return ThrowErrno(env, errno, "open_tree", source.c_str());
  unsigned long ms = 0;
  if (int r = mount_flags_of(tree.get(), &ms); r < 0) return ThrowErrno(env, -r, "fstatvfs", source.c_str());
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, tree.release()));
  // Read-only is the config's to say (the plan keeps only what a remount may not clear).
  out.Set("flags", Napi::Number::New(env, static_cast<double>(ms & ~static_cast<unsigned long>(MS_RDONLY))));
  return out;
}

// openTreeIdmapped(source, usernsFd, recursiveTree, recursiveIdmap): a detached copy of the
// mount at `source` (with its submounts if recursiveTree), idmapped with the namespace's maps
// (the submounts too if recursiveIdmap). Returns a close-on-exec fd of the tree.
Napi::Value OpenTreeIdmapped(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source;
  int userns = -1;
  if (!ArgPath(info, 0, "openTreeIdmapped: source", &source) || !ArgFd(info, 1, "openTreeIdmapped: usernsFd", &userns)) {
    return env.Undefined();
  }
  bool recursive_tree = info.Length() > 2 && info[2].ToBoolean().Value();
  bool recursive_idmap = info.Length() > 3 && info[3].ToBoolean().Value();
  unsigned int flags = linux_abi::kOpenTreeClone | linux_abi::kOpenTreeCloexec | (recursive_tree ? linux_abi::kAtRecursive : 0);
  UniqueFd tree(static_cast<int>(syscall(__NR_open_tree, AT_FDCWD, source.c_str(), flags)));
  if (!tree.valid()) return ThrowErrno(env, errno, "open_tree", source.c_str());
  linux_abi::MountAttr attr{};
  attr.attr_set = linux_abi::kMountAttrIdmap;
  attr.userns_fd = static_cast<uint64_t>(userns);
  unsigned int at = AT_EMPTY_PATH | (recursive_idmap ? linux_abi::kAtRecursive : 0);
  if (syscall(__NR_mount_setattr, tree.get(), "", at, &attr, sizeof attr) != 0) {
    return ThrowErrno(env, errno, "mount_setattr", source.c_str());
  }
  return Napi::Number::New(env, tree.release());
}

}  // namespace berth
