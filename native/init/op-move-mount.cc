// moveMount: attach a detached mount tree the parent made (an idmapped bind: open_tree +
// mount_setattr(MOUNT_ATTR_IDMAP), which need CAP_SYS_ADMIN over the source's filesystem, so
// the parent does them before we may be in a user namespace) at a path inside the root.
//
// The target is resolved with open_in_root like every mount target, and move_mount(2) takes
// it as an fd (MOVE_MOUNT_T_EMPTY_PATH): the tree lands exactly on the directory we checked.
#include <fcntl.h>
#include <unistd.h>

#include "../common/linux.h"
#include "run.h"

namespace berth {

int op_moveMount(Run& run, const Op& op) {
  UniqueFd tree(static_cast<int>(op.args[0].i));  // ours now: closed however this ends
  const char* target = op.args[1].s;
  run.doing("move_mount fd ", tree.get(), " on ", target[0] != '\0' ? target : "/");
  UniqueFd at;
  if (open_in_root(run, target, O_PATH, &at) != 0) return -1;
  if (check_proc_target(run, at.get()) != 0) return -1;
  if (syscall(__NR_move_mount, tree.get(), "", at.get(), "",
              linux_abi::kMoveMountFEmptyPath | linux_abi::kMoveMountTEmptyPath) != 0) {
    return run.fail(errno);
  }
  return 0;
}

}  // namespace berth
