// scm-rights.cc: unixSendFd(path, payload, fd) -- one message with one fd, to a listening
// AF_UNIX SOCK_STREAM socket, on a connection of its own.
//
// For linux.seccomp.listenerPath (config-linux.md "Seccomp"): the runtime sends the container
// process state with the seccomp listener fd attached (SCM_RIGHTS), "exactly one container
// process state per connection", and closes the connection. Node's net module cannot attach
// fds to a message, hence this function. The caller closes its own copy of `fd`.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "../common/unique-fd.h"

namespace berth {

Napi::Value UnixSendFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int fd = -1;
  if (!ArgPath(info, 0, "unixSendFd: path", &path)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBuffer()) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "unixSendFd: payload must be a Buffer");
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> payload = info[1].As<Napi::Buffer<uint8_t>>();
  if (!ArgFd(info, 2, "unixSendFd: fd", &fd)) return env.Undefined();
  if (payload.Length() == 0) {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", "unixSendFd: payload must not be empty");
    return env.Undefined();
  }

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // sun_path holds 107 bytes and a NUL; a longer path cannot be connected to by name.
  if (path.size() >= sizeof addr.sun_path) return ThrowErrno(env, ENAMETOOLONG, "connect", path.c_str());
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  UniqueFd sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return ThrowErrno(env, errno, "socket");
  int rc;
  do {
    rc = connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return ThrowErrno(env, errno, "connect", path.c_str());

  union {
    char buf[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  size_t done = 0;
  bool fd_sent = false;
  while (done < payload.Length()) {
    iovec iov = {payload.Data() + done, payload.Length() - done};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // The fd rides with the first byte; a short send continues without it.
    if (!fd_sent) {
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    }
    // MSG_NOSIGNAL: an agent that hung up is EPIPE here, not a SIGPIPE for Node.
    ssize_t n = sendmsg(sock.get(), &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ThrowErrno(env, errno, "sendmsg", path.c_str());
    fd_sent = true;
    done += static_cast<size_t>(n);
  }
  return env.Undefined();
}

}  // namespace berth
