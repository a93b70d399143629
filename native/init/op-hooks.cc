// The hook ops (runtime-spec config.md "POSIX-platform Hooks", runtime.md "Lifecycle"):
// hooksSync, runHook, startResult, startResultDone. The message diagram is at the top of
// cmd-run.cc; the parent's side is src/container/create-init.ts (kSyncHooks) and start.ts (the
// start-result fifo).
//
// Where each hook kind runs, and why here:
//   prestart, createRuntime   on the host, by the parent, while we wait in hooksSync: after
//                             the namespaces and mounts are made, before pivot_root.
//   createContainer           forked by us right after hooksSync: in the container's
//                             namespaces, but still in the host's root (before pivot_root),
//                             so its path is resolved in the runtime namespace (as runc does).
//   startContainer            forked by us after waitStart, just before exec: in the
//                             container, its path resolved in the container's root, with the
//                             process's credentials and seccomp filter (as runc does).
// A hook gets the container's state JSON on stdin, its stdout and stderr go to one pipe we
// read (the start of it goes into the failure detail), and it is killed when its timeout
// passes. It inherits no fd beyond 0-2. Its environment and working directory are the plan's
// (src/plan/build.ts: what runc's init gives these hooks): createContainer works in the
// rootfs, startContainer in process.cwd, where we already are; a startContainer hook without
// `env` also gets the HOME the process will get.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/linux.h"
#include "../common/retry.h"
#include "run.h"

