#!/bin/bash
# What a fresh Debian 12 needs to build and test berth (run as root). Used by .ci/run and by
# scripts/quickstart.sh, so the two cannot drift apart.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  echo "berth needs Node.js 20 or newer with its headers (/usr/include/node); found: $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi

apt-get update -qq
# build-essential cmake pkg-config python3: the addon (cmake-js, node-gyp) and berth-init
# libseccomp-dev: seccomp filters are compiled with libseccomp, linked into the addon
# busybox-static: the rootfs of the default bundle and of the tests
# runc crun: reference runtimes for side-by-side tests and benchmarks
# procps: ps(1), which `berth ps` runs (as runc does)
# time: GNU time, the CLI's peak RSS per command in test/reliability/soak.test.ts (bench/soak.sh)
# linux-source-6.1 bc flex bison xz-utils: scripts/vm/build-uml-kernel.sh builds the UML kernel
#   of the pure cgroup v2 guest (scripts/vm/run-in-vm.sh, test/vm) from Debian's kernel source
# user-mode-linux: Debian's UML kernel, that guest's fallback; python3 also runs its seccomp shim
#   (scripts/vm/uml-no-xstate.py)
# podman conmon containerd: the engines of test/e2e (podman 4.3 via conmon; containerd 1.6 with
#   ctr and containerd-shim-runc-v2); bsdutils: script(1), the pseudo-terminal of its -it cases
# zstd: the zstd CLI, which test/integration/image.test.ts compresses a tar+zstd layer with
#   (berth itself decodes zstd in JavaScript, with fzstd)
# zsh: test/cli/docs.test.ts completes command lines with `berth completion zsh` in a real zsh
# systemd dbus: PID 1 and the system bus of the guest under VM_INIT=systemd (run-in-vm.sh,
#   test/vm/run-guest-systemd.test.ts); installed only, never run on the host
apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config python3 libseccomp-dev busybox-static runc crun procps time git ca-certificates \
  user-mode-linux linux-source-6.1 bc flex bison xz-utils podman conmon containerd bsdutils systemd dbus zstd zsh >/dev/null

if [ ! -f "$(node -p 'process.config.variables.node_prefix || "/usr"')/include/node/node_api.h" ] && [ ! -f /usr/include/node/node_api.h ]; then
  # Debian's own nodejs package keeps its headers in libnode-dev.
  apt-get install -y -qq --no-install-recommends libnode-dev >/dev/null
fi
