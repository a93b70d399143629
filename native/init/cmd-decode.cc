#include "../abi/plan-abi.h"
#include "commands.h"
#include "io.h"

namespace berth {

// The plan wire format is not defined yet (see native/abi/plan-abi.h); until it is, decode
// answers with a machine-readable refusal instead of guessing at a layout.
int cmd_decode(int in_fd, int out_fd) {
  // Consume the input first: a test that pipes an encoded plan in would otherwise see EPIPE
  // and report that instead of our answer. The cap keeps a runaway writer from pinning us.
  constexpr unsigned long kMaxPlanBytes = 64ul << 20;
  drain(in_fd, kMaxPlanBytes);
  write_str(out_fd, "{\"error\":\"not implemented\"}\n");
  return kExitNotImplemented;
}

}  // namespace berth