namespace berth {

namespace {

long now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void set_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Appends what the hook printed, as one line (newlines become spaces, trailing space cut).
void add_output(Detail& d, const char* out, size_t n) {
  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\r')) n--;
  if (n == 0) return;
  d.add(": ");
  for (size_t i = 0; i < n; i++) d.add(out[i] == '\n' || out[i] == '\r' ? ' ' : out[i]);
}

}  // namespace

// Asks the parent to run the prestart and createRuntime hooks (on the host) and waits. The
// parent answers with kSyncAck carrying our host pid; a hook that fails makes the parent kill
// us instead (create rolls back).
int op_hooksSync(Run& run, const Op&) {
  run.doing("ask the parent to run the runtime's hooks");
  if (int r = sync_send(run.sync_fd, abi::kSyncHooks, -1, 0, ""); r < 0) return run.fail(-r);
  abi::SyncRecord rec;
  if (wait_ack(run, &rec) != 0) return -1;
  run.host_pid = rec.opIndex;
  return 0;
}

// Runs one hook: args path, argv, env, timeout (seconds, 0 = none), the state JSON minus its
// opening `{"pid":N,` (the plan is made before our pid is known), the working directory ("" =
// ours) and whether to add HOME when env has none. On failure the detail is the reason alone
// ("exit status 1", "timed out after 2 seconds"); the parent names the hook.
int op_runHook(Run& run, const Op& op) {
  const char* path = op.args[0].s;
  char* const* argv = op.args[1].strs;
  char* const* envp = op.args[2].strs;
  int64_t timeout = op.args[3].i;
  const char* rest = op.args[4].s;
  const char* dir = op.args[5].s;
  bool add_home = op.args[6].i != 0;
  run.doing("");
  if (access(path, X_OK) != 0) {
    int e = errno;
    run.detail.add("exec: ").add(strerror(e));
    return run.fail(e);
  }
  // Opened here, entered by the child: a directory we cannot enter fails the hook with a
  // reason that says so, and our own cwd stays where the next ops expect it.
  UniqueFd cwd;
  if (dir[0] != '\0') {
    cwd.reset(open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cwd.valid()) {
      int e = errno;
      run.detail.add("chdir ").add(dir).add(": ").add(strerror(e));
      return run.fail(e);
    }
  }
  Text<4096> home;
  char** with_home = nullptr;
  if (add_home && !env_has_home(envp)) {
    home_entry(getuid(), &home);
    size_t n = 0;
    while (envp[n] != nullptr) n++;
    with_home = static_cast<char**>(calloc(n + 2, sizeof(char*)));
    if (with_home == nullptr) return run.fail(ENOMEM);
    for (size_t i = 0; i < n; i++) with_home[i] = envp[i];
    with_home[n] = const_cast<char*>(home.c_str());
    envp = with_home;
  }
  struct FreeEnv {
    char** p;
    ~FreeEnv() { free(p); }
  } free_env{with_home};
  Text<64> head;
  head.add("{\"pid\":").add(run.host_pid).add(',');
  const char* parts[2] = {head.c_str(), rest};
  size_t lens[2] = {strlen(parts[0]), strlen(rest)};

  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return run.fail(errno);
  if (pipe2(out, O_CLOEXEC) != 0) {
    int e = errno;
    close(in[0]), close(in[1]);
    return run.fail(e);
  }
  // A hook that exits without reading its stdin must give us EPIPE, not kill us; the
  // disposition is restored below (an ignored signal stays ignored across execve).
  struct sigaction ign{}, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  // EAGAIN (a pids.max, RLIMIT_NPROC) may pass once an exited process is reaped: retried
  // briefly, then reported with what it means.
  pid_t pid = RetryEagain([] { return fork(); });
  if (pid < 0) {
    int e = errno;
    sigaction(SIGPIPE, &old, nullptr);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    run.detail.add("fork");
    if (e == EAGAIN) run.detail.add(kEagainForkHint);
    return run.fail(e);
  }
  if (pid == 0) {
    sigaction(SIGPIPE, &old, nullptr);
    // dup2 clears close-on-exec on the copies; every other fd is closed.
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    if (cwd.valid() && fchdir(cwd.get()) != 0) {
      const char* msg = strerror(errno);
      if (write(STDERR_FILENO, "chdir: ", 7) >= 0 && write(STDERR_FILENO, msg, strlen(msg)) >= 0) {
      }
      _exit(127);
    }
    syscall(__NR_close_range, 3, ~0U, 0);
    char* fallback[] = {const_cast<char*>(path), nullptr};
    execve(path, argv[0] != nullptr ? argv : fallback, envp);
    const char* msg = strerror(errno);
    if (write(STDERR_FILENO, "exec: ", 6) >= 0 && write(STDERR_FILENO, msg, strlen(msg)) >= 0) {
    }
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  UniqueFd to(in[1]), from(out[0]);
  set_nonblock(to.get());
  set_nonblock(from.get());
  // A pidfd tells us when the hook exits even if a child of its own holds the pipe open.
  // Without one (old kernel, a seccomp filter that refuses it) the pipe's EOF has to do.
  UniqueFd pidfd(static_cast<int>(syscall(__NR_pidfd_open, pid, 0)));
  long deadline = timeout > 0 ? now_ms() + timeout * 1000 : 0;
  char output[160];
  size_t got = 0;
  int part = 0;
  size_t off = 0;
  bool exited = false, timed_out = false, eof = false;
  while (!exited && !(eof && !pidfd.valid())) {
    pollfd fds[3];
    int n = 0, pid_at = -1, out_at = -1, in_at = -1;
    if (pidfd.valid()) fds[pid_at = n++] = {pidfd.get(), POLLIN, 0};
    if (!eof) fds[out_at = n++] = {from.get(), POLLIN, 0};
    if (to.valid()) fds[in_at = n++] = {to.get(), POLLOUT, 0};
    int wait = -1;
    if (deadline) {
      long left = deadline - now_ms();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      wait = static_cast<int>(left);
    }
    int r = poll(fds, static_cast<nfds_t>(n), wait);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (out_at >= 0 && fds[out_at].revents != 0) {
      char buf[512];
      ssize_t k = read(from.get(), buf, sizeof buf);
      // EOF; or an error other than "no data after all" (EAGAIN) or a signal (EINTR), which
      // poll would report again at once: stop watching rather than spin on it.
      if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) eof = true;
      if (k > 0) {
        size_t keep = static_cast<size_t>(k) < sizeof output - got ? static_cast<size_t>(k) : sizeof output - got;
        memcpy(output + got, buf, keep);
        got += keep;
      }
    }
    if (in_at >= 0 && fds[in_at].revents != 0) {
      ssize_t k = write(to.get(), parts[part] + off, lens[part] - off);
      if (k < 0 && errno != EAGAIN && errno != EINTR) {
        to.reset();  // EPIPE: the hook does not read its stdin; that is its business
      } else if (k > 0) {
        off += static_cast<size_t>(k);
        if (off == lens[part]) off = 0, part++;
        if (part == 2) to.reset();  // EOF on the hook's stdin: the state is complete
      }
    }
    if (pid_at >= 0 && (fds[pid_at].revents & POLLIN) != 0) exited = true;
  }
  sigaction(SIGPIPE, &old, nullptr);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // What is left in the pipe (the hook is gone; a child of it may still write: do not wait).
  for (;;) {
    char buf[512];
    ssize_t k = RetryEintr([&] { return read(from.get(), buf, sizeof buf); });
    if (k <= 0) break;  // EOF, or EAGAIN: a child of the hook still holds the pipe
    size_t keep = static_cast<size_t>(k) < sizeof output - got ? static_cast<size_t>(k) : sizeof output - got;
    memcpy(output + got, buf, keep);
    got += keep;
  }
  if (timed_out) {
    run.detail.add("timed out after ").add(timeout).add(timeout == 1 ? " second" : " seconds");
    add_output(run.detail, output, got);
    return run.fail(ETIMEDOUT);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status)) {
    run.detail.add("exit status ").add(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    run.detail.add("killed by signal ").add(WTERMSIG(status));
  } else {
    run.detail.add("ended with wait status ").add(status);
  }
  add_output(run.detail, output, got);
  return run.fail(ECANCELED);
}

// From here on a failure is also reported on the start-result fifo, which `berth start`
// reads: the startContainer hooks run after it has written the exec fifo.
int op_startResult(Run& run, const Op& op) {
  run.start_result_fd = static_cast<int>(op.args[0].i);
  return 0;
}

// The startContainer hooks passed: closing our (only) write end gives `berth start` EOF.
int op_startResultDone(Run& run, const Op&) {
  run.doing("close the start-result fifo");
  int fd = run.start_result_fd;
  run.start_result_fd = -1;
  if (fd >= 0 && close(fd) != 0 && errno == EBADF) return run.fail(errno);
  return 0;
}

}  // namespace berth
