// Entering the container's root: pivotRoot (the normal way) and chrootNoPivot (for a rootfs
// on a ramfs/initramfs, where pivot_root is refused; less isolating, hence opt-in).
//
// Both expect the rootfs to be a mount point already: the plan bind-mounts it onto itself
// earlier (op mount with target "/"), and has made "/" rslave or rprivate before that, so
// neither the new mounts nor the old root's unmount propagate to the host.
//
// chroot is for a container without a mount namespace of its own (and an exec into one): the
// mount namespace is the host's, so neither pivot_root nor a move of "/" may touch it; the
// process only changes its root directory.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run.h"

namespace berth {

namespace {

// After the switch, "in root" paths are plain container paths again.
void root_is_slash(Run& run) {
  run.root_path = "/";
  run.invalidate_root();
}

}  // namespace

int op_pivotRoot(Run& run, const Op& op) {
  const char* rootfs = op.args[0].s;
  run.doing("enter rootfs ", rootfs);
  UniqueFd dir(open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!dir.valid() || fchdir(dir.get()) != 0) return run.fail(errno);
  // pivot_root(".", "."): the new root becomes "/" and the old root ends up mounted on top of
  // it, at the same place; no directory for it (the classic put_old) is needed in the rootfs,
  // so a read-only rootfs works as well (see pivot_root(2), NOTES).
  run.doing("pivot_root to ", rootfs);
  if (syscall(SYS_pivot_root, ".", ".") != 0) return run.fail(errno);
  // No "make . rslave" here (runc does one): "." names the new root, not the old one stacked
  // on it (only umount2 looks through to the top mount), so it would reset the propagation of
  // every container mount the config made shared or unbindable. It is not needed either: the
  // plan's first op made the whole namespace rslave or rprivate, the old root included, so its
  // unmount cannot propagate to the host.
  run.doing("detach the old root");
  if (umount2(".", MNT_DETACH) != 0) return run.fail(errno);
  run.doing("chdir / after pivot_root");
  if (chdir("/") != 0) return run.fail(errno);
  root_is_slash(run);
  return 0;
}

int op_chrootNoPivot(Run& run, const Op& op) {
  const char* rootfs = op.args[0].s;
  run.doing("enter rootfs ", rootfs);
  UniqueFd dir(open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!dir.valid() || fchdir(dir.get()) != 0) return run.fail(errno);
  // Move the rootfs mount over "/" (the old root stays underneath, unreachable after the
  // chroot), then make it our root.
  run.doing("move the mount ", rootfs, " to /");
  if (mount(rootfs, "/", nullptr, MS_MOVE, nullptr) != 0) return run.fail(errno);
  run.doing("chroot to ", rootfs);
  if (chroot(".") != 0) return run.fail(errno);
  if (chdir("/") != 0) return run.fail(errno);
  root_is_slash(run);
  return 0;
}

int op_chroot(Run& run, const Op& op) {
  const char* root = op.args[0].s;
  run.doing("enter root ", root);
  UniqueFd dir(open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!dir.valid() || fchdir(dir.get()) != 0) return run.fail(errno);
  run.doing("chroot to ", root);
  if (chroot(".") != 0) return run.fail(errno);
  if (chdir("/") != 0) return run.fail(errno);
  root_is_slash(run);
  return 0;
}

}  // namespace berth
