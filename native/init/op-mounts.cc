// Mount ops: mountPropagation, mount, mountNoFollow, guardProcTarget, mountSetattr, maskPath,
// readonlyPath, remountRoot.
//
// Targets inside the container are resolved with open_in_root (no symlink may lead out of the
// rootfs) and handed to mount(2) as /proc/self/fd/N, so the path the kernel mounts on is
// exactly the one we checked, with no second lookup a rootfs could race (CVE-2021-30465).
// Until pivot_root, /proc here is the host's (or the parent's), which is all we need for our
// own fds; after it, the container's, which the plan mounts before any op that needs it.
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../common/linux.h"
#include "../common/mount-flags.h"
#include "run.h"

namespace berth {

namespace {

const char* or_null(const char* s) { return s[0] == '\0' ? nullptr : s; }

// Whether `fd` is the container root itself: a mount there hides the directory the root fd
// holds, so the root must be opened again to see the new mount.
bool is_root(Run& run, int fd) {
  struct stat a, b;
  int root = run.root_fd();
  if (root < 0 || fstat(fd, &a) != 0 || fstat(root, &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The path the kernel gives for an fd (its d_path in our mount namespace), or false.
bool fd_path(int fd, Text<4096>* out) {
  char buf[4096];
  ProcFdPath link(fd);
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  if (n < 0 || n == static_cast<ssize_t>(sizeof buf - 1)) return false;
  buf[n] = '\0';
  out->clear().add(buf);
  return !out->full();
}

}  // namespace

int check_proc_target(Run& run, int at) {
  if (!run.guard_proc_target) return 0;
  run.guard_proc_target = false;
  constexpr long kProcSuperMagic = 0x9fa0;
  struct statfs fs;
  if (fstatfs(at, &fs) != 0) return run.fail(errno);
  Text<4096> target, root;
  int root_fd = run.root_fd();
  if (root_fd < 0) return -1;
  if (!fd_path(at, &target) || !fd_path(root_fd, &root)) return run.fail(ENAMETOOLONG);
  // The root's path, without a trailing "/" (the root may be "/" itself).
  size_t rlen = root.size();
  if (rlen == 1 && root.c_str()[0] == '/') rlen = 0;
  const char* t = target.c_str();
  bool under_root = strncmp(t, root.c_str(), rlen) == 0 && (t[rlen] == '/' || t[rlen] == '\0');
  const char* inside = under_root ? t + rlen : t;
  bool in_proc = under_root && strncmp(inside, "/proc", 5) == 0 && (inside[5] == '/' || inside[5] == '\0');
  if (!in_proc && static_cast<long>(fs.f_type) != kProcSuperMagic) return 0;
  run.detail.add(": the target resolves to ").add(under_root && inside[0] != '\0' ? inside : t);
  if (!in_proc) run.detail.add(", on a procfs");
  return run.fail(EPERM);
}

// Propagation of a host-view mount, before anything else: "/" rslave (or rprivate) so that
// nothing we mount from here on propagates back to the host.
int op_mountPropagation(Run& run, const Op& op) {
  const char* target = op.args[0].s;
  unsigned long flags = static_cast<unsigned long>(op.args[1].i);
  run.doing("set mount propagation ");
  run.detail.hex(flags).add(" on ").add(target);
  if (mount(nullptr, target, nullptr, flags, nullptr) != 0) return run.fail(errno);
  return 0;
}

int op_mount(Run& run, const Op& op) {
  const char* source = op.args[0].s;
  const char* target = op.args[1].s;
  const char* fstype = op.args[2].s;
  unsigned long flags = static_cast<unsigned long>(op.args[3].i);
  const char* data = op.args[4].s;
  const char* shown = target[0] != '\0' ? target : "/";
  if ((flags & MS_REMOUNT) != 0) {
    run.doing("remount ", shown, " with flags ");
    run.detail.hex(flags);
  } else if (source[0] == '\0' && fstype[0] == '\0') {
    run.doing("set mount propagation ");
    run.detail.hex(flags).add(" on ").add(shown);
  } else {
    run.doing("mount ", source[0] != '\0' ? source : fstype, " on ", shown);
  }
  UniqueFd at;
  if (open_in_root(run, target, O_PATH, &at) != 0) return -1;
  if (check_proc_target(run, at.get()) != 0) return -1;
  bool on_root = is_root(run, at.get());
  ProcFdPath where(at.get());
  if (mount(or_null(source), where.c_str(), or_null(fstype), flags, or_null(data)) != 0) {
    int e = errno;
    // A bind remount replaces the mount's flags, and in a user namespace the ones the host set
    // (nosuid, nodev, noexec, the atime mode) are locked: EPERM unless they are kept. Retry
    // once carrying them forward, as runc does; "ro" stays what was asked.
    unsigned long current = 0;
    if (e != EPERM || (flags & (MS_REMOUNT | MS_BIND)) != (MS_REMOUNT | MS_BIND) || mount_flags_of(at.get(), &current) != 0) {
      return run.fail(e);
    }
    unsigned long atime = MS_NOATIME | MS_RELATIME | MS_STRICTATIME | MS_NODIRATIME;
    unsigned long keep = current & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if ((flags & atime) == 0) keep |= current & atime;
    if ((flags | keep) == flags || mount(nullptr, where.c_str(), nullptr, flags | keep, nullptr) != 0) return run.fail(e);
  }
  if (on_root) run.invalidate_root();
  return 0;
}

namespace {

// Opens the directory `path` of the container's root one component at a time, never following
// a symlink, and creates what is missing (mode 0755, as mkdirInRoot). A symlink on the way is
// refused with ELOOP, anything else that is not a directory with ENOTDIR, and the detail says
// which component it was (and where the symlink points) after what run.doing() began.
int open_real_dir_in_root(Run& run, const char* path, UniqueFd* out) {
  int root = run.root_fd();
  if (root < 0) return -1;
  UniqueFd dir(openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return run.fail(errno);
  Text<4096> walked;
  const char* p = path;
  for (;;) {
    while (*p == '/') p++;
    if (*p == '\0') break;
    const char* end = p;
    while (*end != '\0' && *end != '/') end++;
    Text<256> name;
    name.add(p, static_cast<size_t>(end - p));
    if (name.full()) return run.fail(ENAMETOOLONG);
    p = end;
    if (strcmp(name.c_str(), ".") == 0) continue;
    // The plan hands over clean absolute paths; ".." would need a walk back we do not do.
    if (strcmp(name.c_str(), "..") == 0) return run.fail(EINVAL);
    walked.add('/').add(name.c_str());
    // RESOLVE_NO_SYMLINKS on a single name: ELOOP if it is a symlink, whatever it points to.
    linux_abi::OpenHow how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = linux_abi::kResolveNoSymlinks | linux_abi::kResolveBeneath;
    long fd = syscall(__NR_openat2, dir.get(), name.c_str(), &how, sizeof how);
    if (fd < 0 && errno == ENOENT) {
      // Missing (a dangling symlink is not missing: it fails the open above with ELOOP).
      mode_t saved = umask(0);
      int made = mkdirat(dir.get(), name.c_str(), 0755);
      int e = errno;
      umask(saved);
      if (made != 0 && e != EEXIST) return run.fail(e);
      fd = syscall(__NR_openat2, dir.get(), name.c_str(), &how, sizeof how);
    }
    if (fd < 0) {
      int e = errno;
      if (e != ELOOP && e != ENOTDIR) return run.fail(e);
      struct stat st;
      bool link = fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
      run.detail.add(": ").add(walked.c_str()).add(link ? " is a symlink" : " is not a directory");
      if (link) {
        char target[256];
        ssize_t n = readlinkat(dir.get(), name.c_str(), target, sizeof target - 1);
        if (n >= 0) {
          target[n] = '\0';
          run.detail.add(" (to ").add(target).add(n == static_cast<ssize_t>(sizeof target - 1) ? "...)" : ")");
        }
      }
      return run.fail(link ? ELOOP : ENOTDIR);
    }
    dir.reset(static_cast<int>(fd));
  }
  *out = static_cast<UniqueFd&&>(dir);
  return 0;
}

}  // namespace

// mount, for the filesystems that must land exactly where the config says (proc and sysfs):
// the target is a real directory of the rootfs, reached without following any symlink, created
// if missing. Following one would put the kernel's view of every process, or of the devices,
// wherever the rootfs points, and leave the path the container and its masks use to something
// else (CVE-2019-19921). runc refuses a symlink or a non-directory as the last component; a
// symlink on the way is refused here too, as nothing legitimate needs one there.
int op_mountNoFollow(Run& run, const Op& op) {
  const char* source = op.args[0].s;
  const char* target = op.args[1].s;
  const char* fstype = op.args[2].s;
  unsigned long flags = static_cast<unsigned long>(op.args[3].i);
  const char* data = op.args[4].s;
  const char* shown = target[0] != '\0' ? target : "/";
  run.doing("mount ", source[0] != '\0' ? source : fstype, " on ", shown);
  UniqueFd at;
  if (open_real_dir_in_root(run, target, &at) != 0) return -1;
  bool on_root = is_root(run, at.get());
  // The directory the fd holds is the one just checked: the kernel mounts on it without a
  // second lookup, so a symlink swapped in meanwhile changes nothing.
  ProcFdPath where(at.get());
  if (mount(or_null(source), where.c_str(), or_null(fstype), flags, or_null(data)) != 0) return run.fail(errno);
  if (on_root) run.invalidate_root();
  return 0;
}

// The next mount or moveMount is a config mount whose target must not resolve into the
// container's /proc (the plan emits this right before it; see check_proc_target).
int op_guardProcTarget(Run& run, const Op&) {
  run.guard_proc_target = true;
  return 0;
}

int op_mountSetattr(Run& run, const Op& op) {
  const char* target = op.args[0].s;
  linux_abi::MountAttr attr{};
  attr.attr_set = static_cast<uint64_t>(op.args[1].i);
  attr.attr_clr = static_cast<uint64_t>(op.args[2].i);
  bool recursive = op.args[3].i != 0;
  run.doing("mount_setattr ", target[0] != '\0' ? target : "/", " set ");
  run.detail.hex(attr.attr_set).add(" clear ").hex(attr.attr_clr).add(recursive ? " recursive" : "");
  UniqueFd at;
  if (open_in_root(run, target, O_PATH, &at) != 0) return -1;
  unsigned int at_flags = AT_EMPTY_PATH | (recursive ? linux_abi::kAtRecursive : 0);
  if (syscall(__NR_mount_setattr, at.get(), "", at_flags, &attr, sizeof attr) != 0) return run.fail(errno);
  return 0;
}

// Hides a path from the container (linux.maskedPaths): a directory gets an empty read-only
// tmpfs on top, anything else the null device. A path the rootfs does not have needs no mask.
int op_maskPath(Run& run, const Op& op) {
  const char* path = op.args[0].s;
  run.doing("mask ", path);
  // ENOENT below means "no such path": a root that cannot be opened is a real failure.
  if (run.root_fd() < 0) return -1;
  UniqueFd at;
  if (open_in_root(run, path, O_PATH, &at) != 0) return run.err == ENOENT ? 0 : -1;
  struct stat st;
  if (fstat(at.get(), &st) != 0) return run.fail(errno);
  ProcFdPath where(at.get());
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", where.c_str(), "tmpfs", MS_RDONLY, "mode=0755") != 0) return run.fail(errno);
    return 0;
  }
  // The container's /dev/null must really be the null device, not a symlink or another file
  // the rootfs put there: we are about to bind it over a kernel interface, and a writable
  // stand-in would unmask it (CVE-2025-31133). O_NOFOLLOW: a symlink fails the check.
  run.doing("mask ", path, ": open /dev/null");
  UniqueFd null_dev;
  if (open_in_root(run, "/dev/null", O_PATH | O_NOFOLLOW, &null_dev) != 0) return -1;
  struct stat ns;
  if (fstat(null_dev.get(), &ns) != 0) return run.fail(errno);
  if (!S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3)) {
    run.detail.add(": not the null device (char 1:3)");
    return run.fail(EINVAL);
  }
  run.doing("mask ", path, " with /dev/null");
  ProcFdPath from(null_dev.get());
  if (mount(from.c_str(), where.c_str(), nullptr, MS_BIND, nullptr) != 0) return run.fail(errno);
  return 0;
}

// Makes a path read-only for the container (linux.readonlyPaths): bind it onto itself, then
// remount that bind read-only. A path the rootfs does not have is skipped.
int op_readonlyPath(Run& run, const Op& op) {
  const char* path = op.args[0].s;
  run.doing("bind ", path, " onto itself");
  if (run.root_fd() < 0) return -1;  // as in maskPath: only the path may be missing
  UniqueFd at;
  if (open_in_root(run, path, O_PATH, &at) != 0) return run.err == ENOENT ? 0 : -1;
  ProcFdPath where(at.get());
  if (mount(where.c_str(), where.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) return run.fail(errno);
  // `at` still holds the directory under the new mount; the remount must hit the new one.
  run.doing("remount ", path, " read-only");
  UniqueFd top;
  if (open_in_root(run, path, O_PATH, &top) != 0) return -1;
  unsigned long flags = 0;
  if (int r = mount_flags_of(top.get(), &flags); r < 0) return run.fail(-r);
  ProcFdPath top_path(top.get());
  if (mount(top_path.c_str(), top_path.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, nullptr) != 0) {
    return run.fail(errno);
  }
  return 0;
}

// After pivot_root: remount "/" with extra flags (root.readonly -> MS_RDONLY), keeping the
// flags it already has.
int op_remountRoot(Run& run, const Op& op) {
  unsigned long extra = static_cast<unsigned long>(op.args[0].i);
  run.doing("remount / with flags ");
  run.detail.hex(extra);
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return run.fail(errno);
  unsigned long flags = 0;
  if (int r = mount_flags_of(root.get(), &flags); r < 0) return run.fail(-r);
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | flags | extra, nullptr) != 0) return run.fail(errno);
  return 0;
}

}  // namespace berth
