#!/bin/bash
# scripts/vm/run-in-vm.sh DIR COMMAND...
#
# Run COMMAND (cwd DIR, as root) on a pure cgroup v2 Linux: a User-Mode Linux guest (Debian's
# user-mode-linux package; a kernel that runs as a host process, so no /dev/kvm and no disk
# image). This host is cgroup-hybrid, so berth's v2 code (memory.max, pids.max, cpu.max, io.max,
# cgroup.freeze, cgroup.kill, the eBPF device filter) can only be proven in such a guest.
#
# The guest:
#   /                 the host's /, read-only (hostfs), under a tmpfs overlay: node, npm and
#                     node_modules are the host's; writes outside DIR vanish with the guest.
#   DIR               the host's DIR, read-write, at the same path.
#   /sys/fs/cgroup    cgroup2, the only hierarchy (cgroup_no_v1=all); every controller the
#                     kernel has (cpu io memory pids) enabled in the root's subtree_control.
#   /dev/ubda         a sparse scratch disk, block device 98:0, for io.max and device rules.
#   /tmp /run ...     fresh tmpfs; proc, sysfs, devtmpfs, devpts, mqueue.
# Exit status: COMMAND's; 124 when VM_TIMEOUT ran out (20 s before it, a watchdog in the guest
# ends the command and prints what each process waits in); 125 when the guest itself failed.
# A guest that has not powered off VM_POWEROFF_GRACE (15) s after COMMAND ended is stopped from
# the host, with a line on stderr that starts "run-in-vm: the guest did not power off" and the
# end of the guest's console.
#
# Environment: VM_MEM (2G), VM_TIMEOUT (seconds, 600), VM_DISK_MB (256), VM_ENV (names of more
# host variables to pass in; PATH, CI, TERM always are), VM_DEBUG=1 (kernel console on stderr;
# with VM_INIT=systemd also systemd's status lines and the journal), VM_KERNEL (the UML kernel;
# default: see "The kernel" below), VM_INIT (script, the default, or systemd: below).
#
# The same file is the guest's init: the kernel runs it as PID 1 with BERTH_VM_GUEST=1.
#
# VM_INIT=systemd: the host's systemd (Debian's 252; the host itself does not run it) becomes
# the guest's PID 1, for tests of the systemd cgroup driver. This script still builds the root
# (the overlay, proc, sys, dev, /run, /tmp, the hostfs mounts), then execs /lib/systemd/systemd
# --unit=berth-vm.target, with what the host half wrote into /run/systemd:
#   berth-vm.target   wants dbus.socket, dbus.service and berth-vm.service, nothing else (not
#                     multi-user.target, which on this host would start postgresql, containerd).
#   berth-vm.service  after dbus.service: runs COMMAND as above (cwd DIR, environment, output
#                     and exit status in /run/vm) in its own cgroup
#                     /system.slice/berth-vm.service with Delegate=yes; then SuccessAction=
#                     (or FailureAction=) poweroff-force. Type=exec: the boot is "running" as
#                     soon as COMMAND has started.
#   masked            all that sysinit.target pulls in but journald (its wants in /lib and the
#                     host's /etc), udev, systemd-tmpfiles (setup, setup-dev, clean: its D lines
#                     would empty /tmp and /var/tmp, under which DIR may be), gettys, timers,
#                     networkd, resolved, timesyncd, emergency and rescue (sulogin).
#   settings          no generators at all (SYSTEMD_GENERATOR_PATH: the fstab, getty and sysv
#                     ones read the host's /etc); journald Storage=volatile; stop timeouts 5 s;
#                     hostname vm; /.dockerenv hidden (the host is a Docker container, and
#                     systemd would act as a container's init).
# systemd mounts /sys/fs/cgroup (cgroup2 only: cgroup_no_v1=all) and enables controllers as its
# units need them; the system bus is at /run/dbus/system_bus_socket. It adds about 0.5-1 s to
# the boot and 0.5 s to the power-off. Only with the kernel of build-uml-kernel.sh (or
# VM_KERNEL): under Debian's linux.uml, the fallback, systemd dies of SIGSEGV in libc at once
# (the AVX state that kernel loses) and freezes, so that fallback is refused (exit 125).
set -euo pipefail

