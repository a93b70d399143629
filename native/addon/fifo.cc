// fifo.cc: the exec fifo. `create` makes it and passes it to berth-init opened O_RDWR, so
// berth-init's read blocks until `start` writes one byte (runc's exec.fifo, minus the
// blocking open). Node has no mkfifo.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "../common/unique-fd.h"

namespace berth {

// mkfifo(path, mode): the mode is subject to the umask, as with every file creation.
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  std::string path;
  int64_t mode = 0;
  if (!ArgPath(info, 0, "mkfifo: path", &path) || !ArgInt(info, 1, "mkfifo: mode", 0, 07777, &mode)) {
    return info.Env().Undefined();
  }
  if (mkfifo(path.c_str(), static_cast<mode_t>(mode)) != 0) return ThrowErrno(info.Env(), errno, "mkfifo", path.c_str());
  return info.Env().Undefined();
}

// openFifoRdwr(path): O_RDWR, which on Linux opens a fifo without waiting for a peer, and
// blocking (the flag is shared with berth-init's copy, whose read must block). Refuses
// anything but a fifo, and a symlink at the name.
Napi::Value OpenFifoRdwr(const Napi::CallbackInfo& info) {
  std::string path;
  if (!ArgPath(info, 0, "openFifoRdwr: path", &path)) return info.Env().Undefined();
  // O_PATH first: opening a device read-write could have effects before we could check.
  UniqueFd probe(open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!probe.valid()) return ThrowErrno(info.Env(), errno, "open", path.c_str());
  struct stat st;
  if (fstat(probe.get(), &st) != 0) return ThrowErrno(info.Env(), errno, "fstat", path.c_str());
  // O_PATH|O_NOFOLLOW opens a symlink itself: refuse it as open(O_NOFOLLOW) would.
  if (S_ISLNK(st.st_mode)) return ThrowErrno(info.Env(), ELOOP, "open", path.c_str());
  if (!S_ISFIFO(st.st_mode)) return ThrowErrno(info.Env(), ENXIO, "open", path.c_str());
  // Reopen through the O_PATH fd, so the fifo we checked is the one we open.
  char proc[40];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", probe.get());
  int fd = open(proc, O_RDWR | O_CLOEXEC);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "open", path.c_str());
  return Napi::Number::New(info.Env(), fd);
}

}  // namespace berth
