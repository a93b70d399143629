// The network op: netDevicesSync (config-linux.md "Network Devices"). The message diagram is
// at the top of cmd-run.cc; the parent's side is src/container/net-devices.ts.
//
// berth-init cannot move a device itself: the device is in the runtime's network namespace,
// and the RTM_NEWLINK that moves it must be sent there, by a process with CAP_NET_ADMIN over
// both namespaces (in a new user namespace we have it over neither). So the parent does it,
// while we wait here: after the setns ops (our network namespace is final, joined or new),
// before the mounts and the hooks (which may want to see the devices).
#include "run.h"

namespace berth {

int op_netDevicesSync(Run& run, const Op&) {
  run.doing("ask the parent to move the network devices in");
  if (int r = sync_send(run.sync_fd, abi::kSyncNetDevices, -1, 0, ""); r < 0) return run.fail(-r);
  abi::SyncRecord rec;
  return wait_ack(run, &rec);
}

}  // namespace berth