# Guest: run the command file with the consoles as stdout/stderr, in the project directory, and
# leave its exit status in /run/vm/rc. Used by both inits: this script as PID 1, and
# berth-vm.service under systemd.
guest_run_command() {
  # Unless the host side is a terminal (then the consoles tty1/tty2, made 8-bit clean, are its
  # stdout and stderr), the command writes into files of the control directory, a hostfs
  # mount: the host prints them once the guest is done, and what was written before a hang
  # is there to print too. (Through the consoles, copied by a cat each, a run in CI once
  # printed nothing at all before it timed out.) No colours, no progress bars: not terminals.
  local rc
  if [[ $VM_TTY1 == 1 ]]; then $bb stty -F /dev/tty1 raw -echo; exec 5>/dev/tty1; else exec 5>/run/vm/stdout; fi
  if [[ $VM_TTY2 == 1 ]]; then $bb stty -F /dev/tty2 raw -echo; exec 6>/dev/tty2; else exec 6>/run/vm/stderr; fi
  cd "$VM_DIR" || die "cd $VM_DIR"
  : >/run/vm/started
  # The command in a session of its own, so that the watchdog can end all of it.
  $bb setsid bash /run/vm/cmd </dev/null >&5 2>&6 &
  local cmd=$! watchdog=
  if [[ ${VM_WATCHDOG:-0} -gt 0 ]]; then
    (
      $bb sleep "$VM_WATCHDOG"
      : >/run/vm/stuck
      guest_report_stuck >&6 2>&1
      kill -KILL -- "-$cmd"
    ) &
    watchdog=$!
  fi
  wait "$cmd"
  rc=$?
  [[ -n $watchdog ]] && kill "$watchdog" 2>/dev/null
  exec 5>&- 6>&-
  echo "$rc" >/run/vm/rc
  $bb sync
}

# Guest: the command ran out of its time (VM_WATCHDOG seconds, a little less than VM_TIMEOUT):
# say what every process is waiting in, and under systemd which jobs are pending and the end
# of the journal, before the host's timeout kills the guest with nothing said.
guest_report_stuck() {
  echo "run-in-vm (guest): the command has run for ${VM_WATCHDOG} s, VM_TIMEOUT is close: ending it; the guest's processes:"
  ps -eo pid,ppid,stat,etime,time,wchan:28,args --sort=pid | grep -v ' \[.*\]$' | cut -c1-240
  echo "load: $(</proc/loadavg); $(grep -E '^(MemFree|MemAvailable):' /proc/meminfo | tr -s ' \n' ' ')"
  if [[ $VM_INIT == systemd ]]; then
    systemctl list-jobs --no-pager
    systemctl list-units --failed --no-pager --no-legend
    journalctl -b --no-pager -n 60 -o short-monotonic
  fi
}

if [[ ${BERTH_VM_GUEST:-} == 1 && ${BERTH_VM_STAGE:-} == command ]]; then
  # ------------------------------------------------------------- guest, under systemd
  # berth-vm.service (written below) runs this; its SuccessAction/FailureAction power off.
  set +eu
  bb=$BERTH_VM_BUSYBOX
  die() { echo "run-in-vm (guest): $*" >&2; echo 125 >/run/vm/rc; $bb sync; exit 1; }
  unset BERTH_VM_STAGE
  . /run/vm/env
  guest_run_command
  exit 0
fi

