// Namespace ops: setns, unshareTime, sethostname, setdomainname.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "run.h"

namespace berth {

// Joins an existing namespace (the config's `namespaces[].path`, opened by the parent).
int op_setns(Run& run, const Op& op) {
  int fd = static_cast<int>(op.args[0].i);
  int nstype = static_cast<int>(op.args[1].i);
  run.doing("setns fd ", fd, " type ");
  run.detail.hex(static_cast<uint32_t>(nstype));
  if (setns(fd, nstype) != 0) return run.fail(errno);
  close(fd);
  // A new mount namespace changes what the rootfs path names: resolve it again there.
  if (nstype == 0 || (nstype & CLONE_NEWNS) != 0) run.invalidate_root();
  return 0;
}

// A new time namespace with the config's offsets (config-linux.md "Offset for Time Namespace").
// unshare(CLONE_NEWTIME) changes only time_for_children; the offsets can be written until a
// process enters it, and our own execve of the user's program is what enters it. So: unshare,
// write, and let the exec op make it the container's clock. clone3(CLONE_NEWTIME) would put
// berth-init in it at once, and the offsets could no longer be set.
int op_unshareTime(Run& run, const Op& op) {
  run.doing("unshare a time namespace");
  if (unshare(CLONE_NEWTIME) != 0) return run.fail(errno);
  int64_t mono_s = op.args[0].i, mono_ns = op.args[1].i, boot_s = op.args[2].i, boot_ns = op.args[3].i;
  if (mono_s == 0 && mono_ns == 0 && boot_s == 0 && boot_ns == 0) return 0;
  // CLOCK_MONOTONIC is 1, CLOCK_BOOTTIME is 7 (the names work from 5.11; numbers always do).
  Text<128> text;
  text.add("1 ").add(mono_s).add(' ').add(mono_ns).add("\n7 ").add(boot_s).add(' ').add(boot_ns).add('\n');
  run.doing("write /proc/self/timens_offsets: ", text.c_str());
  UniqueFd fd(open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return run.fail(errno);
  ssize_t n = write(fd.get(), text.c_str(), text.size());
  if (n < 0) return run.fail(errno);
  if (static_cast<size_t>(n) != text.size()) return run.fail(EIO);
  return 0;
}

int op_sethostname(Run& run, const Op& op) {
  const Arg& name = op.args[0];
  run.doing("sethostname ", name.s);
  if (sethostname(name.s, name.len) != 0) return run.fail(errno);
  return 0;
}

int op_setdomainname(Run& run, const Op& op) {
  const Arg& name = op.args[0];
  run.doing("setdomainname ", name.s);
  if (setdomainname(name.s, name.len) != 0) return run.fail(errno);
  return 0;
}

}  // namespace berth
