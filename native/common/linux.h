// linux.h: kernel ABI that libc headers may lack, shared by the addon and berth-init.
//
// We build against Debian 12 (glibc 2.36, uapi 6.1) but must not depend on a libc wrapper
// or uapi struct being present: glibc gained wrappers for some of these only recently, and
// <linux/mount.h> clashes with <sys/mount.h> on some glibc versions. So the few structs we
// pass to the kernel are declared here with their kernel layout (all members are __u64 and
// append-only, so the layout is the same on every architecture), and every call goes
// through syscall(2).
//
// Syscall numbers from 424 on are the same on every architecture (the unified table),
// except alpha, which Node does not run on.
#ifndef BERTH_NATIVE_COMMON_LINUX_H
#define BERTH_NATIVE_COMMON_LINUX_H

#include <stdint.h>
#include <sys/syscall.h>

#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif

namespace berth {
namespace linux_abi {

// struct open_how (openat2, 5.6).
struct OpenHow {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
constexpr uint64_t kResolveNoXdev = 0x01;
constexpr uint64_t kResolveNoMagiclinks = 0x02;
constexpr uint64_t kResolveNoSymlinks = 0x04;
constexpr uint64_t kResolveBeneath = 0x08;
constexpr uint64_t kResolveInRoot = 0x10;

// struct mount_attr (mount_setattr, 5.12).
struct MountAttr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
constexpr unsigned int kAtRecursive = 0x8000;  // AT_RECURSIVE
constexpr uint64_t kMountAttrIdmap = 0x00100000;  // MOUNT_ATTR_IDMAP

// open_tree(2) and move_mount(2) flags (5.2).
constexpr unsigned int kOpenTreeClone = 1;           // OPEN_TREE_CLONE
constexpr unsigned int kOpenTreeCloexec = 02000000;  // OPEN_TREE_CLOEXEC (= O_CLOEXEC)
constexpr unsigned int kMoveMountFEmptyPath = 0x4;   // MOVE_MOUNT_F_EMPTY_PATH
constexpr unsigned int kMoveMountTEmptyPath = 0x40;  // MOVE_MOUNT_T_EMPTY_PATH

// struct clone_args (clone3, 5.3; `cgroup` since 5.7, size VER2 = 88 bytes).
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
static_assert(sizeof(CloneArgs) == 88, "clone_args VER2 is 88 bytes");
constexpr uint64_t kClonePidfd = 0x00001000;          // CLONE_PIDFD
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;  // CLONE_INTO_CGROUP (5.7)

// close_range(2) flags (5.9, CLOEXEC since 5.11).
constexpr unsigned int kCloseRangeCloexec = 1U << 2;

// memfd_create(2) flags for the vm.memfd_noexec sysctl (6.3). Older kernels reject them with
// EINVAL, so callers retry without.
constexpr unsigned int kMfdNoexecSeal = 0x0008U;
constexpr unsigned int kMfdExec = 0x0010U;

}  // namespace linux_abi
}  // namespace berth

#endif  // BERTH_NATIVE_COMMON_LINUX_H
