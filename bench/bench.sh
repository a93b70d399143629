#!/usr/bin/env bash
# bench.sh: berth, runc and crun side by side, with `node -e 0` (the floor of any Node CLI) timed
# in the same rounds.
#
# usage: bench/bench.sh [-n ROUNDS] [-s SECTIONS] [-o OUTDIR] [-w]   (npm run bench -- ...)
#   -n ROUNDS   rounds per timed operation (default 9); each round runs every runtime once,
#               order rotated (ABCD, BCDA, ...); medians, and paired ratios: berth/X per round
#   -s LIST     sections (default a,b,c,e,f,g,i,d,h,l):
#                 a run /bin/true   b create, start, delete   c state   d list 1/100/500 and
#                 RSS per created container   e pause, resume   f kill, delete, delete -f
#                 g exec   h 100 runs, sequential and 2-way   i peak RSS   l library API
#   -o DIR      output dir (default $SCRATCH/out-DATE); table.md, samples.tsv, meta.txt
#   -w          also write bench/results.md (the machine's description + the table)
# Env: SCRATCH (/tmp/berth-bench)  LIST_SIZES ("1 100 500")  THRU_N (100)  THRU_PAR ("1 2")
#      THRU_ROUNDS (1)  RSS_ROUNDS (3)  LIB_N (100)  LIB_ROUNDS (3)  RUNC, CRUN (from PATH)
#
# crun 1.8 refuses this hybrid host (a controller listed in the v2 root) and ociVersion 1.3.0,
# so all runs happen in a private mount namespace with a tmpfs over /sys/fs/cgroup/unified
# (every runtime then uses the v1 controllers alone), and bundles say ociVersion 1.0.2.
# Each container has its own bundle and cgroupsPath /berthbench.<pid>/<id>, each runtime its
# own --root; at exit every container made here is deleted by id and the cgroup parents
# (only ours) removed. The berth containers for `list` are created with the library API
# (dist/index.js, same state files as the CLI's create) to keep a default run near 5 minutes.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SCRATCH=${SCRATCH:-/tmp/berth-bench}
LIST_SIZES=${LIST_SIZES:-"1 100 500"}
THRU_N=${THRU_N:-100}; THRU_PAR=${THRU_PAR:-"1 2"}; THRU_ROUNDS=${THRU_ROUNDS:-1}
RSS_ROUNDS=${RSS_ROUNDS:-3}; LIB_N=${LIB_N:-100}; LIB_ROUNDS=${LIB_ROUNDS:-3}
N=9; SECTIONS=a,b,c,e,f,g,i,d,h,l; OUT=; WRITE=0
ARGS=("$@")
while getopts n:s:o:wh opt; do
  case $opt in
    n) N=$OPTARG ;; s) SECTIONS=$OPTARG ;; o) OUT=$OPTARG ;; w) WRITE=1 ;;
    *) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root" >&2; exit 2; }
fstype() { stat -f -c %T "$1" 2>/dev/null; }
if [ -z "${BERTH_BENCH_NS:-}" ]; then
  if [ "$(fstype /sys/fs/cgroup)" = tmpfs ] && [ "$(fstype /sys/fs/cgroup/unified)" = cgroup2fs ]; then
    exec env BERTH_BENCH_NS=1 unshare --mount --propagation private bash "$0" "${ARGS[@]}"
  fi
else
  mount -t tmpfs -o size=64m,mode=755 berth-bench-hide /sys/fs/cgroup/unified || { echo "bench.sh: cannot hide /sys/fs/cgroup/unified" >&2; exit 1; }
fi

