// Ops that create entries inside the container's root: mkdirInRoot, mknod, symlink.
//
// Each acts with an *at() call on a parent directory fd that open_in_root resolved, so the
// entry is created exactly there and its own name is never followed: a symlink the rootfs
// planted at that name cannot redirect the creation to the host.
//
// Modes are exact: the plan's mode is the final one, and the umask berth-init inherited is
// that of whoever ran berth, so it is cleared around each creation (the plan's own umask op
// sets the container's).
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

namespace berth {

namespace {

// Clears the umask for one scope.
class NoUmask {
 public:
  NoUmask() : saved_(umask(0)) {}
  ~NoUmask() { umask(saved_); }

 private:
  mode_t saved_;
};

}  // namespace

// Creates `path` and its missing parents as directories (or, with asFile, the last one as an
// empty regular file: a bind-mount target for a file). Existing entries are fine, whatever
// their mode. A symlink on the way is followed inside the root, also when its target does not
// exist yet: the target is created (in the root), as runc does for mount destinations such as
// /var/run -> /run.
int op_mkdirInRoot(Run& run, const Op& op) {
  const char* path = op.args[0].s;
  mode_t mode = static_cast<mode_t>(op.args[1].i) & 07777;
  bool as_file = op.args[2].i != 0;
  run.doing(as_file ? "create file " : "create directory ", path, " in the root");
  NoUmask no_umask;
  // The path still to walk. A dangling symlink met on the way is spliced in and the walk
  // starts over from the root; each prefix is resolved by open_in_root, so ".." and absolute
  // targets stay inside.
  Text<4096> todo;
  todo.add(path);
  for (int links = 0;; links++) {
    if (links > 40) return run.fail(ELOOP);  // as the kernel's MAXSYMLINKS
    if (todo.full()) return run.fail(ENAMETOOLONG);
    UniqueFd dir;
    if (open_in_root(run, "/", O_PATH | O_DIRECTORY, &dir) != 0) return -1;
    Text<4096> prefix;
    const char* p = todo.c_str();
    bool restart = false;
    while (!restart) {
      while (*p == '/') p++;
      if (*p == '\0') return 0;
      const char* end = p;
      while (*end != '\0' && *end != '/') end++;
      Text<256> name;
      name.add(p, static_cast<size_t>(end - p));
      if (name.full()) return run.fail(ENAMETOOLONG);
      const char* rest = end;
      while (*rest == '/') rest++;
      bool last = *rest == '\0';
      p = end;
      if (strcmp(name.c_str(), ".") == 0) continue;
      Text<4096> next;
      next.add(prefix.c_str()).add('/').add(name.c_str());
      if (next.full()) return run.fail(ENAMETOOLONG);
      bool file = last && as_file;

      UniqueFd found;
      if (open_in_root(run, next.c_str(), O_PATH | (file ? 0 : O_DIRECTORY), &found) == 0) {
        dir = static_cast<UniqueFd&&>(found);
        prefix.clear().add(next.c_str());
        continue;
      }
      if (run.err != ENOENT) return -1;
      // Missing: or a symlink whose target is missing. readlinkat on the parent fd reads the
      // link itself, never follows it.
      char target[4096];
      ssize_t n = readlinkat(dir.get(), name.c_str(), target, sizeof target - 1);
      if (n >= 0) {
        target[n] = '\0';
        Text<4096> spliced;
        if (target[0] != '/') spliced.add(prefix.c_str()).add('/');
        spliced.add(target).add('/').add(rest);
        todo.clear().add(spliced.c_str());
        restart = true;
        continue;
      }
      if (file) {
        // O_EXCL never follows a symlink at the name; EEXIST is a racing creator: fine.
        int fd = openat(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST) return run.fail(errno);
        if (fd >= 0) close(fd);
        return 0;
      }
      if (mkdirat(dir.get(), name.c_str(), mode) != 0 && errno != EEXIST) return run.fail(errno);
      if (open_in_root(run, next.c_str(), O_PATH | O_DIRECTORY, &found) != 0) return -1;
      dir = static_cast<UniqueFd&&>(found);
      prefix.clear().add(next.c_str());
    }
  }
}

// A device node (linux.devices, and the default /dev/null, /dev/zero, ...). `dev` is the
// userspace dev_t encoding (glibc's makedev). An existing entry is kept when it is the same
// node, or whatever it is when `keepExisting` (the default devices, as runc keeps them).
int op_mknod(Run& run, const Op& op) {
  const char* path = op.args[0].s;
  mode_t mode = static_cast<mode_t>(op.args[1].i);
  dev_t dev = static_cast<dev_t>(op.args[2].i);
  uid_t uid = static_cast<uid_t>(op.args[3].i);
  gid_t gid = static_cast<gid_t>(op.args[4].i);
  bool keep_existing = op.args[5].i != 0;
  run.doing("mknod ", path);
  UniqueFd parent;
  Text<256> name;
  if (open_parent_in_root(run, path, &parent, &name) != 0) return -1;
  {
    NoUmask no_umask;
    if (mknodat(parent.get(), name.c_str(), mode, dev) != 0) {
      if (errno != EEXIST) return run.fail(errno);
      if (keep_existing) return 0;
      // config-linux.md "Devices": an existing file that is not the requested device is an
      // error; the same node (type and numbers) is fine and kept as it is.
      struct stat st;
      if (fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return run.fail(errno);
      if ((st.st_mode & S_IFMT) != (mode & S_IFMT) || st.st_rdev != dev) {
        run.doing("mknod ", path, ": an entry that is not this device is already there");
        return run.fail(EEXIST);
      }
      return 0;
    }
  }
  run.doing("chown ", path, " to ", static_cast<long long>(uid), ":", static_cast<long long>(gid));
  if (fchownat(parent.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return run.fail(errno);
  return 0;
}

// A symlink (the /dev/fd, /dev/stdin, ... links). The target is stored as given, never
// resolved by us; an existing entry at the link's name is fine.
int op_symlink(Run& run, const Op& op) {
  const char* target = op.args[0].s;
  const char* link = op.args[1].s;
  run.doing("symlink ", link, " -> ", target);
  UniqueFd parent;
  Text<256> name;
  if (open_parent_in_root(run, link, &parent, &name) != 0) return -1;
  if (symlinkat(target, parent.get(), name.c_str()) != 0 && errno != EEXIST) return run.fail(errno);
  return 0;
}

}  // namespace berth
