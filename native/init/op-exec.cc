// checkExec and exec: finding and starting the container's process.
//
// Both search as execvp(3) does, with the container's PATH: a name with a '/' is used as it
// is, a bare name is looked up in each PATH entry in turn (an empty entry is "."). checkExec
// runs before `ready`, so a missing binary fails `create` with an error the parent can map to
// process.args[0], in runc's words, which engines match on (podman turns "executable file not
// found in $PATH" and "no such file or directory" into exit 127, "permission denied" into 126).
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "commands.h"
#include "io.h"
#include "run.h"

namespace berth {

namespace {

// When the process environment has no PATH: the usual default of container engines.
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool has_slash(const char* s) {
  for (; *s != '\0'; s++) {
    if (*s == '/') return true;
  }
  return false;
}

// Calls `visit(candidate)` for each PATH entry joined with `file`, until it returns false.
template <typename Visit>
void each_candidate(const char* path, const char* file, Visit visit) {
  const char* p = path;
  for (;;) {
    const char* end = p;
    while (*end != '\0' && *end != ':') end++;
    Text<4096> candidate;
    if (end == p) {
      candidate.add(".");
    } else {
      candidate.add(p, static_cast<size_t>(end - p));
    }
    candidate.add('/').add(file);
    if (!candidate.full() && !visit(candidate.c_str())) return;
    if (*end == '\0') return;
    p = end + 1;
  }
}

// 0 if `path` is a file we may execute, else the errno, as Go's exec.LookPath decides (runc's
// rules): a directory or a file with no x bit is EACCES; whether *we* may run it is left to
// execve. Only stat(2): a seccomp filter loaded before this op (without no_new_privs it must
// be, while berth-init still has CAP_SYS_ADMIN) may refuse newer calls such as faccessat2
// with EPERM, and a lookup must not fail for that.
int executable(const char* path) {
  struct stat st;
  if (stat(path, &st) != 0) return errno;
  if (S_ISDIR(st.st_mode) || (st.st_mode & 0111) == 0) return EACCES;
  return 0;
}

// glibc's message with a lower-case first letter, as Go (and so runc) words errno text.
void add_errno_text(Detail& d, int e) {
  const char* text = strerror(e);
  if (text[0] >= 'A' && text[0] <= 'Z') {
    d.add(static_cast<char>(text[0] - 'A' + 'a')).add(text + 1);
  } else {
    d.add(text);
  }
}

const char* path_of(char* const* envp) {
  for (; *envp != nullptr; envp++) {
    if (strncmp(*envp, "PATH=", 5) == 0) return *envp + 5;
  }
  return kDefaultPath;
}

}  // namespace

bool env_has_home(char* const* envp) {
  for (; *envp != nullptr; envp++) {
    if (strncmp(*envp, "HOME=", 5) == 0) return true;
  }
  return false;
}

// Lines of /etc/passwd are name:password:uid:gid:gecos:dir:shell.
void home_entry(uid_t uid, Text<4096>* out) {
  out->add("HOME=");
  int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  unsigned char* buf = nullptr;
  size_t len = 0;
  bool found = false;
  if (fd >= 0 && read_all(fd, 1 << 20, &buf, &len) == 0) {
    const char* p = reinterpret_cast<const char*>(buf);
    const char* end = p + len;
    while (p < end && !found) {
      const char* eol = static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p)));
      if (eol == nullptr) eol = end;
      const char* field[7] = {};
      size_t lens[7] = {};
      int n = 0;
      for (const char* f = p; n < 7 && f <= eol;) {
        const char* colon = static_cast<const char*>(memchr(f, ':', static_cast<size_t>(eol - f)));
        const char* stop = colon != nullptr ? colon : eol;
        field[n] = f;
        lens[n++] = static_cast<size_t>(stop - f);
        if (colon == nullptr) break;
        f = colon + 1;
      }
      if (n >= 6 && lens[2] > 0 && lens[5] > 0) {
        uid_t v = 0;
        bool digits = true;
        for (size_t i = 0; i < lens[2]; i++) {
          char c = field[2][i];
          if (c < '0' || c > '9') digits = false;
          v = v * 10 + static_cast<uid_t>(c - '0');
        }
        if (digits && v == uid) {
          out->add(field[5], lens[5]);
          found = true;
        }
      }
      p = eol + 1;
    }
  }
  if (fd >= 0) close(fd);
  free(buf);
  if (!found) out->add("/");
}