if [[ ${BERTH_VM_GUEST:-} == 1 && $$ == 1 ]]; then
  # ------------------------------------------------------------------------------ guest
  # Each fork+exec costs tens of milliseconds under UML: builtins and one static busybox.
  set +eu
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  bb=$BERTH_VM_BUSYBOX
  # Debian's kernel behind uml-no-xstate.py keeps no AVX-512 state: glibc must not use it (that
  # gets busybox through; node still fails, see build-uml-kernel.sh).
  [[ ${BERTH_VM_FXSAVE:-} == 1 ]] && export GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD
  ctl=$BERTH_VM_CTL
  $bb mount -t proc proc /proc
  [[ -e /dev/tty2 ]] || $bb mount -t devtmpfs dev /dev
  exec 2>/dev/tty2
  die() { echo "run-in-vm (guest): $*" >&2; echo 125 >/run/vm/rc 2>/dev/null; $bb sync; $bb poweroff -f; exit 125; }

  # A writable root: overlay of the read-only hostfs / and a tmpfs, then pivot into it.
  # Debian's kernel has overlayfs as a module; build-uml-kernel.sh's has it built in.
  read -r release </proc/sys/kernel/osrelease
  modules=${BERTH_VM_MODULES:+$BERTH_VM_MODULES/$release}
  read -r -d '' filesystems </proc/filesystems
  if [[ $filesystems != *overlay* ]]; then
    $bb insmod "$modules/kernel/fs/overlayfs/overlay.ko" || die "insmod overlay"
  fi
  $bb mount -t tmpfs -o mode=0755 newroot /tmp || die "tmpfs for the overlay"
  $bb mkdir -p /tmp/upper /tmp/work /tmp/root
  $bb mount -t overlay -o lowerdir=/,upperdir=/tmp/upper,workdir=/tmp/work newroot /tmp/root || die "overlay"
  cd /tmp/root && $bb mkdir -p .oldroot && $bb pivot_root . .oldroot && cd / || die "pivot_root"
  $bb umount -l /.oldroot

  $bb mount -t devtmpfs dev /dev
  exec 2>/dev/tty2
  $bb mount -t proc proc /proc
  $bb mount -t sysfs sys /sys
  for d in /run:0755 /tmp:1777 /var/tmp:1777; do $bb mount -t tmpfs -o "mode=${d#*:}" tmpfs "${d%:*}"; done
  $bb mkdir -p /dev/pts /dev/shm /dev/mqueue /lib/modules /run/vm
  $bb ln -s /proc/self/fd /dev/fd
  [[ -n $modules ]] && $bb ln -sfn "$modules" "/lib/modules/$release"
  $bb mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
  $bb ln -sf pts/ptmx /dev/ptmx
  $bb mount -t tmpfs -o mode=1777 shm /dev/shm
  $bb mount -t mqueue mqueue /dev/mqueue
  # The per-run control directory (command, environment, exit status), then the project.
  $bb mount -t hostfs -o "$ctl" hostfs /run/vm || die "hostfs $ctl"
  ctl=/run/vm
  . /run/vm/env
  $bb mkdir -p "$VM_DIR" && $bb mount -t hostfs -o "$VM_DIR" hostfs "$VM_DIR" || die "hostfs $VM_DIR"

  if [[ $VM_INIT == systemd ]]; then
    # Hand over to systemd (see "VM_INIT=systemd" above). It mounts cgroup2 itself, and finds
    # proc, sys, dev, /run and the hostfs mounts already there. The units and masks the host
    # half wrote go to /run/systemd (the runtime unit directory, so that the overlay's /etc
    # stays the host's, /etc/hostname aside); no generator runs (the fstab, getty and sysv
    # ones would act on the host's /etc). PID 1's environment is not passed to its services.
    $bb cp -a /run/vm/systemd/. /run/systemd/ || die "copy the systemd configuration"
    echo vm >/etc/hostname
    # The host is a Docker container: systemd would take its /.dockerenv for its own, and act
    # as a container's init (no reboot() at the end, for one). The whiteout stays in the overlay.
    [[ -e /.dockerenv ]] && { $bb rm -f /.dockerenv || die "rm /.dockerenv"; }
    export SYSTEMD_GENERATOR_PATH=/run/vm/no-generators
    exec /lib/systemd/systemd --unit=berth-vm.target
    die "exec /lib/systemd/systemd"
  fi

  # cgroup v2 only, every controller delegated from the root.
  $bb mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || die "mount cgroup2"
  read -r -a controllers </sys/fs/cgroup/cgroup.controllers
  for c in "${controllers[@]}"; do echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || die "enable $c"; done
  echo vm >/proc/sys/kernel/hostname
  $bb ip link set lo up
  # This shell stays PID 1 while the command runs, and so reaps whatever it orphans.
  guest_run_command
  $bb poweroff -f
