// commands.h: berth-init's command-line entry points: the diagnostic modes (--version, --ops,
// --decode) and the launch mode (`run`), which executes a plan read from an fd.
#ifndef BERTH_NATIVE_INIT_COMMANDS_H
#define BERTH_NATIVE_INIT_COMMANDS_H

#include <stddef.h>

namespace berth {

// Exit statuses. 2 follows the getopt convention for "you asked for something this program
// will not do": a usage error, or a plan it refuses to decode.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitBadPlan = 2;
// run mode: an op failed (the error record is on the sync socket).
constexpr int kExitOpFailed = 1;
// run mode: the final execve failed after `ready` (as a shell says "command not found").
constexpr int kExitExecFailed = 127;

// Plans are small (a seccomp filter is the biggest part, tens of KiB); the cap keeps a
// runaway writer from pinning memory.
constexpr size_t kMaxPlanBytes = 64ul << 20;

// `berth-init --version`: prints "berth-init <version>\n" on stdout.
int cmd_version(int out_fd);

// `berth-init --ops`: prints the op table as JSON:
//   {"version":1,"ops":{"waitParent":{"tag":1,"sig":""},...}}
int cmd_ops(int out_fd);

// `berth-init --decode`: reads an encoded plan from `in_fd`, prints it as JSON on `out_fd`:
//   {"version":1,"ops":[{"op":"mount","args":["proc","/proc","proc",14,""]},...]}
// ints are numbers, strs strings, strs/ints arrays, bytes {"bytes":"<hex>"}. A plan the
// decoder refuses prints {"error":"..."} and exits kExitBadPlan.
int cmd_decode(int in_fd, int out_fd);

// `berth-init run <planFd> <syncFd>`: see cmd-run.cc. Returns only on failure.
int cmd_run(const char* plan_fd, const char* sync_fd);

}  // namespace berth

#endif  // BERTH_NATIVE_INIT_COMMANDS_H