int op_checkExec(Run& run, const Op& op) {
  const char* file = op.args[0].s;
  const char* path = op.args[1].s;
  run.doing("exec: \"", file, "\"");
  if (file[0] != '\0' && has_slash(file)) {
    int e = executable(file);
    if (e == 0) return 0;
    if (e == EACCES) {
      run.detail.add(": permission denied");
    } else {
      run.detail.add(": stat ").add(file).add(": ");
      add_errno_text(run.detail, e);
    }
    return run.fail(e);
  }
  bool found = false, denied = false;
  if (file[0] != '\0') {
    each_candidate(path, file, [&](const char* candidate) {
      int e = executable(candidate);
      found = e == 0;
      denied = denied || e == EACCES;
      return !found;
    });
  }
  if (found) return 0;
  if (denied) {
    run.detail.add(": permission denied");
    return run.fail(EACCES);
  }
  run.detail.add(": executable file not found in $PATH");
  return run.fail(ENOENT);
}

// The last op: replace berth-init with the container's process (process.args, process.env).
// Fds >= the plan's fd are close-on-exec (cmd-run.cc), so only the plan's fds 0..n-1 that no
// op closed reach the process.
int op_exec(Run& run, const Op& op) {
  const char* file = op.args[0].s;
  char* const* argv = op.args[1].strs;
  char* const* envp = op.args[2].strs;
  run.doing("exec \"", file, "\"");
  // No HOME in process.env: the user's home from the container's passwd, as runc does.
  Text<4096> home;
  char** with_home = nullptr;
  if (!env_has_home(envp)) {
    home_entry(getuid(), &home);
    size_t n = 0;
    while (envp[n] != nullptr) n++;
    with_home = static_cast<char**>(calloc(n + 2, sizeof(char*)));
    if (with_home != nullptr) {
      for (size_t i = 0; i < n; i++) with_home[i] = envp[i];
      with_home[n] = const_cast<char*>(home.c_str());
      envp = with_home;
    }
  }
  int err = ENOENT;
  if (file[0] != '\0' && has_slash(file)) {
    execve(file, argv, envp);
    err = errno;
  } else if (file[0] != '\0') {
    // As execvpe: go on past entries where the file is missing or not for us; any other error
    // (ENOEXEC, E2BIG, ...) is the answer.
    bool denied = false;
    each_candidate(path_of(envp), file, [&](const char* candidate) {
      execve(candidate, argv, envp);
      err = errno;
      if (err == EACCES) denied = true;
      return err == ENOENT || err == ENOTDIR || err == EACCES || err == ESTALE || err == ENODEV || err == ETIMEDOUT;
    });
    if (denied && (err == ENOENT || err == ENOTDIR)) err = EACCES;
  }
  if (run.sync_fd >= 0 && !run.ready_sent) return run.fail(err);
  // After `ready` the parent may be gone, and `start` has returned already: the container's
  // stderr is the one place left to say it. The parent, if still there, hears it too.
  if (run.sync_fd >= 0) sync_send(run.sync_fd, abi::kSyncError, -1, err, run.detail.c_str());
  Text<512> line;
  line.add("berth-init: exec \"").add(file).add("\": ").add(strerror(err)).add('\n');
  write_str(STDERR_FILENO, line.c_str());
  _exit(kExitExecFailed);
}

}  // namespace berth