fi

# -------------------------------------------------------------------------------- host
# VM_INIT=systemd: write into CTL/systemd what the guest copies to /run/systemd before it execs
# systemd: the target it boots, the service that runs the command, masks, manager settings.
write_systemd_config() {
  local ctl=$1 busybox=$2 units=$1/systemd/system u
  mkdir -p "$units" "$ctl/systemd/system.conf.d" "$ctl/systemd/journald.conf.d" "$ctl/no-generators"
  cat >"$units/berth-vm.target" <<'UNIT'
[Unit]
Description=run-in-vm.sh guest: the system bus and the command
Wants=dbus.socket dbus.service berth-vm.service
UNIT
  cat >"$units/berth-vm.service" <<UNIT
[Unit]
Description=run-in-vm.sh guest: the command
Wants=dbus.service
After=dbus.service
# It wrote /run/vm/rc; either way the guest is done. Force: nothing left in the guest is worth
# stopping one by one (systemd-shutdown still kills everything, syncs and unmounts).
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Service]
# Type=exec: the boot is over (is-system-running says running) once the command has started.
Type=exec
ExecStart=/bin/bash /run/vm/init
Environment=BERTH_VM_GUEST=1 BERTH_VM_STAGE=command BERTH_VM_BUSYBOX=$busybox
StandardInput=null
StandardOutput=file:/dev/tty2
StandardError=file:/dev/tty2
# The command's cgroup is its own to divide (as the script-as-init guest's root is).
Delegate=yes
TimeoutStopSec=5
UNIT
  # Masks: everything sysinit.target pulls in (the host's own wants included: timesyncd,
  # pstore) but journald; udev (devtmpfs has the nodes; nothing here waits for a .device);
  # tmpfiles (its D and --clean lines would empty /tmp and /var/tmp, where the project
  # directory, read-write hostfs, may be); gettys, timers, networkd, sulogin.
  local masks=(
    systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
    systemd-udev-trigger.service systemd-udev-settle.service
    systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service
    systemd-tmpfiles-clean.service systemd-tmpfiles-clean.timer
    getty.target getty@.service serial-getty@.service console-getty.service container-getty@.service
    timers.target systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service
    systemd-timesyncd.service systemd-resolved.service emergency.service rescue.service
  )
  for u in /lib/systemd/system/sysinit.target.wants/* /etc/systemd/system/sysinit.target.wants/*; do
    [[ -e $u || -L $u ]] && masks+=("${u##*/}")
  done
  for u in "${masks[@]}"; do
    [[ $u == systemd-journald.service ]] || ln -sfn /dev/null "$units/$u"
  done
  printf '[Manager]\nDefaultTimeoutStopSec=5s\n' >"$ctl/systemd/system.conf.d/berth-vm.conf"
  {
    echo '[Journal]'
    echo 'Storage=volatile'
    [[ -n ${VM_DEBUG:-} ]] && echo 'ForwardToConsole=yes'
  } >"$ctl/systemd/journald.conf.d/berth-vm.conf"
  return 0
}

if [[ $# -lt 2 ]]; then
  echo "usage: $0 DIR COMMAND..." >&2
  exit 2
fi
vm_init=${VM_INIT:-script}
case $vm_init in
  script) ;;
  systemd)
    [[ -x /lib/systemd/systemd && -x /usr/bin/dbus-daemon ]] || { echo "run-in-vm: VM_INIT=systemd needs the packages systemd and dbus on this host (the guest's / is the host's)" >&2; exit 125; } ;;
  *) echo "run-in-vm: VM_INIT must be script or systemd, not \"$vm_init\"" >&2; exit 2 ;;
