// Namespace ops: setns, sethostname, setdomainname.
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