# A fresh machine: runc and crun come from Debian's packages, berth from its own build.
missing=()
[ -n "${RUNC:-}" ] || command -v runc >/dev/null || missing+=(runc)
[ -n "${CRUN:-}" ] || command -v crun >/dev/null || missing+=(crun)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench.sh: installing ${missing[*]} (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
    { echo "bench.sh: could not install ${missing[*]}" >&2; exit 2; }
fi
if [ ! -f "$REPO/dist/index.js" ] || [ ! -f "$REPO/build/Release/berth-init" ]; then
  echo "bench.sh: berth is not built: npm run build" >&2
  (cd "$REPO" && npm run build >&2) || { echo "bench.sh: the build failed (a fresh machine needs scripts/install-deps.sh and npm ci first)" >&2; exit 2; }
fi

# runtimes: 0 berth (the subject: ratios are berth/X), 1 runc, 2 crun, 3 the floor
LABEL=(berth runc crun "node -e 0")
RTPATH=("$REPO/bin/berth" "${RUNC:-$(command -v runc)}" "${CRUN:-$(command -v crun)}" "$(command -v node)")
FK=3; K=4
for k in 0 1 2; do [ -x "${RTPATH[k]}" ] || { echo "bench.sh: ${LABEL[k]} not found (${RTPATH[k]})" >&2; exit 2; }; done
ROOT=("$SCRATCH/state/berth" "$SCRATCH/state/runc" "$SCRATCH/state/crun" "")
CGP=/berthbench.$$
OUT=${OUT:-$SCRATCH/out-$(date +%Y%m%d-%H%M%S)}
rm -rf "$SCRATCH/state" "$SCRATCH/b"
mkdir -p "$OUT" "$SCRATCH/b" "${ROOT[@]:0:3}"
SAMPLES=$OUT/samples.tsv
printf 'section\top\truntime\tround\twall_us\tcpu_us\tmaxrss_kb\thwm_kb\trc\tcount\n' > "$SAMPLES"

cleanup() {
  local k id
  for k in 0 1 2; do
    for id in $( { "${RTPATH[k]}" --root "${ROOT[k]}" list -q 2>/dev/null; ls "${ROOT[k]}" 2>/dev/null; } | sort -u); do
      "${RTPATH[k]}" --root "${ROOT[k]}" delete -f "$id" >/dev/null 2>&1
    done
  done
  for d in /sys/fs/cgroup/*/"${CGP#/}"/*/; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
  for d in /sys/fs/cgroup/*/"${CGP#/}"; do
    [ -d "$d" ] || continue
    [ "$d" = "/sys/fs/cgroup/unified/${CGP#/}" ] && continue # our own throwaway tmpfs
    rmdir "$d" 2>/dev/null || echo "bench.sh: WARNING: $d not removed" >&2
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TX=$SCRATCH/tx
if [ ! -x "$TX" ] || [ "$HERE/tx.c" -nt "$TX" ]; then cc -O2 -o "$TX" "$HERE/tx.c" || exit 1; fi
RootFS=$SCRATCH/rootfs
if [ ! -x "$RootFS/bin/busybox" ]; then
  mkdir -p "$RootFS"/{bin,proc,sys,dev,tmp,etc,root}
  cp /bin/busybox "$RootFS/bin/busybox"
  for app in $(/bin/busybox --list); do [ -e "$RootFS/bin/$app" ] || ln -s busybox "$RootFS/bin/$app"; done
fi
node - "$HERE/config-template.json" "$SCRATCH" "$RootFS" <<'JS' || exit 1
const fs = require("fs"); const [tmpl, scratch, rootfs] = process.argv.slice(2);
const base = JSON.parse(fs.readFileSync(tmpl, "utf8"));
base.ociVersion = "1.0.2"; // crun 1.8.1 refuses 1.3.0
base.root = { path: rootfs, readonly: true };
base.process.terminal = false;
base.linux.cgroupsPath = "@CG@";
for (const [name, args] of [["true", ["/bin/true"]], ["sleep", ["/bin/sleep", "1000000"]]]) {
  const c = structuredClone(base); c.process.args = args;
  fs.writeFileSync(`${scratch}/tmpl-${name}.json`, JSON.stringify(c, null, 2));
}
JS
declare -A TMPL
for t in true sleep; do TMPL[$t]=$(<"$SCRATCH/tmpl-$t.json"); done
mkb() { local d=$SCRATCH/b/$1; mkdir -p "$d"; printf '%s\n' "${TMPL[$2]//@CG@/$CGP/$1}" > "$d/config.json"; }
B() { echo "$SCRATCH/b/$1"; }

order() { local i; for ((i = 0; i < K; i++)); do echo $(((i + $1 - 1) % K)); done; }
R() { local k=$1; shift; "${RTPATH[k]}" --root "${ROOT[k]}" "$@" </dev/null >/dev/null 2>>"$OUT/err-$k.log"; }
rec() { # rec SECTION OP K ROUND COUNT [tx options] -- CMD... ("@RT" = the runtime and its --root)
  local s=$1 op=$2 k=$3 r=$4 c=$5; shift 5
  local args=() x o
  for x in "$@"; do if [ "$x" = @RT ]; then args+=("${RTPATH[k]}" --root "${ROOT[k]}"); else args+=("$x"); fi; done
  o=$("$TX" -e "$OUT/err-$k.log" "${args[@]}")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$op" "${LABEL[k]}" "$r" "${o// /$'\t'}" "$c" >> "$SAMPLES"
}
floor() { local s=$1 r=$2; shift 2; local op; for op in "$@"; do rec "$s" "$op" $FK "$r" 1 -- node -e 0; done; }
waitpidexit() { [ -n "$1" ] && "$TX" -w "$1" -- true >/dev/null; }
rmc() { R "$1" delete -f "$2"; }
progress() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
has() { [[ ",$SECTIONS," == *",$1,"* ]]; }

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: Linux $(uname -r), $(nproc) cpus ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "cgroups: hybrid host, /sys/fs/cgroup/unified hidden by a tmpfs in a private mount ns (all runtimes on v1)"
  echo "rounds: $N (paired, rotated order); throughput: $THRU_N runs x $THRU_ROUNDS round(s); rss rounds: $RSS_ROUNDS; library: $LIB_N x $LIB_ROUNDS"
  echo "berth: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null) ($("${RTPATH[0]}" --version | head -1))"
  echo "runc: $("${RTPATH[1]}" --version | head -1)"; echo "crun: $("${RTPATH[2]}" --version | head -1)"; echo "node: $(node --version)"
  echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/meta.txt"

if has a; then progress "a: run"
  for ((r = 1; r <= N; r++)); do for k in $(order $r); do
    [ $k = $FK ] && { floor a $r "run /bin/true"; continue; }
    id=a$k; mkb $id true
    rec a "run /bin/true" $k $r 1 -- @RT run --bundle "$(B $id)" $id
    R $k state $id 2>/dev/null && rmc $k $id
  done; done
fi
if has b; then progress "b: create/start/delete"
  for ((r = 1; r <= N; r++)); do for k in $(order $r); do
    [ $k = $FK ] && { floor b $r "create" "start (/bin/true)" "delete (stopped)"; continue; }
    id=b$k; mkb $id true; rm -f "$(B $id)/pid"
    rec b "create" $k $r 1 -- @RT create --bundle "$(B $id)" --pid-file "$(B $id)/pid" $id
    rec b "start (/bin/true)" $k $r 1 -- @RT start $id
    waitpidexit "$(cat "$(B $id)/pid" 2>/dev/null)"
    rec b "delete (stopped)" $k $r 1 -- @RT delete $id
    rmc $k $id
  done; done
fi
if has c || has e || has g || has i; then
  for k in 0 1 2; do mkb s$k sleep; R $k run -d --bundle "$(B s$k)" s$k; done
fi
if has c; then progress "c: state"
  for ((r = 1; r <= N; r++)); do for k in $(order $r); do
    [ $k = $FK ] && { floor c $r "state (running)"; continue; }
    rec c "state (running)" $k $r 1 -- @RT state s$k
  done; done
fi
if has e; then progress "e: pause/resume"
  for ((r = 1; r <= N; r++)); do for k in $(order $r); do
    [ $k = $FK ] && { floor e $r "pause" "resume"; continue; }
    rec e "pause" $k $r 1 -- @RT pause s$k
    rec e "resume" $k $r 1 -- @RT resume s$k
  done; done
fi
if has g; then progress "g: exec"
  for ((r = 1; r <= N; r++)); do for k in $(order $r); do
    [ $k = $FK ] && { floor g $r "exec /bin/true"; continue; }
    rec g "exec /bin/true" $k $r 1 -- @RT exec s$k /bin/true
  done; done
fi
if has i; then progress "i: peak rss"
  for ((r = 1; r <= RSS_ROUNDS; r++)); do for k in $(order $r); do
    if [ $k = $FK ]; then rec i "CLI peak RSS: state" $k $r 1 -m -- node -e 0; continue; fi
    id=i$k; mkb $id true
    rec i "CLI peak RSS: run /bin/true" $k $r 1 -m -- @RT run --bundle "$(B $id)" $id; R $k state $id 2>/dev/null && rmc $k $id
    rec i "CLI peak RSS: create" $k $r 1 -m -- @RT create --bundle "$(B $id)" $id; rmc $k $id
    rec i "CLI peak RSS: state" $k $r 1 -m -- @RT state s$k
  done; done
fi
if has c || has e || has g || has i; then for k in 0 1 2; do rmc $k s$k; done; fi
if has f; then progress "f: kill/delete"
  for ((r = 1; r <= N; r++)); do for k in $(order $r); do
    [ $k = $FK ] && { floor f $r "kill KILL until init exited" "delete (after kill)" "delete -f (running), until init exited"; continue; }
    id=f$k; mkb $id sleep; rm -f "$(B $id)/pid"
    R $k run -d --pid-file "$(B $id)/pid" --bundle "$(B $id)" $id; pid=$(cat "$(B $id)/pid" 2>/dev/null)
    rec f "kill KILL until init exited" $k $r 1 -w "${pid:-0}" -- @RT kill $id KILL
    rec f "delete (after kill)" $k $r 1 -- @RT delete $id
    rmc $k $id
    id=F$k; mkb $id sleep; rm -f "$(B $id)/pid"
    R $k run -d --pid-file "$(B $id)/pid" --bundle "$(B $id)" $id; pid=$(cat "$(B $id)/pid" 2>/dev/null)
    rec f "delete -f (running), until init exited" $k $r 1 -w "${pid:-0}" -- @RT delete -f $id
    rmc $k $id
  done; done
fi
if has d; then
  have=(0 0 0)
  for S in $LIST_SIZES; do progress "d: list with $S created"
    for k in 0 1 2; do
      for ((i = have[k]; i < S; i++)); do mkb l$k-$i true; done
      if [ $k = 0 ]; then
        node "$HERE/lib-api.js" "${ROOT[0]}" "$SCRATCH/b/l0-" $S create l0- ${have[0]} >/dev/null 2>>"$OUT/err-0.log"
      else
        : > "$SCRATCH/jobs-$k"
        for ((i = have[k]; i < S; i++)); do echo "${RTPATH[k]} --root ${ROOT[k]} create --bundle $(B l$k-$i) l$k-$i" >> "$SCRATCH/jobs-$k"; done
        "$TX" -P 2 -f "$SCRATCH/jobs-$k" -e "$OUT/err-$k.log" >/dev/null
      fi
      have[k]=$S
    done
    for k in 0 1 2; do # memory held by the waiting inits of the created containers
      pids=$("${RTPATH[k]}" --root "${ROOT[k]}" list --format json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const c of JSON.parse(s||"[]")||[])if(c.pid)console.log(c.pid)})')
      rss=0 pss=0 n=0
      for p in $pids; do
        read -r x y < <(awk '/^Rss:/{r=$2} /^Pss:/{q=$2} END{print r+0, q+0}' /proc/$p/smaps_rollup 2>/dev/null) || continue
        rss=$((rss + x)) pss=$((pss + y)) n=$((n + 1))
      done
      printf 'mem\t%s\t%s\t%s\t%s\t%s\t%s\n' "$S" "${LABEL[k]}" "$n" "$rss" "$pss" >> "$OUT/mem.tsv"
    done
    for ((r = 1; r <= N; r++)); do for k in $(order $r); do
      [ $k = $FK ] && { floor d $r "list, $S created"; continue; }
      rec d "list, $S created" $k $r 1 -- @RT list
    done; done
  done
  progress "d: deleting list containers"
  node "$HERE/lib-api.js" "${ROOT[0]}" x "${have[0]}" delete l0- >/dev/null 2>>"$OUT/err-0.log"
  for k in 1 2; do
    : > "$SCRATCH/jobs-$k"; for ((i = 0; i < have[k]; i++)); do echo "${RTPATH[k]} --root ${ROOT[k]} delete -f l$k-$i" >> "$SCRATCH/jobs-$k"; done
    "$TX" -P 2 -f "$SCRATCH/jobs-$k" -e "$OUT/err-$k.log" >/dev/null
  done
fi
if has h; then
  for k in 0 1 2; do
    : > "$SCRATCH/jobs-$k"
    for ((i = 0; i < THRU_N; i++)); do id=h$k-$i; mkb $id true; echo "${RTPATH[k]} --root ${ROOT[k]} run --bundle $(B $id) $id" >> "$SCRATCH/jobs-$k"; done
  done
  for P in $THRU_PAR; do progress "h: $THRU_N runs, $P-way"
    for ((r = 1; r <= THRU_ROUNDS; r++)); do for k in $(order $r); do
      [ $k = $FK ] && continue
      rec h "$THRU_N x run /bin/true, $P-way" $k $r $THRU_N -P $P -f "$SCRATCH/jobs-$k"
      for id in $(ls "${ROOT[k]}"); do rmc $k "$id"; done
    done; done
  done
fi
if has l; then progress "l: library API, $LIB_N x create/start/wait/delete, vs crun run"
  mkb lib true
  for ((r = 1; r <= LIB_ROUNDS; r++)); do
    read -r cps per wall < <(node "$HERE/lib-api.js" "${ROOT[0]}" "$(B lib)" "$LIB_N" cycle lib- 2>>"$OUT/err-0.log") || { cps=0 per=0 wall=0; }
    printf 'lib\t%s\t%s\t%s\t%s\n' "$r" "$cps" "$per" "$wall" >> "$OUT/lib.tsv"
    id=lc; mkb $id true
    rec l "crun run /bin/true (same rounds)" 2 $r 1 -- @RT run --bundle "$(B $id)" $id
  done
fi
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/meta.txt"
cleanup; trap - EXIT
node "$HERE/summarize.mjs" "$OUT" > "$OUT/table.md"
cat "$OUT/meta.txt"; echo; cat "$OUT/table.md"
for k in 0 1 2; do [ -s "$OUT/err-$k.log" ] && echo "stderr of ${LABEL[k]}: $(wc -l < "$OUT/err-$k.log") lines ($OUT/err-$k.log)" >&2; done
if [ $WRITE = 1 ]; then
  { echo "# berth benchmark results"; echo; echo "Written by \`npm run bench -- -w\` (bench/bench.sh)."; echo; echo '```'; cat "$OUT/meta.txt"; echo '```'; echo; cat "$OUT/table.md"; } > "$HERE/results.md"
  echo "wrote $HERE/results.md" >&2
fi
