// seccompLoad: install the filter the addon compiled (libseccomp runs in the parent, where
// heap and threads are fine; here we only hand the finished BPF to the kernel).
//
// The plan puts this last before exec, after noNewPrivs (without CAP_SYS_ADMIN the kernel
// wants no_new_privs first), so the filter only has to allow what the remaining ops and
// execve itself need.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "run.h"

namespace berth {

int op_seccompLoad(Run& run, const Op& op) {
  const Arg& bpf = op.args[0];
  unsigned long flags = static_cast<unsigned long>(op.args[1].i);
  size_t count = bpf.len / sizeof(sock_filter);
  run.doing("load the seccomp filter (", static_cast<unsigned long>(count), " instructions, flags ");
  run.detail.hex(flags).add(")");
  if (bpf.len % sizeof(sock_filter) != 0 || count == 0 || count > 0xffff) return run.fail(EINVAL);
  // The bytes sit unaligned inside the plan buffer; sock_filter wants 4-byte alignment.
  sock_filter* insns = static_cast<sock_filter*>(malloc(bpf.len));
  if (insns == nullptr) return run.fail(ENOMEM);
  memcpy(insns, bpf.bytes, bpf.len);
  sock_fprog prog = {static_cast<unsigned short>(count), insns};
  // With SECCOMP_FILTER_FLAG_NEW_LISTENER the result is the listener fd (the kernel opens it
  // close-on-exec); the plan's next op, seccompListener, hands it to the parent.
  long r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  int e = errno;
  free(insns);
  if (r < 0) return run.fail(e);
  if ((flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0) run.seccomp_listener = static_cast<int>(r);
  return 0;
}

}  // namespace berth
