#include "commands.h"
#include "io.h"

// The build systems pass the version from package.json, so `berth --version` and
// `berth-init --version` cannot drift apart.
#ifndef BERTH_VERSION
#error "BERTH_VERSION must be defined by the build (CMakeLists.txt / binding.gyp)"
#endif

namespace berth {

int cmd_version(int out_fd) {
  return write_str(out_fd, "berth-init " BERTH_VERSION "\n") == 0 ? kExitOk : 1;
}

}  // namespace berth
