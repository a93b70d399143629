#!/bin/bash
# scripts/systemd-ns/run.sh DIR COMMAND...
#
# Run COMMAND (cwd DIR, as root) as a service of a real systemd that is PID 1 of its own pid,
# mount and cgroup namespaces on this host, so that berth's systemd cgroup driver can be tested
# against systemd itself (StartTransientUnit, the system bus, /run/systemd/private) on a host
# whose own PID 1 is not systemd. Exit status: COMMAND's; 124 on timeout; 125 when the
# namespace or systemd could not be set up.
#
# Cgroups: one directory "berth-sd-<pid>" this script creates at the root of every hierarchy
# the host mounts (the v1 controllers, name=systemd, cgroup2) -- the same places berth's own
# integration tests use -- and nothing else. The script's child joins them and then unshares its
# cgroup namespace, so the cgroupfs it mounts for systemd shows only those directories as "/".
# systemd sees a hybrid host (v1 controllers + cgroup2 at /sys/fs/cgroup/unified), as this host
# is, and the memory, pids and cpu limits it sets are real (the host's cgroup2 has no
# controllers of its own: they are bound to v1 here). Everything is removed at the end.
#
# systemd: /lib/systemd/systemd --system --unit=berth-test.service, with container=berth-test
# (so it manages no host devices and skips the units that only make sense on bare metal).
# berth-test.service pulls in dbus.socket (the system bus, as on a real host) and runs
# COMMAND; SuccessAction/FailureAction=exit-force hand COMMAND's exit status back as systemd's
# own, which is what this script exits with. COMMAND's output is written to a file in the
# control directory and copied to this script's stdout afterwards.
#
# Environment: SD_TIMEOUT (seconds, 900), SD_ENV (names of more variables to pass in).
set -euo pipefail

