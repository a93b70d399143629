// run.h: what the op handlers share in `berth-init run`.
//
// Every handler has the same shape:
//
//   int op_<name>(Run& run, const Op& op);
//
// It first says what it is about to do (`run.doing(...)`: "mount proc on /proc"), then does
// it, and on failure returns `run.fail(errno)`. cmd-run.cc turns that into one SyncRecord
// {kSyncError, opIndex, errno, detail} for the parent, which maps opIndex back to the config
// field the op came from. Handlers never print and never exit (except exec, which replaces
// the process).
#ifndef BERTH_NATIVE_INIT_RUN_H
#define BERTH_NATIVE_INIT_RUN_H

#include <errno.h>
#include <unistd.h>

#include "../abi/plan-abi.h"
#include "../common/unique-fd.h"
#include "plan.h"
#include "text.h"

namespace berth {

// "/proc/self/fd/<n>": how an fd opened safely (O_PATH, resolved inside the root) is handed to
// syscalls that only take paths, mount(2) above all. The kernel follows this magic link to
// exactly the file the fd holds, so the path is not looked up again.
class ProcFdPath {
 public:
  explicit ProcFdPath(int fd) { text_.add("/proc/self/fd/").add(fd); }
  const char* c_str() const { return text_.c_str(); }

 private:
  Text<32> text_;
};

using Detail = Text<sizeof(abi::SyncRecord::detail)>;

struct Run {
  int sync_fd = -1;  // closed by waitStart: after start nobody listens
  bool ready_sent = false;
  bool cwd_entered = false;  // chdirEarly entered process.cwd: chdir only checks it
  // The listener fd of a filter loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER (close-on-exec),
  // until op seccompListener hands it to the parent.
  int seccomp_listener = -1;
  // The init's pid as the host sees it (from the parent's answer to hooksSync), for the state
  // on a hook's stdin: in a new pid namespace getpid() is 1.
  long host_pid = 0;
  // The start-result fifo (op startResult): while set, a failure is also reported there as one
  // SyncRecord, for `berth start`, which waits on it (see op-hooks.cc).
  int start_result_fd = -1;
  // The slave side of the pty op openPty made (close-on-exec), until setCtty makes it the
  // process's controlling terminal and fds 0, 1, 2.
  int pty_slave = -1;
  // Set by op guardProcTarget, consumed by the next mount or moveMount: its target must not
  // resolve to the container's /proc or below it (see target_in_proc).
  bool guard_proc_target = false;

  // The container's root, for the "in root" paths of mkdirInRoot, mount, mknod, ... It is the
  // rootfs (host path) named by the plan's pivotRoot/chrootNoPivot op, or "/" when the plan has
  // neither (it runs in the root it was started in, e.g. an exec into a running container).
  // Opened lazily, at the first op that needs it, because the ops before (setns into a mount
  // namespace, the bind mount of the rootfs onto itself) change what the path names; and
  // reopened after anything that does so again (see invalidate_root).
  const char* root_path = "/";
  UniqueFd root;

  // The failure being reported.
  int err = 0;
  Detail detail;

  // Starts the description of what is being done ("mount proc on /proc"), kept for the error
  // record if it fails. Arguments are strings or integers.
  template <typename... Parts>
  void doing(const Parts&... parts) {
    detail.clear();
    (detail.add(parts), ...);
  }
  // Records errno `e` (0 becomes EINVAL: a failure must carry an errno) and returns -1.
  int fail(int e) {
    err = e != 0 ? e : EINVAL;
    return -1;
  }

  // The root dirfd (O_PATH|O_DIRECTORY), or -1 after fail().
  int root_fd();
  // Forget the root dirfd: the next in-root op reopens root_path.
  void invalidate_root() { root.reset(); }
};

// Opens `path`, interpreted inside the container's root, with openat2(RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS): ".." and absolute symlinks are clamped at the root, so a rootfs can
// never send us to a host path (the class of CVE-2019-19921, CVE-2021-30465). "" and "/" name
// the root itself. `flags` are open flags (O_PATH is typical); O_CLOEXEC is always added.
// Returns 0 and sets *out, or -1 after run.fail().
int open_in_root(Run& run, const char* path, int flags, UniqueFd* out);

// For a config bind mount's target, after op guardProcTarget (and clears the guard): 0 when
// `at` (resolved inside the root) is neither the root's /proc nor below it nor on a procfs;
// otherwise the detail says where it resolved to and it returns -1 after run.fail(EPERM).
// Covering a file of procfs (/proc/self/attr/exec, /proc/sys/...) would hand the container a
// stand-in for a kernel interface (CVE-2019-16884); a symlink in the rootfs can route a
// harmless-looking destination there, so the check is on what the target resolved to.
int check_proc_target(Run& run, int at);

// Splits `path` into its parent directory, opened inside the root as by open_in_root, and its
// last component (copied into `last`; never "", "." or ".."). For the handlers that create an
// entry: they act with *at() calls on the parent fd, so the last component is never followed.
int open_parent_in_root(Run& run, const char* path, UniqueFd* parent, Text<256>* last);

// Writes one SyncRecord to the sync socket (MSG_NOSIGNAL: a parent that went away must give
// us EPIPE, not kill us). Returns 0 or -errno.
int sync_send(int fd, uint32_t type, int32_t op_index, int32_t err, const char* detail);
// The same, with `pass_fd` attached as SCM_RIGHTS (the seccomp listener, the pty master).
int sync_send_fd(int fd, uint32_t type, const char* detail, int pass_fd);
// Reads one SyncRecord. Returns 0, -errno, or -EPIPE on EOF (the parent went away).
int sync_recv(int fd, abi::SyncRecord* out);
// Blocks for the parent's kSyncAck on run.sync_fd (into *rec, for what it carries). Returns 0,
// or -1 after run.fail() with what went wrong added to the detail run.doing() began.
int wait_ack(Run& run, abi::SyncRecord* rec);

// Whether `envp` sets HOME.
bool env_has_home(char* const* envp);
// "HOME=<dir>" for `uid` from /etc/passwd in the root we are in (the container's, after
// pivot_root), or "HOME=/" when the file or the user is missing: what runc gives a process
// whose env sets no HOME (op exec), and what its init passes on to startContainer hooks.
void home_entry(uid_t uid, Text<4096>* out);

// One handler per op, named after it. The table in cmd-run.cc is generated from plan-abi.h,
// so an op added there without a handler here does not link.
#define BERTH_X_DECLARE(tag, name, sig) int op_##name(Run& run, const Op& op);
BERTH_PLAN_OPS(BERTH_X_DECLARE)
#undef BERTH_X_DECLARE

}  // namespace berth

#endif  // BERTH_NATIVE_INIT_RUN_H
