#!/bin/sh
# containerd-shim-berth-v1: berth's containerd runtime v2 shim (io.containerd.berth.v1).
#
# containerd runs this program twice per task besides the server: `start` (find or start the
# server, print its address) and `delete` (clean up after the server is gone). Both are on the
# path of every `ctr run` and pod start, so their common cases are answered here, in sh, without
# starting Node (about 80 ms on an idle host, several times that on a busy one):
#   start   start the server in the background, wait for its socket
#           and print its address. The server listens under a temporary name and renames the
#           socket into place once it accepts (main.ts), so the name appears ready to dial.
#   delete  when berth has nothing of the task left (no state directory, no rootfs mount):
#           print DeleteResponse{exit_status: 137, exited_at: now} (protobuf, encoded here).
#           A container of a pod joins the pod's running server (its pid is written beside its
#           socket), or starts it.
# Everything else goes to the Node entry beside this file (berth-shim-entry.js, src/shim/entry.ts),
# which implements the same subcommands in full: a delete with something to remove, the server
# itself, -v, a command line this file does not parse.
#
# Built into bin/ by scripts/bundle.mjs; the socket name must stay the one src/shim/flags.ts makes.
set -u
self=$(readlink -f "$0")
here=${self%/*}
node_entry() { exec node "$here/berth-shim-entry.js" "$@"; }

ns= address= id= bundle= action=
parse() {
  while [ $# -gt 0 ]; do
    case $1 in
      -namespace|--namespace) ns=${2-}; shift ;;
      -namespace=*|--namespace=*) ns=${1#*=} ;;
      -address|--address) address=${2-}; shift ;;
      -address=*|--address=*) address=${1#*=} ;;
      -id|--id) id=${2-}; shift ;;
      -id=*|--id=*) id=${1#*=} ;;
      -bundle|--bundle) bundle=${2-}; shift ;;
      -bundle=*|--bundle=*) bundle=${1#*=} ;;
      -publish-binary|--publish-binary|-socket|--socket) shift ;;
      -publish-binary=*|--publish-binary=*|-socket=*|--socket=*|-debug|--debug|-debug=*|--debug=*) ;;
      -*) return 1 ;; # -v, or a flag this file does not know: the Node entry answers
      *) action=$1; [ $# -eq 1 ] || return 1; return 0 ;;
    esac
    shift
  done
}
parse "$@" || node_entry "$@"
[ -n "$ns" ] && [ -n "$id" ] || node_entry "$@"
[ -n "$bundle" ] || bundle=$(pwd)

# A protobuf varint of a non-negative integer, as octal escapes for printf.
varint() {
  n=$1 out=
  while [ "$n" -gt 127 ]; do
    out="$out\\$(printf %03o $(( (n & 127) | 128 )))"
    n=$(( n >> 7 ))
  done
  printf '%s' "$out\\$(printf %03o "$n")"
}
varint_len() {
  n=$1 len=1
  while [ "$n" -gt 127 ]; do len=$((len + 1)); n=$((n >> 7)); done
  echo $len
}

# The containers of a pod (the CRI's sandbox id) share one server; any other has its own. Its
# socket's name hashes containerd's address, the namespace and the pod's or container's id.
sandbox=$(grep -o '"io.kubernetes.cri.sandbox-id": *"[^"\\]*"' "$bundle/config.json" 2>/dev/null | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
hash=$(printf '%s\0%s\0%s' "$address" "$ns" "${sandbox:-$id}" | sha256sum)
sock=/run/containerd/s/${hash%% *}
# The server is up when the pid it wrote beside its socket is a shim server.
server_up() {
  pid=$(cat "$sock.pid" 2>/dev/null)
  [ -n "$pid" ] && grep -qa berth-shim-entry "/proc/$pid/cmdline" 2>/dev/null
}

case $action in
  start)
    if [ -n "$sandbox" ] && [ -S "$sock" ] && server_up; then
      printf '%s' "unix://$sock" >"$bundle/address"
      printf '%s' "unix://$sock"
      exit 0
    fi
    mkdir -p -m 0711 /run/containerd/s || exit 1
    rm -f "$sock" "$sock.pid"
    # The server's output goes to containerd's log fifo, opened read-write so the open never blocks.
    log=/dev/null
    [ -p "$bundle/log" ] && log=$bundle/log
    # A thread-pool thread is held per awaited exit and per fifo open: see entry.ts.
    BERTH_SHIM_SERVE=1 BERTH_SHIM_SOCKET=$sock UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE:-128} \
      setsid node "$here/berth-shim-entry.js" "$@" </dev/null 1<>"$log" 2>&1 &
    pid=$!
    # containerd dials once, as soon as this prints: wait for the socket, which the server
    # renames into place only once it accepts.
    i=0
    while [ ! -S "$sock" ]; do
      if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 2000 ]; then
        echo "containerd-shim-berth-v1: the shim server did not start (its log: containerd's, or run with -debug)" >&2
        exit 1
      fi
      sleep 0.005
      i=$((i + 1))
    done
    printf '%s' "$pid" >"$bundle/shim.pid"
    printf '%s' "unix://$sock" >"$bundle/address"
    printf '%s' "unix://$sock"
    ;;
  delete)
    # A server that died (SIGKILL) left its socket and pid file behind.
    if [ -e "$sock.pid" ] && ! server_up; then rm -f "$sock" "$sock.pid"; fi
    [ -d "/run/containerd/berth/$ns/$id" ] && node_entry "$@"
    grep -q " $bundle/rootfs " /proc/self/mountinfo && node_entry "$@"
    now=$(date +%s%N)
    secs=${now%?????????} nanos=${now#"$secs"}
    nanos=$(echo "$nanos" | sed 's/^0*//'); nanos=${nanos:-0}
    # Timestamp{seconds (1), nanos (2, left out when 0)}; DeleteResponse{exit_status (2): 137, exited_at (3)}
    tlen=$((1 + $(varint_len "$secs")))
    [ "$nanos" -gt 0 ] && tlen=$((tlen + 1 + $(varint_len "$nanos")))
    ts="\\010$(varint "$secs")"
    [ "$nanos" -gt 0 ] && ts="$ts\\020$(varint "$nanos")"
    # shellcheck disable=SC2059
    printf "\\020$(varint 137)\\032$(varint "$tlen")$ts"
    ;;
  *) node_entry "$@" ;;
esac
