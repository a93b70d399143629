#!/bin/bash
# scripts/vm/build-uml-kernel.sh: build the User-Mode Linux kernel that scripts/vm/run-in-vm.sh
# prefers, from Debian's own kernel source (linux-source-6.1) with scripts/vm/uml-kernel/'s
# patch and config, and print its path. Cached: a second run with the same source, patch and
# config only prints the path. With --path it never builds: it fails when there is none yet.
#
# Why not Debian's linux.uml (user-mode-linux): it saves and restores a guest thread's FPU
# state with PTRACE_{GET,SET}REGSET NT_X86_XSTATE and a fixed 2696-byte buffer, but the host
# kernel takes SETREGSET only with exactly its own XSAVE size, which depends on the CPU (11008
# bytes with AMX, e.g. Sapphire Rapids; 2696 only with AVX-512 and no AMX). Elsewhere the
# guest's init dies at once ("ptrace set fp regs failed", errno 14); with the probe refused
# (uml-no-xstate.py) UML keeps only x87/SSE state, and AVX/AVX-512 registers are zeroed at
# every page fault of a guest thread and shared between its threads: node miscomputes or
# aborts. uml-kernel/xstate-size.patch sizes the writes from the host (see the patch).
# The kernel is configured from `make ARCH=um defconfig` plus uml-kernel/config, everything
# built in: about 6 minutes on 2 cores.
#
# Environment: BERTH_UML_CACHE (default /var/cache/berth-uml): where kernels are kept, one
# directory per source+patch+config; JOBS (default: nproc).
# Needs: linux-source-6.1 build-essential bc flex bison (scripts/install-deps.sh).
set -euo pipefail
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
src_tar=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1 || true)
if [[ -z $src_tar ]]; then
  echo "build-uml-kernel: needs the package linux-source-6.1 (scripts/install-deps.sh)" >&2
  exit 1
fi
src_version=$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || stat -c %Y "$src_tar")
key=$(cat <(echo "$src_version") "$here/uml-kernel/xstate-size.patch" "$here/uml-kernel/config" | sha256sum | cut -c1-16)
cache=${BERTH_UML_CACHE:-/var/cache/berth-uml}
out=$cache/$key
if [[ -x $out/linux ]]; then
  echo "$out/linux"
  exit 0
fi
# --path: only say where the built kernel is (run-in-vm.sh); fail when it is not built yet.
[[ ${1:-} == --path ]] && exit 1

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
started=$(date +%s)
echo "build-uml-kernel: building from $src_tar ($src_version) in $work" >&2
tar -xf "$src_tar" -C "$work"
cd "$work"/linux-source-6.1
patch -p1 --quiet <"$here/uml-kernel/xstate-size.patch"
log=$work/build.log
{
  make ARCH=um defconfig
  scripts/kconfig/merge_config.sh -m .config "$here/uml-kernel/config"
  make ARCH=um olddefconfig
  # merge_config warns but does not fail when a value does not stick: check the ones that matter.
  for want in CONFIG_OVERLAY_FS=y CONFIG_CGROUP_BPF=y CONFIG_BLK_DEV_THROTTLING=y CONFIG_CFS_BANDWIDTH=y CONFIG_MEMCG=y CONFIG_HOSTFS=y; do
    grep -qx "$want" .config || { echo "build-uml-kernel: $want did not stick in .config" >&2; exit 1; }
  done
  make ARCH=um -j"${JOBS:-$(nproc)}" linux
} >"$log" 2>&1 || {
  tail -n 40 "$log" >&2
  echo "build-uml-kernel: failed (log above)" >&2
  exit 1
}
mkdir -p "$out.tmp"
cp linux "$out.tmp/linux"
cp .config "$out.tmp/config"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "build-uml-kernel: built in $(($(date +%s) - started)) s" >&2
echo "$out/linux"
