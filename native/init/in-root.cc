// in-root.cc: resolving container paths without leaving the container's root, and the sync
// socket's record I/O.
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../common/linux.h"
#include "../common/retry.h"
#include "run.h"

namespace berth {

int Run::root_fd() {
  if (!root.valid()) {
    int fd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      detail.add(" (opening the container root ").add(root_path).add(")");
      return fail(e);
    }
    root.reset(fd);
  }
  return root.get();
}

namespace {

long openat2(int dirfd, const char* path, linux_abi::OpenHow* how) {
  return syscall(__NR_openat2, dirfd, path, how, sizeof *how);
}

}  // namespace

int open_in_root(Run& run, const char* path, int flags, UniqueFd* out) {
  // Keep the caller's description: on failure the detail says what was being done, and this
  // function only adds the errno.
  int root = run.root_fd();
  if (root < 0) return -1;
  // The root itself. openat2 has no AT_EMPTY_PATH, and "/" under RESOLVE_IN_ROOT is the root.
  if (path[0] == '\0') path = "/";
  linux_abi::OpenHow how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = linux_abi::kResolveInRoot | linux_abi::kResolveNoMagiclinks;
  for (int attempt = 0;; attempt++) {
    long fd = openat2(root, path, &how);
    if (fd >= 0) {
      out->reset(static_cast<int>(fd));
      return 0;
    }
    // EAGAIN: a rename raced with a ".." walk and the kernel could not prove the result stays
    // inside the root. Retrying is what the man page asks for; give up after a few.
    if (errno == EAGAIN && attempt < 16) continue;
    return run.fail(errno);
  }
}

int open_parent_in_root(Run& run, const char* path, UniqueFd* parent, Text<256>* last) {
  // Copy, dropping trailing slashes ("a/b/" creates "b" in "a").
  Text<4096> dir;
  dir.add(path);
  if (dir.full()) return run.fail(ENAMETOOLONG);
  size_t len = dir.size();
  const char* p = dir.c_str();
  while (len > 0 && p[len - 1] == '/') len--;
  size_t slash = len;
  while (slash > 0 && p[slash - 1] != '/') slash--;
  last->clear().add(p + slash, len - slash);
  if (last->size() == 0 || strcmp(last->c_str(), ".") == 0 || strcmp(last->c_str(), "..") == 0) {
    return run.fail(EINVAL);
  }
  if (last->full()) return run.fail(ENAMETOOLONG);
  Text<4096> parent_path;
  parent_path.add(p, slash);
  return open_in_root(run, parent_path.c_str(), O_PATH | O_DIRECTORY, parent);
}

int sync_send(int fd, uint32_t type, int32_t op_index, int32_t err, const char* detail) {
  abi::SyncRecord rec;
  memset(&rec, 0, sizeof rec);
  rec.type = type;
  rec.opIndex = op_index;
  rec.err = err;
  if (detail != nullptr) {
    size_t n = strlen(detail);
    if (n > sizeof rec.detail - 1) n = sizeof rec.detail - 1;
    memcpy(rec.detail, detail, n);
  }
  ssize_t n = RetryEintr([&] { return send(fd, &rec, sizeof rec, MSG_NOSIGNAL); });
  // Not a socket (a test may hand us a pipe): plain write. SIGPIPE is at its default here,
  // but a pipe with no reader only happens if the parent is gone, and then nobody is left
  // to tell anyway. (A record is smaller than PIPE_BUF: written whole or not at all.)
  if (n < 0 && errno == ENOTSOCK) n = RetryEintr([&] { return write(fd, &rec, sizeof rec); });
  if (n < 0) return -errno;
  // SOCK_SEQPACKET: one record is one message, all or nothing.
  return n == static_cast<ssize_t>(sizeof rec) ? 0 : -EIO;
}

int sync_send_fd(int fd, uint32_t type, const char* detail, int pass_fd) {
  abi::SyncRecord rec;
  memset(&rec, 0, sizeof rec);
  rec.type = type;
  rec.opIndex = -1;
  if (detail != nullptr) {
    size_t n = strlen(detail);
    if (n > sizeof rec.detail - 1) n = sizeof rec.detail - 1;
    memcpy(rec.detail, detail, n);
  }
  iovec iov = {&rec, sizeof rec};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof pass_fd);
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    return n == static_cast<ssize_t>(sizeof rec) ? 0 : -EIO;
  }
}

int sync_recv(int fd, abi::SyncRecord* out) {
  for (;;) {
    ssize_t n = read(fd, out, sizeof *out);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return -EPIPE;
    return n == static_cast<ssize_t>(sizeof *out) ? 0 : -EPROTO;
  }
}

}  // namespace berth
