#!/bin/bash
# created-rss.sh [N]: memory held per container in the "created" state -- the waiting init
# process -- for berth, runc and crun side by side, from /proc/<pid>/smaps_rollup.
# Needs root, busybox-static, runc and crun. Each runtime gets its own --root and cgroup
# parent (/berthbench.<pid>/...), and everything is deleted at exit.
#
# crun 1.8 refuses a hybrid host whose cgroup2 root lists a controller; like the reference
# harness berth's bench was adapted from, the whole run happens in a private mount namespace with an
# empty tmpfs over /sys/fs/cgroup/unified, so all three runtimes see the v1 hierarchies only.
set -euo pipefail
n=${1:-20}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -d /sys/fs/cgroup/unified ] && [ -z "${BERTH_BENCH_INNER:-}" ]; then
  exec env BERTH_BENCH_INNER=1 unshare --mount --propagation private bash -c \
    'mount -t tmpfs -o size=64m none /sys/fs/cgroup/unified && exec "$0" "$@"' "$0" "$@"
fi
scratch=$(mktemp -d /tmp/berth-rss.XXXXXX)
"$here/scripts/make-busybox-bundle.sh" "$scratch/base" sleep 1000 >/dev/null
declare -A bin=([berth]="$here/bin/berth" [runc]=$(command -v runc) [crun]=$(command -v crun))
cleanup() {
  for rt in "${!bin[@]}"; do
    for ((i = 0; i < n; i++)); do "${bin[$rt]}" --root "$scratch/root-$rt" delete -f "$rt$i" >/dev/null 2>&1 || true; done
  done
  rm -rf "$scratch"
  rmdir /sys/fs/cgroup/*/berthbench.$$ 2>/dev/null || true
}
trap cleanup EXIT
printf '%-6s %5s %12s %12s %12s\n' runtime n "RSS/ctr KiB" "PSS/ctr KiB" "total MiB"
for rt in berth runc crun; do
  rss=0 pss=0 made=0
  for ((i = 0; i < n; i++)); do
    d="$scratch/b-$rt$i"
    mkdir -p "$d"
    node -e '
      const fs = require("fs"); const [src, dst, rootfs, cg] = process.argv.slice(1);
      const c = JSON.parse(fs.readFileSync(src, "utf8"));
      // crun 1.8 refuses ociVersion 1.3.0 ("unknown version specified"); 1.0.2 suits all three.
      c.ociVersion = "1.0.2"; c.root.path = rootfs; c.linux.cgroupsPath = cg;
      fs.writeFileSync(dst, JSON.stringify(c));' "$scratch/base/config.json" "$d/config.json" "$scratch/base/rootfs" "/berthbench.$$/$rt$i"
    "${bin[$rt]}" --root "$scratch/root-$rt" create --bundle "$d" "$rt$i" </dev/null >/dev/null
    pid=$("${bin[$rt]}" --root "$scratch/root-$rt" state "$rt$i" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).pid))')
    read -r r p < <(awk '/^Rss:/{r=$2} /^Pss:/{q=$2} END{print r+0, q+0}' "/proc/$pid/smaps_rollup")
    rss=$((rss + r)) pss=$((pss + p)) made=$((made + 1))
  done
  printf '%-6s %5d %12d %12d %12.1f\n' "$rt" "$made" $((rss / made)) $((pss / made)) "$(awk -v r=$rss 'BEGIN{print r/1024}')"
  for ((i = 0; i < n; i++)); do "${bin[$rt]}" --root "$scratch/root-$rt" delete -f "$rt$i" >/dev/null 2>&1 || true; done
done
rmdir /sys/fs/cgroup/*/berthbench.$$ 2>/dev/null || true
