// mount-flags.h: the per-mount flags of the mount an fd is on, as MS_* bits, for the addon and
// berth-init alike. A bind remount replaces all of them, and inside a user namespace the
// kernel refuses to clear the ones the host set (they are "locked"), so whoever remounts
// carries the current ones forward.
#ifndef BERTH_NATIVE_COMMON_MOUNT_FLAGS_H
#define BERTH_NATIVE_COMMON_MOUNT_FLAGS_H

#include <errno.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

namespace berth {

// 0 with *out set, or -errno.
inline int mount_flags_of(int fd, unsigned long* out) {
  struct statvfs st;
  if (fstatvfs(fd, &st) != 0) return -errno;
  unsigned long flags = 0;
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  *out = flags;
  return 0;
}

}  // namespace berth

#endif  // BERTH_NATIVE_COMMON_MOUNT_FLAGS_H