esac

here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
dir=$(cd "$1" && pwd -P)
shift
[[ $dir != / && $dir != *,* ]] || { echo "run-in-vm: DIR must not be / nor contain a comma (hostfs option syntax)" >&2; exit 2; }
# The kernel: VM_KERNEL if set; else the one scripts/vm/build-uml-kernel.sh built and cached
# (it keeps guest threads' whole XSAVE state on any host CPU, and has no modules); else Debian's
# linux.uml behind uml-no-xstate.py, which boots on any CPU but keeps only x87/SSE state, so that
# node does not run in it on CPUs with AVX-512 or AMX.
kernel=${VM_KERNEL:-$("$here/build-uml-kernel.sh" --path 2>/dev/null || true)}
launch=() modules= fxsave=
if [[ -z $kernel ]]; then
  kernel=$(readlink -f "$(command -v linux.uml || echo /nonexistent)")
  modules=$(readlink -f "$(dirname "$kernel")/../lib/uml/modules")
  launch=(python3 "$here/uml-no-xstate.py")
  fxsave=1
fi
if [[ $vm_init == systemd && $fxsave == 1 ]]; then
  echo "run-in-vm: VM_INIT=systemd needs the kernel of scripts/vm/build-uml-kernel.sh: under Debian's linux.uml systemd dies at once (SIGSEGV in libc, the AVX state that kernel loses)" >&2
  exit 125
fi
busybox=$(command -v busybox || true)
if [[ ! -x $kernel || -z $busybox ]]; then
  echo "run-in-vm: needs a UML kernel (scripts/vm/build-uml-kernel.sh, or the package user-mode-linux) and busybox-static (scripts/install-deps.sh)" >&2
  exit 125
fi

