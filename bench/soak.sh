#!/usr/bin/env bash
# soak.sh: the leak soak (test/reliability/soak.test.ts) for berth and runc side by side, and the
# result as a table: per loop, each resource counted after a warm-up and again after N cycles,
# and its growth (must be 0), with the CLI's peak RSS per command (GNU time %M).
#
# usage: bench/soak.sh [-n CYCLES] [-o FILE]
#   -n CYCLES   cycles per loop (default 1000, the long variant); the library API runs as many
#   -o FILE     also write the table to FILE (markdown)
# Loops: run of /bin/true; create -> start -> kill -> delete; run -d -> exec -> delete -f; and
# berth's library API in one Node process (create/start/wait/delete, create/start/exec/delete -f).
# Needs root, a build (npm run build), runc, busybox-static and GNU time (scripts/install-deps.sh).
# Figures come from build/reliability/soak.json, which the test writes (recordNumbers).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
N=1000; OUT=
while getopts n:o:h opt; do
  case $opt in
    n) N=$OPTARG ;; o) OUT=$OPTARG ;;
    *) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "soak.sh: needs root" >&2; exit 2; }
command -v runc >/dev/null || { echo "soak.sh: runc not found (scripts/install-deps.sh)" >&2; exit 2; }
[ -x /usr/bin/time ] || echo "soak.sh: no /usr/bin/time: peak RSS is not measured (apt-get install time)" >&2
[ -f "$REPO/bin/berth" ] && [ -f "$REPO/build/Release/berth-init" ] || { echo "soak.sh: berth is not built: npm run build" >&2; exit 2; }
cd "$REPO"
rm -f build/reliability/soak.json
# The test asserts berth's zero growth; its verdict is printed, the table is written either way.
rc=0
BERTH_RELIABILITY_LONG=1 BERTH_SOAK_CYCLES=$N BERTH_SOAK_RUNC=1 npx jest --runInBand test/reliability/soak.test.ts >&2 || rc=$?
[ -f build/reliability/soak.json ] || { echo "soak.sh: the test wrote no figures" >&2; exit 1; }
node "$HERE/soak-table.mjs" build/reliability/soak.json | tee ${OUT:+"$OUT"}
exit $rc
