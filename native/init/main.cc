// berth-init: the small static program that becomes a container's first process.
//
// Why a separate program and not the Node process: after clone3 the child of a multi-threaded
// Node may only make async-signal-safe calls, so it execs this binary (from a sealed memfd,
// CVE-2019-5736) and everything else happens here, in a process with no V8, no threads and no
// exceptions, under 1 MiB of RSS for as long as the container stays `created`.
//
// Modes:
//   berth-init run <planFd> <syncFd>   run a plan (cmd-run.cc); started by the addon's launch()
//   berth-init --version               prints "berth-init <version>"
//   berth-init --ops                   prints the op table this binary knows, as JSON
//   berth-init --decode                reads a plan on stdin, prints it as JSON (exit 2: refused)
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "io.h"

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "run") == 0) {
    return berth::cmd_run(argv[2], argv[3]);
  }
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    return berth::cmd_version(STDOUT_FILENO);
  }
  if (argc == 2 && strcmp(argv[1], "--ops") == 0) {
    return berth::cmd_ops(STDOUT_FILENO);
  }
  if (argc == 2 && strcmp(argv[1], "--decode") == 0) {
    return berth::cmd_decode(STDIN_FILENO, STDOUT_FILENO);
  }
  berth::write_str(STDERR_FILENO,
                   "usage: berth-init --version | --ops | --decode | run <planFd> <syncFd>\n");
  return berth::kExitUsage;
}