ctl=$(mktemp -d /tmp/berth-vm.XXXXXX)
upid=
cleanup() {
  # UML setsid()s and forks helpers into its own process group: end the group, not only the
  # main process, or the helpers keep our output pipes open.
  [[ -n $upid ]] && kill -KILL -- "-$upid" "$upid" 2>/dev/null
  rm -rf "$ctl"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cp "$(readlink -f "${BASH_SOURCE[0]}")" "$ctl/init"
tty1=0 tty2=0
[[ -t 1 ]] && tty1=1
[[ -t 2 ]] && tty2=1
# The guest's watchdog fires 20 s before the host's timeout (boot ~2 s, the report and the
# power-off a few more), when there are that many.
timeout=${VM_TIMEOUT:-600} watchdog=0
[[ $timeout -ge 60 ]] && watchdog=$((timeout - 20))
printf 'VM_DIR=%q VM_TTY1=%s VM_TTY2=%s VM_INIT=%s VM_WATCHDOG=%s\n' "$dir" "$tty1" "$tty2" "$vm_init" "$watchdog" >"$ctl/env"
{
  echo 'export HOME=/root LANG=C.UTF-8'
  for v in PATH CI TERM ${VM_ENV:-}; do [[ -v $v ]] && printf 'export %s=%q\n' "$v" "${!v}"; done
  printf 'exec'
  printf ' %q' "$@"
  echo
} >"$ctl/cmd"
truncate -s "${VM_DISK_MB:-256}M" "$ctl/disk.img"
init_args=()
[[ $vm_init == systemd ]] && write_systemd_config "$ctl" "$busybox"
# The kernel console: on stderr with VM_DEBUG=1, else kept in CTL/console.log and its end printed
# when the guest hangs or does not power off. Under systemd it also has the status lines and
# what systemd-shutdown does (its log reaches the console through the kernel's log).
[[ $vm_init == systemd ]] && init_args=(systemd.show_status=1)
[[ $vm_init == systemd && -n ${VM_DEBUG:-} ]] && init_args+=(systemd.log_target=console)
# UML keeps the guest's RAM in a file under TMPDIR: keep that in memory.
export TMPDIR=/dev/shm

# UML sets O_NONBLOCK on its console fds; hand it private pipes, never our own stdout/stderr
# (which other processes may share), each copied out by a cat.
set +e
exec 3> >(exec cat)
exec 4> >(exec cat >&2)
if [[ -n ${VM_DEBUG:-} ]]; then exec 5> >(exec cat >&2); else exec 5> >(exec cat >"$ctl/console.log"); fi
"${launch[@]}" "$kernel" mem="${VM_MEM:-2G}" uml_dir="$ctl" umid=berth ubd0="$ctl/disk.img" \
  rootfstype=hostfs rootflags=/ ro init="$ctl/init" \
  con=null ssl=null con0=fd:5 con1=fd:3 con2=fd:4 \
  cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 \
  BERTH_VM_GUEST=1 BERTH_VM_CTL="$ctl" BERTH_VM_MODULES="$modules" BERTH_VM_FXSAVE="$fxsave" BERTH_VM_BUSYBOX="$busybox" \
  "${init_args[@]}" \
  </dev/null >"$ctl/uml.log" 2>&1 &
upid=$!
# Wait for the guest to power off, for VM_TIMEOUT, and no longer than VM_POWEROFF_GRACE seconds
# once the command's exit status is in CTL/rc: the command is over then, and a guest that does
# not stop (once in CI, systemd's power-off never ended) is stopped from here.
poweroff_grace=${VM_POWEROFF_GRACE:-15}
deadline=$((SECONDS + timeout)) off_by=
timed_out=0 forced_off=0
while kill -0 "$upid" 2>/dev/null; do
  if [[ -z $off_by && -s $ctl/rc ]]; then off_by=$((SECONDS + poweroff_grace)); fi
  if [[ -n $off_by ]] && ((SECONDS >= off_by)); then forced_off=1; break; fi
  if ((SECONDS >= deadline)); then timed_out=1; break; fi
  sleep 0.2
done
# Out of the job table first: bash reports a job it sees killed ("line N: PID Killed ...") on
# our stderr, where tests read the first line (seen once in CI). It still reaps the process.
disown "$upid" 2>/dev/null
kill -KILL -- "-$upid" "$upid" 2>/dev/null
for _ in $(seq 200); do kill -0 "$upid" 2>/dev/null || break; sleep 0.05; done
upid=
exec 3>&- 4>&- 5>&-
wait 2>/dev/null
# The end of the kernel console (CTL/console.log), indented, after a hang.
console_tail() {
  [[ -s $ctl/console.log ]] || { echo "  (nothing on the console; UML said:)"; tail -n 20 "$ctl/uml.log" | sed 's/^/  /'; return 0; }
  tail -n "$1" "$ctl/console.log" | sed 's/^/  /'
}
# The command's output (see guest_run_command), whatever became of the guest.
[[ -f $ctl/stdout ]] && cat "$ctl/stdout"
[[ -f $ctl/stderr ]] && cat "$ctl/stderr" >&2
if [[ -e $ctl/stuck ]]; then
  echo "run-in-vm: the command ran out of time (${watchdog} s of VM_TIMEOUT ${timeout} s): ended by the guest's watchdog, its report above" >&2
  exit 124
fi
if [[ $timed_out == 1 ]]; then
  if [[ -e $ctl/started ]]; then
    echo "run-in-vm: timed out after $timeout s: the command had started, but the guest neither finished nor reported (its kernel stuck?); the end of its console:" >&2
  else
    echo "run-in-vm: timed out after $timeout s before the command started (the boot hung); the end of its console:" >&2
  fi
  console_tail 40 >&2
  exit 124
fi
if [[ $forced_off == 1 ]]; then
  # The command's status stands. Tests look for this line's start to tell it from the command's
  # own stderr.
  echo "run-in-vm: the guest did not power off within ${poweroff_grace} s of the command's end: stopped it from the host; the end of its console:" >&2
  console_tail 30 >&2
fi
if [[ -s $ctl/rc ]]; then exit "$(<"$ctl/rc")"; fi
echo "run-in-vm: the guest reported no exit status; the end of its console:" >&2
console_tail 40 >&2
exit 125
