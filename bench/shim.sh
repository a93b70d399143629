#!/usr/bin/env bash
# shim.sh: containerd with berth's shim (io.containerd.berth.v1) beside the runc shim
# (io.containerd.runc.v2) running runc, and the runc shim running the berth CLI, in one run.
#
# usage: bench/shim.sh [-n RUNS] [-p POD]
#   -n RUNS  ctr run --rm IMAGE ID true per runtime (default 50), interleaved: one of each in turn;
#            the wall time of each, median and total per runtime; then as many again as
#            containers of a running pod (io.kubernetes.cri.sandbox-id: one shim per pod)
#   -p POD   containers in the pod of the memory section (default 10)
# Memory: the RSS of the shim process serving one running container, and of the one shim serving
# POD running containers of a pod (io.kubernetes.cri.sandbox-id), per runtime.
#
# Everything is private: containerd's root, state and sockets under a scratch dir (mktemp), its
# namespace "shimbench"; the busybox image from scripts/engines/make-busybox-image.sh. containerd
# is stopped by its pid at the end and the scratch dir removed; /run/containerd/berth/shimbench
# and the cgroups /shimbench are removed when empty.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RUNS=50; POD=10
while getopts n:p:h opt; do
  case $opt in
    n) RUNS=$OPTARG ;; p) POD=$OPTARG ;;
    *) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "shim.sh: needs root" >&2; exit 2; }
for f in "$REPO/bin/containerd-shim-berth-v1" "$REPO/bin/berth"; do
  [ -x "$f" ] || { echo "shim.sh: $f is missing: npm run build" >&2; exit 2; }
done
NS=shimbench
IMAGE=localhost/busybox:latest
S=$(mktemp -d /tmp/berth-shimbench-XXXXXX)
C=$S/containerd
mkdir -p "$C/root" "$C/state"
cleanup() {
  [ -n "${CPID:-}" ] && kill "$CPID" 2>/dev/null && while kill -0 "$CPID" 2>/dev/null; do sleep 0.1; done
  rmdir /run/containerd/berth/$NS /run/containerd/berth 2>/dev/null
  for h in /sys/fs/cgroup/*/; do [ -d "$h$NS" ] && find "$h$NS" -depth -type d -exec rmdir {} + 2>/dev/null; done
  rm -rf "$S"
}
trap cleanup EXIT
bash "$REPO/scripts/engines/make-busybox-image.sh" "$S/img" >/dev/null 2>&1 || { echo "shim.sh: make-busybox-image.sh failed" >&2; exit 1; }
cat >"$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C/containerd.sock"
[ttrpc]
  address = "$C/containerd.sock.ttrpc"
[debug]
  address = "$C/debug.sock"
[metrics]
  address = ""
EOF
PATH="$REPO/bin:$PATH" containerd --config "$C/config.toml" >"$C/log" 2>&1 &
CPID=$!
ctr() { command ctr --address "$C/containerd.sock" -n $NS "$@"; }
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
ctr images import "$S/img/busybox-oci.tar" >/dev/null

declare -A FLAGS=(
  [berth.v1]="--runtime io.containerd.berth.v1"
  [runc.v2+runc]="--runtime io.containerd.runc.v2 --runc-binary /usr/sbin/runc"
  [runc.v2+berth]="--runtime io.containerd.runc.v2 --runc-binary $REPO/bin/berth"
)
ORDER=("berth.v1" "runc.v2+runc" "runc.v2+berth")
declare -A T
now() { date +%s%N; }
echo "ctr run --rm $IMAGE ID true, $RUNS runs each, interleaved ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
for i in $(seq "$RUNS"); do
  for rt in "${ORDER[@]}"; do
    t0=$(now)
    # shellcheck disable=SC2086
    ctr run --rm ${FLAGS[$rt]} $IMAGE "b$i-${rt//[^a-z0-9]/}" true >/dev/null 2>&1 || echo "shim.sh: run $i on $rt failed" >&2
    T[$rt]+="$(( ($(now) - t0) / 1000000 )) "
  done
done
printf '%-16s %10s %10s %12s\n' runtime "median ms" "mean ms" "total s"
for rt in "${ORDER[@]}"; do
  echo "${T[$rt]}" | tr ' ' '\n' | grep . | sort -n | awk -v rt="$rt" '{a[NR]=$1; s+=$1} END {printf "%-16s %10d %10.0f %12.1f\n", rt, a[int((NR+1)/2)], s/NR, s/1000}'
done

echo
echo "the same, $RUNS runs each, as containers of a running pod (one shim for the pod: its start is paid once)"
for rt in "${ORDER[@]}"; do
  # shellcheck disable=SC2086
  ctr run -d ${FLAGS[$rt]} --annotation io.kubernetes.cri.sandbox-id="warm-${rt//[^a-z0-9]/}" $IMAGE "w0-${rt//[^a-z0-9]/}" sleep 1000 >/dev/null
done
declare -A W
for i in $(seq "$RUNS"); do
  for rt in "${ORDER[@]}"; do
    t0=$(now)
    # shellcheck disable=SC2086
    ctr run --rm ${FLAGS[$rt]} --annotation io.kubernetes.cri.sandbox-id="warm-${rt//[^a-z0-9]/}" $IMAGE "w$i-${rt//[^a-z0-9]/}" true >/dev/null 2>&1 || echo "shim.sh: pod run $i on $rt failed" >&2
    W[$rt]+="$(( ($(now) - t0) / 1000000 )) "
  done
done
printf '%-16s %10s %10s %12s\n' runtime "median ms" "mean ms" "total s"
for rt in "${ORDER[@]}"; do
  echo "${W[$rt]}" | tr ' ' '\n' | grep . | sort -n | awk -v rt="$rt" '{a[NR]=$1; s+=$1} END {printf "%-16s %10d %10.0f %12.1f\n", rt, a[int((NR+1)/2)], s/NR, s/1000}'
  x="w0-${rt//[^a-z0-9]/}"; ctr task delete -f "$x" >/dev/null 2>&1; ctr container rm "$x" >/dev/null 2>&1
done

rss_of_shim() { # the shim started for container $1: its command line has -id $1 and our address
  local p
  for p in $(pgrep -f -- "-id $1( |\$)"); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "-address $C/containerd.sock "; then
      awk '/VmRSS/ {print $2}' "/proc/$p/status"
      return
    fi
  done
}
echo
echo "RSS of the shim (KiB): one container; one pod of $POD containers"
for rt in "${ORDER[@]}"; do
  id="m-${rt//[^a-z0-9]/}"
  # shellcheck disable=SC2086
  ctr run -d ${FLAGS[$rt]} $IMAGE "$id" sleep 1000 >/dev/null
  one=$(rss_of_shim "$id")
  ids=()
  for j in $(seq "$POD"); do
    # shellcheck disable=SC2086
    ctr run -d ${FLAGS[$rt]} --annotation io.kubernetes.cri.sandbox-id="pod-${rt//[^a-z0-9]/}" $IMAGE "$id-p$j" sleep 1000 >/dev/null
    ids+=("$id-p$j")
  done
  pod=$(rss_of_shim "$id-p1")
  printf '%-16s one: %8s   pod of %d: %8s\n' "$rt" "$one" "$POD" "$pod"
  for x in "$id" "${ids[@]}"; do ctr task delete -f "$x" >/dev/null 2>&1; ctr container rm "$x" >/dev/null 2>&1; done
done
