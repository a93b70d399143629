// Cgroup ops: joinCgroup, unshareCgroup.
//
// On a host with cgroup v1 hierarchies clone3 cannot place the process (CLONE_INTO_CGROUP is
// cgroup2 only), so berth-init moves itself, first of all its ops: "0" written into a
// hierarchy's `tasks` file moves the writing thread, and the kernel takes its global
// threadgroup lock only to move another task or a whole thread group. That lock's write side
// waits for an RCU grace period: the parent writing our pid into cgroup.procs cost 5-20 ms per
// create on this host, moving ourselves 0.07 ms for nine hierarchies. berth-init is single-
// threaded, so its one thread is the whole process.
//
// A new cgroup namespace is then unshared, not cloned: its root is the cgroup the process is in
// when it is made, which must be the container's own in every hierarchy, not the caller's
// (cgroup_namespaces(7)).
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "run.h"

namespace berth {

int op_joinCgroup(Run& run, const Op& op) {
  const char* file = op.args[0].s;
  run.doing("write 0 to ", file);
  UniqueFd fd(open(file, O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return run.fail(errno);
  if (write(fd.get(), "0", 1) != 1) return run.fail(errno);
  return 0;
}

int op_unshareCgroup(Run& run, const Op&) {
  run.doing("unshare a cgroup namespace");
  if (unshare(CLONE_NEWCGROUP) != 0) return run.fail(errno);
  return 0;
}

}  // namespace berth
