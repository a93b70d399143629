// commands.h: berth-init's command-line entry points (the diagnostic modes; the launch mode,
// which runs a plan read from an fd, comes with the lifecycle issue).
#ifndef BERTH_NATIVE_INIT_COMMANDS_H
#define BERTH_NATIVE_INIT_COMMANDS_H

namespace berth {

// Exit statuses of the diagnostic commands. 2 follows the getopt convention for "you asked
// for something this program will not do": a usage error, or a mode not implemented yet.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitNotImplemented = 2;

// `berth-init --version`: prints "berth-init <version>\n" on stdout.
int cmd_version(int out_fd);

// `berth-init --decode`: reads an encoded plan from `in_fd`, prints it as JSON on `out_fd`.
int cmd_decode(int in_fd, int out_fd);

}  // namespace berth

#endif  // BERTH_NATIVE_INIT_COMMANDS_H
