// Identity and privilege: setgroups, setresgid, setresuid, keepCaps, capBounding, capset,
// capAmbient, noNewPrivs.
//
// The plan orders them as the kernel requires (runc does the same): the bounding set is
// dropped while we still have CAP_SETPCAP; keepCaps before setresuid, so that changing from
// uid 0 keeps the permitted set; capset after the uid change (which cleared the effective
// set); ambient last, since raising one needs it in both permitted and inheritable.
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run.h"

namespace berth {

namespace {

// The highest capability this kernel knows: PR_CAPBSET_READ says EINVAL past it. Asking the
// kernel (not /proc/sys/kernel/cap_last_cap) works whatever /proc is mounted at this point.
int last_cap() {
  int cap = 0;
  while (cap < 63 && prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0) cap++;
  return cap;
}

bool has(int64_t mask, int cap) { return (static_cast<uint64_t>(mask) >> cap & 1) != 0; }

}  // namespace

int op_setgroups(Run& run, const Op& op) {
  const Arg& list = op.args[0];
  run.doing("setgroups (", list.len, " groups)");
  gid_t* gids = static_cast<gid_t*>(malloc((list.len == 0 ? 1 : list.len) * sizeof(gid_t)));
  if (gids == nullptr) return run.fail(ENOMEM);
  for (uint32_t k = 0; k < list.len; k++) gids[k] = static_cast<gid_t>(list.ints[k]);
  int r = setgroups(list.len, gids);
  int e = errno;
  free(gids);
  return r != 0 ? run.fail(e) : 0;
}

int op_setresgid(Run& run, const Op& op) {
  gid_t gid = static_cast<gid_t>(op.args[0].i);
  run.doing("setresgid ", static_cast<unsigned long long>(gid));
  if (setresgid(gid, gid, gid) != 0) return run.fail(errno);
  return 0;
}

int op_setresuid(Run& run, const Op& op) {
  uid_t uid = static_cast<uid_t>(op.args[0].i);
  run.doing("setresuid ", static_cast<unsigned long long>(uid));
  if (setresuid(uid, uid, uid) != 0) return run.fail(errno);
  return 0;
}

int op_keepCaps(Run& run, const Op&) {
  run.doing("prctl PR_SET_KEEPCAPS");
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return run.fail(errno);
  return 0;
}

// process.capabilities.bounding: drop every capability not in the mask. Only the ones still
// in the set: dropping needs CAP_SETPCAP even when there is nothing to drop.
int op_capBounding(Run& run, const Op& op) {
  int64_t keep = op.args[0].i;
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++) {
    if (has(keep, cap) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;
    run.doing("drop capability ", cap, " from the bounding set");
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return run.fail(errno);
  }
  return 0;
}

// process.capabilities.{effective,permitted,inheritable}, as 64-bit masks.
int op_capset(Run& run, const Op& op) {
  uint64_t eff = static_cast<uint64_t>(op.args[0].i);
  uint64_t perm = static_cast<uint64_t>(op.args[1].i);
  uint64_t inh = static_cast<uint64_t>(op.args[2].i);
  run.doing("capset effective ");
  run.detail.hex(eff).add(" permitted ").hex(perm).add(" inheritable ").hex(inh);
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  // Version 3 takes two 32-bit words per set: capabilities 0-31, then 32-63.
  __user_cap_data_struct data[2] = {
      {static_cast<uint32_t>(eff), static_cast<uint32_t>(perm), static_cast<uint32_t>(inh)},
      {static_cast<uint32_t>(eff >> 32), static_cast<uint32_t>(perm >> 32), static_cast<uint32_t>(inh >> 32)},
  };
  if (syscall(SYS_capset, &header, data) != 0) return run.fail(errno);
  return 0;
}

// process.capabilities.ambient: exactly the mask (capabilities this kernel does not know are
// skipped, as the plan builder has warned about them already).
int op_capAmbient(Run& run, const Op& op) {
  int64_t mask = op.args[0].i;
  run.doing("clear the ambient capabilities");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return run.fail(errno);
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++) {
    if (!has(mask, cap)) continue;
    run.doing("raise ambient capability ", cap);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return run.fail(errno);
  }
  return 0;
}

int op_noNewPrivs(Run& run, const Op&) {
  run.doing("prctl PR_SET_NO_NEW_PRIVS");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return run.fail(errno);
  return 0;
}

}  // namespace berth