if [[ ${1:-} == --inside ]]; then
  # ------------------------------------------------------ inside the new namespaces (pid 1 to be)
  # A mount namespace shares the host's files: a systemd booting on the host's / would run
  # systemd-tmpfiles on the host's /tmp (it empties it) and more. So systemd gets a root of
  # its own: the host's / as the lower layer of an overlay whose upper layer is a tmpfs, and
  # only DIR and the control directory bound in read-write, as run-in-vm.sh's guest has.
  ctl=$2 dir=$3
  mount --make-rprivate /
  new=$ctl/root
  mkdir -p "$new"
  mount -t tmpfs -o mode=0755 overlay-rw "$new"
  mkdir -p "$new/upper" "$new/work" "$new/root"
  mount -t overlay -o lowerdir=/,upperdir="$new/upper",workdir="$new/work" overlay "$new/root"
  new=$new/root
  mount --rbind /dev "$new/dev"
  mount -t proc proc "$new/proc"
  # Read-only sysfs: systemd then runs no udev (ConditionPathIsReadWrite=/sys) on the host's devices.
  mount -t sysfs -o ro sysfs "$new/sys"
  mount -t tmpfs -o mode=0755 cgroup "$new/sys/fs/cgroup"
  while read -r name opts; do
    mkdir -p "$new/sys/fs/cgroup/$name"
    if [[ $name == unified ]]; then mount -t cgroup2 -o nsdelegate cgroup2 "$new/sys/fs/cgroup/unified"
    else mount -t cgroup -o "$opts" cgroup "$new/sys/fs/cgroup/$name"; fi
  done <"$ctl/hierarchies"
  for d in /run:0755 /tmp:1777 /var/tmp:1777; do mount -t tmpfs -o "mode=${d#*:}" tmpfs "$new${d%:*}"; done
  mkdir -p "$new$dir" "$new$ctl"
  mount --bind "$dir" "$new$dir"
  mount --bind "$ctl" "$new$ctl"
  # Our units only: the test command, and a system bus without the boot-time dependencies
  # (Debian's dbus.socket pulls in sysinit.target: tmpfiles, journald, ...).
  cp "$ctl"/units/* "$new/etc/systemd/system/"
  cd "$new"
  mkdir -p .oldroot
  pivot_root . .oldroot
  umount -l /.oldroot
  rmdir /.oldroot
  export container=berth-test
  exec /lib/systemd/systemd --system --unit=berth-test.service --log-target=console --log-level=warning
fi

dir=$(cd "$1" && pwd)
shift
[[ $# -gt 0 ]] || { echo "usage: $0 DIR COMMAND..." >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "run.sh: must run as root" >&2; exit 125; }
[[ -x /lib/systemd/systemd ]] || { echo "run.sh: /lib/systemd/systemd is not installed (apt-get install systemd dbus)" >&2; exit 125; }

name=berth-sd-$$
ctl=$(mktemp -d /tmp/berth-sd.XXXXXX)
chmod 0755 "$ctl"
cgdirs=()
cleanup() {
  # Deepest first: what systemd made inside ours (it may not have cleaned up on exit-force).
  for d in "${cgdirs[@]}"; do
    [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$ctl"
}
trap cleanup EXIT

# The hierarchies: "name mount-options" per line; "unified" for cgroup2. mountinfo has a
# variable number of optional fields before " - FSTYPE SOURCE SUPER-OPTIONS".
while read -r line; do
  read -r _ _ _ root mp _ <<<"${line%% - *}"
  read -r fstype _ super <<<"${line#* - }"
  [[ $mp == /sys/fs/cgroup/* && $root == / ]] || continue
  base=${mp#/sys/fs/cgroup/}
  case $fstype in
    cgroup2) echo "unified -" ;;
    cgroup) echo "$base $(tr ',' '\n' <<<"$super" | grep -vx 'rw\|ro' | paste -sd,)" ;;
    *) continue ;;
  esac
  mkdir "$mp/$name"
  cgdirs+=("$mp/$name")
  # A new v1 cpuset starts empty: copy the parent's, or nothing can join it.
  [[ -f $mp/$name/cpuset.cpus ]] && cat "$mp/cpuset.cpus" >"$mp/$name/cpuset.cpus" && cat "$mp/cpuset.mems" >"$mp/$name/cpuset.mems"
done </proc/self/mountinfo >"$ctl/hierarchies"

{
  printf 'cd %q\n' "$dir"
  for v in PATH CI TERM HOME ${SD_ENV:-}; do [[ -n ${!v+x} ]] && printf 'export %s=%q\n' "$v" "${!v}"; done
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$ctl/command"
mkdir "$ctl/units"
cat >"$ctl/units/berth-test.service" <<EOF
[Unit]
Description=berth test command
DefaultDependencies=no
Wants=dbus.socket
After=dbus.socket
SuccessAction=exit-force
FailureAction=exit-force

[Service]
Type=exec
ExecStart=/bin/bash $ctl/command
StandardInput=null
StandardOutput=file:$ctl/out
StandardError=file:$ctl/err
EOF
cat >"$ctl/units/dbus.socket" <<EOF
[Unit]
Description=D-Bus System Message Bus Socket
DefaultDependencies=no

[Socket]
ListenStream=/run/dbus/system_bus_socket
EOF
cat >"$ctl/units/dbus.service" <<EOF
[Unit]
Description=D-Bus System Message Bus
DefaultDependencies=no
Requires=dbus.socket

[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only
EOF

status=0
(
  for d in "${cgdirs[@]}"; do echo $BASHPID >"$d/cgroup.procs"; done
  exec timeout --kill-after=10 "${SD_TIMEOUT:-900}" unshare --mount --pid --cgroup --fork --kill-child "$0" --inside "$ctl" "$dir"
) >"$ctl/systemd.log" 2>&1 || status=$?
[[ -f $ctl/out ]] && cat "$ctl/out"
[[ -f $ctl/err ]] && cat "$ctl/err" >&2
if [[ ! -f $ctl/out ]]; then
  echo "run.sh: systemd did not run the command (exit $status); its log:" >&2
  cat "$ctl/systemd.log" >&2
  exit 125
fi
exit $status
