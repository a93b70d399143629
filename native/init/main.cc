// berth-init: the small static program that becomes a container's first process.
//
// Why a separate program and not the Node process: after clone3 the child of a multi-threaded
// Node may only make async-signal-safe calls, so it execs this binary (from a sealed memfd,
// CVE-2019-5736) and everything else happens here, in a process with no V8, no threads and no
// exceptions, under 1 MiB of RSS for as long as the container stays `created`.
//
// For now it has two diagnostic modes:
//   berth-init --version   prints "berth-init <version>"
//   berth-init --decode    reads a plan on stdin, prints it as JSON (format TBD: exits 2)
// The launch mode (run the plan's ops, one handler per op in op-<name>.cc) comes with the
// lifecycle issue.
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "io.h"

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    return berth::cmd_version(STDOUT_FILENO);
  }
  if (argc == 2 && strcmp(argv[1], "--decode") == 0) {
    return berth::cmd_decode(STDIN_FILENO, STDOUT_FILENO);
  }
  berth::write_str(STDERR_FILENO, "usage: berth-init --version | --decode\n");
  return berth::kExitUsage;
}
