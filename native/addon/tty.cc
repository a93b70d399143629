// tty.cc: ttySetSize(fd, rows, cols) -- TIOCSWINSZ on a terminal fd.
//
// For a foreground `run` / `exec --tty`: berth holds the pty master and copies the caller's
// terminal size onto it, at the start and on every SIGWINCH; the kernel then signals the
// container's foreground process group (SIGWINCH) itself. Node's tty module sets no size on
// an fd it did not open as a terminal of its own, hence this function.
#include <errno.h>
#include <sys/ioctl.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

namespace berth {

Napi::Value TtySetSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  int64_t rows = 0, cols = 0;
  if (!ArgFd(info, 0, "ttySetSize: fd", &fd) || !ArgInt(info, 1, "ttySetSize: rows", 0, 0xffff, &rows) ||
      !ArgInt(info, 2, "ttySetSize: cols", 0, 0xffff, &cols)) {
    return env.Undefined();
  }
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0) return ThrowErrno(env, errno, "ioctl");
  return env.Undefined();
}

}  // namespace berth
