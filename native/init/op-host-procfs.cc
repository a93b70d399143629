// hideHostProcfs: for --no-pivot, the host's procfs and sysfs mounts leave the container's
// mount namespace before the rootfs is moved over "/".
//
// Why. procfs and sysfs show far more than a container should see, so in a mount namespace
// owned by a user namespace the kernel mounts a new one only if an instance of the same type is
// already "fully visible" in that namespace: mounted at its root, with nothing locked on it that
// covers more than an empty directory (fs/namespace.c, mount_too_revealing). Mounts copied into
// a namespace made inside the container are all locked, so there the container's own /proc and
// /sys, masked paths on them, do not count, and `unshare -Urmpf mount -t proc ...` is refused.
// pivot_root plus the unmount of the old root leaves nothing else. --no-pivot only moves the
// rootfs over "/" and chroots: every host mount stays in the namespace underneath, unreachable
// by path but still counted, and the host's bare /proc made that nested mount succeed, an
// unmasked procfs for any user in the container.
//
// So every procfs and sysfs mount at its filesystem's root and outside the rootfs is detached
// (MNT_DETACH: nothing of ours uses it, and the plan's first op made "/" rslave or rprivate, so
// the host keeps its own). Where the kernel refuses, a mount locked because it came from a more
// privileged namespace (a container with a user namespace), an empty read-only tmpfs covers it
// instead: a namespace made inside gets that cover locked, so the mount under it no longer
// counts either. (In the container's own namespace the cover is not locked, but there the
// container's /proc is fully visible anyway, as it is after pivot_root.) runc does the same
// before its move.
//
// The mount table is read again after each change, the deepest match first (a cover on a
// parent would make a child unreachable by path), so each step acts on a mount that is still
// there. mountinfo is read through an fd of /proc opened first: the host's /proc may be one of
// the mounts detached, and a detached mount stays usable through an fd that holds it.
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "run.h"

namespace berth {

namespace {

// The mounts covered rather than detached: they stay in the table, and are not matches again.
constexpr int kMaxCovered = 256;

struct Match {
  long id = -1;
  Text<16> fstype;
  Text<4096> mount_point;
};

// The next field of a mountinfo line, from *p (space-separated); *p moves past it.
const char* next_field(char** p) {
  char* s = *p;
  while (*s == ' ') s++;
  char* start = s;
  while (*s != '\0' && *s != ' ') s++;
  if (*s == ' ') *s++ = '\0';
  *p = s;
  return start;
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
void unescape_into(const char* s, Text<4096>* out) {
  out->clear();
  for (size_t i = 0; s[i] != '\0'; i++) {
    if (s[i] == '\\' && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out->add(static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0')));
      i += 3;
    } else {
      out->add(s[i]);
    }
  }
}

bool under(const char* path, const char* dir) {
  size_t n = strlen(dir);
  if (n == 1 && dir[0] == '/') return true;
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool covered_already(const long* covered, int count, long id) {
  for (int i = 0; i < count; i++) {
    if (covered[i] == id) return true;
  }
  return false;
}

// One mountinfo line: a procfs or sysfs at its root, outside `rootfs`, not covered yet?
void consider(char* line, const char* rootfs, const long* covered, int count, Match* last) {
  char* p = line;
  const char* id = next_field(&p);
  next_field(&p);  // parent id
  next_field(&p);  // major:minor
  const char* root = next_field(&p);
  const char* mount_point = next_field(&p);
  // Optional fields until the lone "-", then the filesystem type.
  const char* f;
  do {
    f = next_field(&p);
  } while (f[0] != '\0' && strcmp(f, "-") != 0);
  const char* fstype = next_field(&p);
  if (strcmp(root, "/") != 0 || (strcmp(fstype, "proc") != 0 && strcmp(fstype, "sysfs") != 0)) return;
  long n = 0;
  for (const char* d = id; *d >= '0' && *d <= '9'; d++) n = n * 10 + (*d - '0');
  if (covered_already(covered, count, n)) return;
  Text<4096> path;
  unescape_into(mount_point, &path);
  if (under(path.c_str(), rootfs)) return;
  last->id = n;
  last->fstype.clear().add(fstype);
  last->mount_point.clear().add(path.c_str());
}

// The last (deepest: mountinfo lists a mount after the one it sits on) match, in *out; out->id
// stays -1 when there is none. Returns 0, or -1 after run.fail().
int find_last(Run& run, int proc, const char* rootfs, const long* covered, int count, Match* out) {
  UniqueFd fd(openat(proc, "self/mountinfo", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return run.fail(errno);
  // Whole lines are parsed as they come; a partial one moves to the front for the next read.
  static char buf[65536];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd.get(), buf + have, sizeof buf - 1 - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return run.fail(errno);
    have += static_cast<size_t>(n);
    buf[have] = '\0';
    size_t start = 0;
    for (size_t i = start; i < have; i++) {
      if (buf[i] != '\n') continue;
      buf[i] = '\0';
      consider(buf + start, rootfs, covered, count, out);
      start = i + 1;
    }
    if (n == 0) {
      if (start < have) consider(buf + start, rootfs, covered, count, out);
      return 0;
    }
    // A line that fills the whole buffer cannot be a mountinfo line of this kernel.
    if (start == 0 && have == sizeof buf - 1) return run.fail(E2BIG);
    memmove(buf, buf + start, have - start);
    have -= start;
  }
}

}  // namespace

int op_hideHostProcfs(Run& run, const Op& op) {
  const char* rootfs = op.args[0].s;
  run.doing("hide the host's procfs and sysfs mounts: open /proc");
  UniqueFd proc(open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!proc.valid()) return run.fail(errno);
  // The rootfs as mountinfo spells it: the bundle's path may go through symlinks.
  run.doing("hide the host's procfs and sysfs mounts: resolve ", rootfs);
  UniqueFd dir(open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return run.fail(errno);
  Text<32> link;
  link.add("self/fd/").add(dir.get());
  char real[4096];
  ssize_t len = readlinkat(proc.get(), link.c_str(), real, sizeof real - 1);
  if (len < 0) return run.fail(errno);
  if (len == static_cast<ssize_t>(sizeof real - 1)) return run.fail(ENAMETOOLONG);
  real[len] = '\0';

  long covered[kMaxCovered];
  int count = 0;
  // Each round detaches or covers one mount; the bound only stops a table that keeps growing.
  for (int round = 0; round < 4096; round++) {
    run.doing("hide the host's procfs and sysfs mounts: read /proc/self/mountinfo");
    Match m;
    if (find_last(run, proc.get(), real, covered, count, &m) != 0) return -1;
    if (m.id < 0) return 0;
    run.doing("detach the host's ", m.fstype.c_str(), " mounted on ", m.mount_point.c_str());
    if (umount2(m.mount_point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    int e = errno;
    if (count == kMaxCovered) return run.fail(ENOSPC);
    covered[count++] = m.id;
    // Unreachable by path (its mount point was deleted on the host): nothing to reach it with.
    if (e == ENOENT) continue;
    if (e != EINVAL && e != EPERM) return run.fail(e);
    run.doing("cover the host's ", m.fstype.c_str(), " mounted on ", m.mount_point.c_str(), " with an empty tmpfs");
    if (mount("tmpfs", m.mount_point.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555") != 0) {
      return run.fail(errno);
    }
  }
  return run.fail(ELOOP);
}

}  // namespace berth
