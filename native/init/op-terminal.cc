// openPty, mountConsole, setCtty: a terminal for the container's process (config.md
// process.terminal and consoleSize; runc's terminal protocol, docs/terminals.md in runc).
//
// The pty is made here, inside the container, after pivot_root (or, for exec, after the setns
// into the container's mount namespace): /dev/ptmx is then the container's (the symlink to
// pts/ptmx of its own devpts instance), so the terminal belongs to the container's devpts and
// shows there as /dev/pts/N, whatever the host's ptys are (runc#814). The master goes to the
// parent, which sends it on to --console-socket (or keeps it to relay a foreground `run` /
// `exec --tty`); we never connect to the socket ourselves: its path is a host path, which we
// may no longer reach, and a failed delivery must fail the command naming the flag.
//
// The exchange (kSyncTerminal + master, then kSyncAck) is drawn at the top of cmd-run.cc.
//
// No copy of the master stays in the container: a process holding it could read and inject
// the container's terminal I/O, and the terminal would never hang up.
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace berth {

int op_openPty(Run& run, const Op& op) {
  long rows = static_cast<long>(op.args[0].i);
  long cols = static_cast<long>(op.args[1].i);
  long uid = static_cast<long>(op.args[2].i);
  if (run.pty_slave >= 0) {
    run.doing("open /dev/ptmx: a terminal is open already");
    return run.fail(EBUSY);
  }
  run.doing("open /dev/ptmx");
  // In the container's root: /dev/ptmx is its symlink to pts/ptmx (a rootfs cannot send us to
  // the host's ptys: the walk is clamped at the root). O_NOCTTY: we are not a session leader
  // yet, and the master must never become anyone's controlling terminal.
  UniqueFd master;
  if (open_in_root(run, "/dev/ptmx", O_RDWR | O_NOCTTY, &master) != 0) {
    if (run.err == ENOENT) run.detail.add(" (no /dev/ptmx: mount a devpts on /dev/pts)");
    return -1;
  }
  run.doing("unlockpt /dev/ptmx");
  int unlock = 0;
  if (ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) {
    // ENOTTY: whatever the rootfs put at /dev/ptmx, it is not a pty multiplexer.
    return run.fail(errno);
  }
  unsigned int number = 0;
  run.doing("ptsname /dev/ptmx");
  if (ioctl(master.get(), TIOCGPTN, &number) != 0) return run.fail(errno);
  Text<32> name;
  name.add("/dev/pts/").add(static_cast<long long>(number));

  // The slave straight from the master (TIOCGPTPEER, Linux 4.13): no path lookup, so no
  // rootfs trick can hand us another file for it. Older kernels: the path, in the root.
  run.doing("open the pty slave ", name.c_str());
  UniqueFd slave(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid()) {
    if (errno != EINVAL && errno != ENOTTY) return run.fail(errno);
    if (open_in_root(run, name.c_str(), O_RDWR | O_NOCTTY, &slave) != 0) return -1;
  }
  if (rows > 0 && cols > 0) {
    run.doing("set the terminal size to ", rows, "x", cols, " (TIOCSWINSZ)");
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    if (ioctl(slave.get(), TIOCSWINSZ, &ws) != 0) return run.fail(errno);
  }
  if (uid > 0) {
    // The process's user must be able to use its terminal (as runc's fixStdioPermissions):
    // only the owner changes, the group stays what the devpts mount's gid= made it. EINVAL
    // (uid not mapped) and EPERM (owner not mapped): leave it, as runc does.
    run.doing("chown ", name.c_str(), " to uid ", uid);
    if (fchown(slave.get(), static_cast<uid_t>(uid), static_cast<gid_t>(-1)) != 0 && errno != EINVAL && errno != EPERM) {
      return run.fail(errno);
    }
  }

  run.doing("send the pty master of ", name.c_str(), " to the parent");
  if (int r = sync_send_fd(run.sync_fd, abi::kSyncTerminal, name.c_str(), master.get()); r < 0) return run.fail(-r);
  master.reset();
  run.pty_slave = slave.release();

  run.doing("wait for the parent to take the pty master of ", name.c_str());
  abi::SyncRecord rec;
  return wait_ack(run, &rec);
}

// config-linux.md "Default Devices": /dev/console is the pty, bind-mounted (the plan creates
// the file to mount on, with mkdirInRoot, before this op).
int op_mountConsole(Run& run, const Op&) {
  run.doing("bind the pty slave onto /dev/console");
  if (run.pty_slave < 0) {
    run.detail.add(": no terminal (openPty comes first)");
    return run.fail(EBADF);
  }
  UniqueFd target;
  if (open_in_root(run, "/dev/console", O_PATH, &target) != 0) return -1;
  ProcFdPath from(run.pty_slave);
  ProcFdPath where(target.get());
  if (mount(from.c_str(), where.c_str(), nullptr, MS_BIND, nullptr) != 0) return run.fail(errno);
  return 0;
}

// The slave becomes the controlling terminal of a new session, and the process's stdin,
// stdout and stderr (replacing the caller's fds 0-2, which a terminal process does not get).
int op_setCtty(Run& run, const Op&) {
  run.doing("make the pty slave the controlling terminal");
  if (run.pty_slave < 0) {
    run.detail.add(": no terminal (openPty comes first)");
    return run.fail(EBADF);
  }
  UniqueFd slave(run.pty_slave);
  run.pty_slave = -1;
  // A terminal is the controlling terminal of one session, and only its leader may take it.
  // We are never a process group leader here (the launch's clone keeps the parent's group),
  // so setsid cannot fail with EPERM, but say so if it does.
  run.doing("setsid");
  if (setsid() < 0) return run.fail(errno);
  run.doing("ioctl TIOCSCTTY on the pty slave");
  if (ioctl(slave.get(), TIOCSCTTY, 0) != 0) return run.fail(errno);
  for (int fd = 0; fd <= 2; fd++) {
    run.doing("dup the pty slave onto fd ", fd);
    // dup2 clears close-on-exec on the copy: fds 0-2 reach the process, the original does not.
    if (dup2(slave.get(), fd) < 0) return run.fail(errno);
  }
  return 0;
}

}  // namespace berth
