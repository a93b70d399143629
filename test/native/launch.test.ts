/**
 * launch() and berth-init's run mode, for real: each test builds a plan with encodePlan, starts
 * berth-init in new namespaces, and observes the result from outside (the sync records, the
 * waiting process's /proc entries, the exec'd process's output and exit status).
 *
 * Needs root and `npm run build:native`; skipped otherwise. Mounts happen only in the
 * children's own mount namespaces (every plan makes "/" rslave or rprivate first), and the
 * only host objects are temp dirs, removed afterwards. Every child is killed by its pidfd and
 * reaped by its pid.
 */
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  constants as fsConstants,
} from "node:fs";
import { arch, constants as osConstants, tmpdir } from "node:os";
import { join } from "node:path";
import { SYNC } from "../../src/plan/abi";
import { encodePlan, type ArgValue, type PlanOp } from "../../src/plan/encode";
import * as native from "../../src/native";
import type { Launched, SyncMessage, WaitResult } from "../../src/native";

const isRoot = process.getuid?.() === 0;
const describeRoot = isRoot ? describe : describe.skip;

const { errno } = osConstants;

const CLONE_NEWNS = 0x00020000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_VM = 0x00000100;

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_PRIVATE = 1 << 18;
const MS_SLAVE = 1 << 19;
const MOUNT_ATTR_RDONLY = 0x1;
const S_IFCHR = 0o020000;
const RLIMIT_NOFILE = 7;
const ADDR_NO_RANDOMIZE = 0x0040000;
const SIGKILL = 9;

const op = (name: PlanOp["op"], ...args: ArgValue[]): PlanOp => ({ op: name, args, origin: "(test)" });

/** What the tests own: temp dirs to remove, children to kill and reap, fds to close. */
const dirs: string[] = [];
const children: Launched[] = [];
const fds: number[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "berth-launch-"));
  dirs.push(d);
  return d;
}

function track<T extends number>(fd: T): T {
  fds.push(fd);
  return fd;
}

function launch(plan: PlanOp[], childFds: number[], cloneFlags: number, extra: { pidnsFd?: number } = {}): Launched {
  const l = native.launch({ initPath: native.berthInitPath(), plan: encodePlan(plan), fds: childFds, cloneFlags, ...extra });
  children.push(l);
  return l;
}

/** The next sync record, with a deadline (syncRecv itself blocks). */
function recv(l: Launched, timeoutMs = 10_000): SyncMessage | null {
  if (!native.pidfdWait(l.syncFd, timeoutMs)) throw new Error(`no sync record from pid ${l.pid} in ${timeoutMs} ms`);
  return native.syncRecv(l.syncFd);
}

/** Waits for the child to exit (deadline), then reaps it. */
function reap(l: Launched, timeoutMs = 10_000): WaitResult {
  if (!native.pidfdWait(l.pidfd, timeoutMs)) throw new Error(`pid ${l.pid} still running after ${timeoutMs} ms`);
  const r = native.waitpid(l.pid, false);
  children.splice(children.indexOf(l), 1);
  native.closeFd(l.pidfd);
  native.closeFd(l.syncFd);
  return r;
}

/** `start`: one byte into the exec fifo. O_NONBLOCK: ENXIO instead of a hang if nobody reads. */
function start(fifo: string, data = "x"): void {
  const fd = openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** Polls until `check` holds (for states of another process we cannot be told about). */
function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): void {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

const fdList = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b);

/** A /proc/<pid>/status field. */
const status = (pid: number, field: string): string =>
  new RegExp(`^${field}:\\s*(.*)$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "";

/** An exec fifo opened as create does, plus its path for start(). */
function execFifo(dir: string): { path: string; fd: number } {
  const path = join(dir, "exec.fifo");
  native.mkfifo(path, 0o600);
  return { path, fd: track(native.openFifoRdwr(path)) };
}

/** Kills (SIGKILL by pidfd) and reaps every child still tracked. */
function killChildren(): void {
  for (const l of children.splice(0)) {
    try {
      native.pidfdSendSignal(l.pidfd, SIGKILL);
    } catch {
      // already gone
    }
    native.pidfdWait(l.pidfd, 5000);
    native.waitpid(l.pid, false);
    native.closeFd(l.pidfd);
    native.closeFd(l.syncFd);
  }
}

afterEach(() => {
  killChildren();
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describeRoot("launch: berth-init in new namespaces, no pivot_root", () => {
  test("sethostname, ready, waitStart, exec: the process sees its hostname, is pid 1, and gets only fds 0..n-1", () => {
    const dir = tempDir();
    const fifo = execFifo(dir);
    // stdin is a second fifo, so the shell can be held (read) while we look at its fds.
    const hold = join(dir, "hold.fifo");
    native.mkfifo(hold, 0o600);
    const stdin = track(native.openFifoRdwr(hold));
    const out = track(openSync(join(dir, "out"), "w"));
    const script = "hostname; echo pid=$$; echo waiting; read x; echo done";
    const plan = [
      op("sethostname", "t1"),
      op("ready"),
      op("waitStart", 3),
      op("exec", "/bin/sh", ["sh", "-c", script], ["PATH=/bin:/usr/bin"]),
    ];
    const l = launch(plan, [stdin, out, out, fifo.fd], CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC);
    // Our copies are the child's business now (the fifo stays open in berth-init).
    for (const fd of fds.splice(0)) closeSync(fd);

    expect(recv(l)).toEqual({ type: SYNC.ready, opIndex: -1, errno: 0, detail: "" });

    // berth-init, waiting on the fifo: fds 0..3 as given, its sync end (5) and its own memfd
    // (6); the plan (4) was read and closed. It runs from the sealed memfd, not from the file.
    expect(fdList(l.pid)).toEqual([0, 1, 2, 3, 5, 6]);
    expect(readlinkSync(`/proc/${l.pid}/exe`)).toBe("/memfd:berth-init (deleted)");
    expect(readlinkSync(`/proc/${l.pid}/fd/6`)).toBe("/memfd:berth-init (deleted)");
    expect(readFileSync(`/proc/${l.pid}/exe`).equals(readFileSync(native.berthInitPath()))).toBe(true);
    // Not writable through /proc/<pid>/exe, not even by root (CVE-2019-5736).
    for (const flags of [fsConstants.O_WRONLY, fsConstants.O_RDWR]) {
      let code: string | undefined;
      try {
        closeSync(openSync(`/proc/${l.pid}/exe`, flags));
      } catch (e) {
        code = (e as NodeJS.ErrnoException).code;
      }
      expect(["ETXTBSY", "EPERM"]).toContain(code);
    }
    // Signals as a fresh process has them: nothing ignored (Node ignores SIGPIPE), nothing blocked.
    expect(status(l.pid, "SigIgn")).toBe("0000000000000000");
    expect(status(l.pid, "SigBlk")).toBe("0000000000000000");

    start(fifo.path);
    waitFor("the shell to reach `read`", () => readFileSync(join(dir, "out"), "utf8").includes("waiting"));
    // The user's process: exactly the fds the plan gave it and did not close (the exec fifo
    // was closed by waitStart; plan, sync and memfd were close-on-exec).
    expect(fdList(l.pid)).toEqual([0, 1, 2]);
    expect(readlinkSync(`/proc/${l.pid}/exe`)).not.toContain("memfd");

    start(hold, "go\n"); // the shell's `read` returns
    expect(reap(l)).toMatchObject({ pid: l.pid, exitCode: 0, signal: null });
    expect(readFileSync(join(dir, "out"), "utf8")).toBe("t1\npid=1\nwaiting\ndone\n");
  });

  test("a failing op: kSyncError with its index, errno and what was being done; then EOF, exit 1", () => {
    const plan = [
      op("mountPropagation", "/", MS_REC | MS_PRIVATE),
      op("mount", "/nonexistent-berth-source", "/tmp", "", MS_BIND, ""),
      op("ready"),
    ];
    const l = launch(plan, [], CLONE_NEWNS | CLONE_NEWPID);
    expect(recv(l)).toEqual({
      type: SYNC.error,
      opIndex: 1,
      errno: errno.ENOENT,
      detail: "mount /nonexistent-berth-source on /tmp",
    });
    expect(recv(l)).toBeNull();
    expect(reap(l)).toMatchObject({ exitCode: 1, signal: null });
  });

  test.each([
    ["no-such-program-berth", errno.ENOENT, 'exec: "no-such-program-berth": executable file not found in $PATH'],
    ["/no/such/program", errno.ENOENT, 'exec: "/no/such/program": stat /no/such/program: no such file or directory'],
    ["/etc/passwd", errno.EACCES, 'exec: "/etc/passwd": permission denied'],
    ["/etc", errno.EACCES, 'exec: "/etc": permission denied'],
  ])("checkExec %s: runc's wording", (file, err, detail) => {
    const l = launch([op("checkExec", file, "/usr/bin:/bin"), op("ready")], [], CLONE_NEWPID);
    expect(recv(l)).toEqual({ type: SYNC.error, opIndex: 0, errno: err, detail });
    expect(reap(l).exitCode).toBe(1);
  });

  test("checkExec finds a program in PATH", () => {
    const l = launch([op("checkExec", "sh", "/nonexistent::/bin"), op("ready")], [], CLONE_NEWPID);
    expect(recv(l)).toMatchObject({ type: SYNC.ready });
    expect(reap(l).exitCode).toBe(0); // a plan without exec ends with exit 0
  });

  test("an exec that fails after ready: stderr gets it, exit 127", () => {
    const dir = tempDir();
    const fifo = execFifo(dir);
    const err = track(openSync(join(dir, "err"), "w"));
    const plan = [op("ready"), op("waitStart", 1), op("exec", "/no/such/binary", ["x"], [])];
    const l = launch(plan, [err, fifo.fd, err], CLONE_NEWPID);
    expect(recv(l)).toMatchObject({ type: SYNC.ready });
    start(fifo.path);
    expect(reap(l)).toMatchObject({ exitCode: 127 });
    expect(readFileSync(join(dir, "err"), "utf8")).toBe('berth-init: exec "/no/such/binary": No such file or directory\n');
  });

  test("exec searches envp's PATH", () => {
    const dir = tempDir();
    const out = track(openSync(join(dir, "out"), "w"));
    const plan = [op("exec", "echo", ["echo", "found"], ["PATH=/nonexistent:/bin"])];
    const l = launch(plan, [out, out, out], CLONE_NEWPID);
    expect(reap(l).exitCode).toBe(0);
    expect(readFileSync(join(dir, "out"), "utf8")).toBe("found\n");
  });

  test("waitParent blocks until syncSend(ack)", () => {
    const l = launch([op("waitParent"), op("ready")], [], CLONE_NEWPID);
    expect(native.pidfdWait(l.syncFd, 200)).toBe(false); // nothing until we ack
    native.syncSend(l.syncFd, SYNC.ack);
    expect(recv(l)).toMatchObject({ type: SYNC.ready });
    expect(reap(l).exitCode).toBe(0);
  });

  test("waitParent refuses anything but an ack", () => {
    const l = launch([op("waitParent"), op("ready")], [], CLONE_NEWPID);
    native.syncSend(l.syncFd, SYNC.ready);
    expect(recv(l)).toMatchObject({ type: SYNC.error, opIndex: 0, errno: errno.EPROTO });
    expect(reap(l).exitCode).toBe(1);
  });

  test("a new user namespace: berth-init starts only after the maps are written, as root with every capability", () => {
    const dir = tempDir();
    const out = track(openSync(join(dir, "out"), "w"));
    const CLONE_NEWUSER = 0x10000000;
    const l = launch([op("exec", "/bin/sh", ["sh", "-c", "id -u; grep CapEff /proc/self/status"], [])], [out, out, out], CLONE_NEWUSER | CLONE_NEWPID);
    expect(native.pidfdWait(l.pidfd, 200)).toBe(false); // waits for the maps
    writeFileSync(`/proc/${l.pid}/uid_map`, "0 100000 65536\n");
    writeFileSync(`/proc/${l.pid}/gid_map`, "0 100000 65536\n");
    native.syncSend(l.syncFd, SYNC.ack);
    expect(reap(l).exitCode).toBe(0);
    const [uid, capEff] = readFileSync(join(dir, "out"), "utf8").trim().split("\n");
    expect(uid).toBe("0");
    expect(BigInt(`0x${capEff!.split(/\s+/)[1]}`)).toBe((1n << BigInt(Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8")) + 1)) - 1n);
  });

  test("setExecLabel writes the label where the LSM takes it; without that LSM the write fails, named", () => {
    const lsm = existsSync("/sys/kernel/security/apparmor") ? "apparmor" : "none";
    const l = launch([op("setExecLabel", "apparmor", "exec berth-test-profile"), op("ready")], [], CLONE_NEWPID);
    const msg = recv(l);
    if (lsm === "none") {
      expect(msg).toMatchObject({ type: SYNC.error, opIndex: 0, detail: expect.stringMatching(/^write exec berth-test-profile to \/proc\/self\/attr\/(apparmor\/)?exec$/) });
      expect(msg!.errno).toBeGreaterThan(0);
    } else {
      // A profile that is not loaded is refused by AppArmor itself.
      expect(msg).toMatchObject({ type: SYNC.error, opIndex: 0 });
    }
    reap(l);
  });

  test("pidnsFd: the child is created in that pid namespace, and ours is restored after", () => {
    const dir = tempDir();
    const fifo = execFifo(dir);
    const first = launch([op("ready"), op("waitStart", 0), op("exec", "/bin/true", ["true"], [])], [fifo.fd], CLONE_NEWPID);
    expect(recv(first)).toMatchObject({ type: SYNC.ready });

    const pidns = track(openSync(`/proc/${first.pid}/ns/pid`, "r"));
    const out = track(openSync(join(dir, "out"), "w"));
    const second = launch([op("exec", "/bin/sh", ["sh", "-c", "echo pid=$$"], [])], [out, out, out], 0, { pidnsFd: pidns });
    expect(reap(second).exitCode).toBe(0);
    expect(readFileSync(join(dir, "out"), "utf8")).toBe("pid=2\n");
    expect(readlinkSync("/proc/thread-self/ns/pid_for_children")).toBe(readlinkSync("/proc/self/ns/pid"));
  });

  test("setns joins another process's namespace (and closes the fd); closeFd closes what the plan says", () => {
    const dir = tempDir();
    const fifo = execFifo(dir);
    const first = launch(
      [op("sethostname", "ns-a"), op("setdomainname", "dom.a"), op("ready"), op("waitStart", 0), op("exec", "/bin/true", ["true"], [])],
      [fifo.fd],
      CLONE_NEWUTS | CLONE_NEWPID,
    );
    expect(recv(first)).toMatchObject({ type: SYNC.ready });

    const out = track(openSync(join(dir, "out"), "w"));
    const uts = track(openSync(`/proc/${first.pid}/ns/uts`, "r"));
    const spare = track(openSync("/dev/null", "r"));
    const probe = "for f in 3 4 5; do if { true >&$f; } 2>/dev/null; then echo $f=open; else echo $f=closed; fi; done";
    const script = `hostname; cat /proc/sys/kernel/domainname; ${probe}`;
    const plan = [op("setns", 3, CLONE_NEWUTS), op("closeFd", 4), op("exec", "/bin/sh", ["sh", "-c", script], [])];
    const second = launch(plan, [spare, out, out, uts, spare, spare], CLONE_NEWPID);
    expect(reap(second).exitCode).toBe(0);
    expect(readFileSync(join(dir, "out"), "utf8")).toBe("ns-a\ndom.a\n3=closed\n4=closed\n5=open\n");
  });

  test("closeFd of an fd the process does not have fails with EBADF", () => {
    const l = launch([op("closeFd", 7), op("ready")], [], CLONE_NEWPID);
    expect(recv(l)).toEqual({ type: SYNC.error, opIndex: 0, errno: errno.EBADF, detail: "close fd 7" });
    expect(reap(l).exitCode).toBe(1);
  });

  test("sysctl keys cannot climb out of /proc/sys", () => {
    const plan = [op("sysctl", "kernel/../../self/oom_score_adj", "500"), op("ready")];
    const l = launch(plan, [], CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID);
    expect(recv(l)).toEqual({ type: SYNC.error, opIndex: 0, errno: errno.EXDEV, detail: "sysctl kernel/../../self/oom_score_adj=500" });
    expect(reap(l).exitCode).toBe(1);
  });

  test("cgroupFd: the child starts in that cgroup v2 directory (CLONE_INTO_CGROUP)", () => {
    // A cgroup2 mount (/sys/fs/cgroup on v2, /sys/fs/cgroup/unified on hybrid); we create our
    // own cgroup under it and remove it afterwards.
    const mountPoint = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .find((l) => l.includes(" - cgroup2 "))
      ?.split(" ")[4];
    if (mountPoint === undefined) return; // no cgroup v2 on this host
    const name = `berth-launch-test-${process.pid}`;
    const cgroup = join(mountPoint, name);
    mkdirSync(cgroup);
    try {
      const cgroupFd = openSync(cgroup, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
      let l: Launched;
      try {
        l = native.launch({
          initPath: native.berthInitPath(),
          plan: encodePlan([op("waitParent")]),
          fds: [],
          cloneFlags: CLONE_NEWPID,
          cgroupFd,
        });
        children.push(l);
      } finally {
        closeSync(cgroupFd);
      }
      expect(readFileSync(`/proc/${l.pid}/cgroup`, "utf8")).toContain(`0::/${name}\n`);
      native.syncSend(l.syncFd, SYNC.ack);
      expect(reap(l).exitCode).toBe(0);
    } finally {
      killChildren(); // a cgroup with a process in it cannot be removed
      rmdirSync(cgroup);
    }
  });

  test("a decode failure is reported before any op runs", () => {
    const bad = Buffer.from(encodePlan([op("ready")]));
    bad.writeUInt16LE(999, 16); // unknown tag
    const l = native.launch({ initPath: native.berthInitPath(), plan: bad, fds: [], cloneFlags: CLONE_NEWPID });
    children.push(l);
    const msg = recv(l);
    expect(msg).toMatchObject({ type: SYNC.error, opIndex: -1, errno: errno.EINVAL });
    expect(msg?.detail).toBe("decode the plan: op 0: unknown tag 999");
    expect(reap(l).exitCode).toBe(1);
  });
});

describeRoot("launch: errors are thrown, and leak nothing", () => {
  const openFds = (): number[] => readdirSync("/proc/self/fd").map(Number).sort((a, b) => a - b);

  test("clone3 failure (a cgroupFd that is not a cgroup) throws with errno and syscall", () => {
    const before = openFds();
    const notCgroup = openSync("/dev/null", "r");
    try {
      expect(() =>
        native.launch({ initPath: native.berthInitPath(), plan: encodePlan([]), fds: [], cloneFlags: 0, cgroupFd: notCgroup }),
      ).toThrow(expect.objectContaining({ syscall: "clone3", code: "EBADF", errno: errno.EBADF }));
    } finally {
      closeSync(notCgroup);
    }
    expect(openFds()).toEqual(before);
  });

  test("a berth-init that cannot be executed: the child reports it on the sync socket, exit 127", () => {
    const notElf = join(tempDir(), "not-elf");
    writeFileSync(notElf, "hello\n", { mode: 0o755 });
    const l = native.launch({ initPath: notElf, plan: encodePlan([]), fds: [], cloneFlags: 0 });
    children.push(l);
    expect(recv(l)).toEqual({ type: SYNC.error, opIndex: -1, errno: errno.ENOEXEC, detail: "launch: execveat berth-init" });
    expect(reap(l)).toMatchObject({ exitCode: 127 });
  });

  test("a missing berth-init throws ENOENT with the path", () => {
    expect(() => native.launch({ initPath: "/nonexistent/berth-init", plan: encodePlan([]), fds: [], cloneFlags: 0 })).toThrow(
      expect.objectContaining({ code: "ENOENT", syscall: "open", path: "/nonexistent/berth-init" }),
    );
  });

  test("argument errors are TypeErrors; a closed fd is EBADF", () => {
    const base = { initPath: native.berthInitPath(), plan: encodePlan([]), fds: [] as number[], cloneFlags: 0 };
    expect(() => native.launch({ ...base, cloneFlags: CLONE_VM })).toThrow(
      expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }),
    );
    expect(() => native.launch({ ...base, fds: [-1] })).toThrow(expect.objectContaining({ name: "TypeError" }));
    expect(() => native.launch({ ...base, plan: "x" as unknown as Buffer })).toThrow(
      expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" }),
    );
    expect(() => native.launch({ ...base, fds: [1_000_000] })).toThrow(expect.objectContaining({ code: "EBADF" }));
  });
});

describe("fifo, fd and process helpers", () => {
  test("mkfifo + openFifoRdwr; refuses non-fifos and symlinks", () => {
    const dir = tempDir();
    const path = join(dir, "f");
    native.mkfifo(path, 0o600);
    expect(() => native.mkfifo(path, 0o600)).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "mkfifo", path }));
    const fd = native.openFifoRdwr(path);
    native.closeFd(fd);
    expect(() => native.closeFd(fd)).toThrow(expect.objectContaining({ code: "EBADF" }));
    expect(() => native.openFifoRdwr(dir)).toThrow(expect.objectContaining({ code: "ENXIO" }));
    symlinkSync(path, join(dir, "link"));
    expect(() => native.openFifoRdwr(join(dir, "link"))).toThrow(expect.objectContaining({ code: "ELOOP" }));
  });

  test("waitpid on a pid that is not our child is ECHILD; pidfdOpen of a missing pid is ESRCH", () => {
    expect(() => native.waitpid(1, true)).toThrow(expect.objectContaining({ code: "ECHILD", syscall: "waitpid" }));
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    let missing = pidMax - 1;
    while (existsSync(`/proc/${missing}`)) missing--;
    expect(() => native.pidfdOpen(missing)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });
});

/** A busybox rootfs in a temp dir: /bin/busybox and the applets the scripts use. */
function busyboxRootfs(): string {
  const rootfs = join(tempDir(), "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true, mode: 0o755 });
  mkdirSync(join(rootfs, "etc"), { mode: 0o755 });
  chmodSync(join(rootfs, ".."), 0o755); // mkdtemp's 0700 would stop a non-root user before pivot
  copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
  chmodSync(join(rootfs, "bin", "busybox"), 0o755);
  for (const applet of ["sh", "hostname", "cat", "ls", "wc", "touch", "grep", "id", "mkdir", "readlink", "pwd"]) {
    symlinkSync("busybox", join(rootfs, "bin", applet));
  }
  return rootfs;
}

/** The ops every rootfs test starts with: a private view, the rootfs a mount, /proc, /dev, /tmp. */
function rootfsSetup(rootfs: string): PlanOp[] {
  return [
    op("mountPropagation", "/", MS_REC | MS_SLAVE),
    op("mount", rootfs, "/", "", MS_BIND | MS_REC, ""),
    op("mkdirInRoot", "/proc", 0o555, 0),
    op("mount", "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, ""),
    op("mkdirInRoot", "/dev", 0o755, 0),
    op("mount", "tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=755,size=1m"),
    op("mknod", "/dev/null", S_IFCHR | 0o666, (1 << 8) | 3, 0, 0, 0),
    op("symlink", "/proc/self/fd", "/dev/fd"),
    op("mkdirInRoot", "/tmp", 0o1777, 0),
    op("mount", "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m"),
  ];
}

const ALL_NS = CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC;

/** Runs a rootfs plan to the end: ready, start, exit 0; returns what the script printed. */
function runContainer(plan: PlanOp[], dir: string, fifoFd: number, fifoPath: string): string {
  const out = track(openSync(join(dir, "out"), "w"));
  const l = launch(plan, [track(openSync("/dev/null", "r")), out, out, fifoFd], ALL_NS);
  const msg = recv(l);
  expect(msg).toMatchObject({ type: SYNC.ready });
  start(fifoPath);
  const text = () => readFileSync(join(dir, "out"), "utf8");
  expect([reap(l).exitCode, text()]).toEqual([0, expect.any(String)]);
  return text();
}

describeRoot("launch: a busybox container", () => {
  const script = [
    "echo host=$(hostname)",
    "echo pid=$$",
    "echo cwd=$(pwd)",
    "echo umask=$(umask)",
    "echo nofile=$(ulimit -n)/$(ulimit -Hn)",
    "echo oom=$(cat /proc/self/oom_score_adj)",
    "echo shmmax=$(cat /proc/sys/kernel/shmmax)",
    "echo timer_list=$(wc -c < /proc/timer_list)",
    "echo acpi=$(ls -A /proc/acpi | wc -l)",
    "echo devfd=$(readlink /dev/fd)",
    "[ -f /etc/marker ] && echo marker=file",
    "touch /x 2>/dev/null && echo root=rw || echo root=ro",
    "touch /tmp/x 2>/dev/null && echo tmp=rw || echo tmp=ro",
    "(echo 1 > /proc/sys/kernel/shmmax) 2>/dev/null && echo sys=rw || echo sys=ro",
    "ls /",
    "cat /proc/self/mountinfo",
  ].join("\n");

  /** "ro" or "rw" for the mount at `target` in a mountinfo text (the last one: the top). */
  function mountMode(mountinfo: string, target: string): string | undefined {
    const lines = mountinfo.split("\n").filter((l) => l.split(" ")[4] === target);
    return lines.at(-1)?.split(" ")[5]?.split(",")[0];
  }

  test.each(["pivotRoot", "chrootNoPivot"] as const)("%s: mounts, masks, read-only paths, sysctl, limits", (enter) => {
    const rootfs = busyboxRootfs();
    const dir = tempDir();
    const fifo = execFifo(dir);
    const plan = [
      ...rootfsSetup(rootfs),
      op("mkdirInRoot", "/etc/marker", 0o644, 1),
      op(enter, rootfs),
      op("maskPath", "/proc/kcore"), // not on every kernel: skipped when missing
      op("maskPath", "/proc/timer_list"),
      op("maskPath", "/proc/acpi"),
      op("maskPath", "/proc/no-such-entry"),
      op("sysctl", "kernel.shmmax", "123456789"),
      op("readonlyPath", "/proc/sys"),
      op("readonlyPath", "/proc/no-such-entry"),
      op("mountSetattr", "/tmp", MOUNT_ATTR_RDONLY, 0, 0),
      op("remountRoot", MS_RDONLY),
      op("sethostname", "box"),
      op("setrlimit", RLIMIT_NOFILE, 1000, 2000),
      op("oomScoreAdj", 123),
      op("chdir", "/tmp"),
      op("umask", 0o027),
      op("checkExec", "sh", "/bin"),
      op("ready"),
      op("waitStart", 3),
      op("exec", "sh", ["sh", "-c", script], ["PATH=/bin"]),
    ];
    const out = runContainer(plan, dir, fifo.fd, fifo.path);
    expect(out).toContain(
      [
        "host=box",
        "pid=1",
        "cwd=/tmp",
        "umask=0027",
        "nofile=1000/2000",
        "oom=123",
        "shmmax=123456789",
        "timer_list=0",
        "acpi=0",
        "devfd=/proc/self/fd",
        "marker=file",
        "root=ro",
        "tmp=ro",
        "sys=ro",
      ].join("\n"),
    );
    // Only the rootfs is visible: busybox's bin and what the plan made.
    expect(out).toMatch(/\nbin\ndev\netc\nproc\ntmp\n/);
    const listing = "\nbin\ndev\netc\nproc\ntmp\n";
    const mountinfo = out.slice(out.indexOf(listing) + listing.length);
    expect(mountMode(mountinfo, "/")).toBe("ro");
    expect(mountMode(mountinfo, "/proc")).toBe("rw");
    expect(mountMode(mountinfo, "/proc/sys")).toBe("ro");
    expect(mountMode(mountinfo, "/tmp")).toBe("ro");
    expect(mountMode(mountinfo, "/proc/timer_list")).toBe("rw"); // /dev/null, bound over it
    expect(mountMode(mountinfo, "/proc/acpi")).toBe("ro"); // an empty read-only tmpfs
    expect(mountinfo).toMatch(/ \/proc rw,nosuid,nodev,noexec\S*( \S+)* - proc proc /);
    // Nothing of the host's mount table: the old root is gone.
    expect(mountinfo).not.toMatch(/ \/sys\/fs\/cgroup /);
  });

  test("in-root paths cannot lead out of the rootfs through symlinks, dangling ones included", () => {
    const rootfs = busyboxRootfs();
    const dir = tempDir();
    const hostTarget = join(dir, "host-target"); // exists on the host, not in the rootfs
    mkdirSync(hostTarget);
    symlinkSync(hostTarget, join(rootfs, "abs"));
    symlinkSync("../../../../../../../.." + hostTarget, join(rootfs, "rel"));
    const fifo = execFifo(dir);
    const plan = [
      op("mountPropagation", "/", MS_REC | MS_SLAVE),
      op("mount", rootfs, "/", "", MS_BIND | MS_REC, ""),
      op("mkdirInRoot", "/proc", 0o555, 0),
      op("mount", "proc", "/proc", "proc", 0, ""),
      op("mkdirInRoot", "/abs/made", 0o755, 0),
      op("mkdirInRoot", "/rel/made2", 0o755, 0),
      op("mkdirInRoot", "/abs/file", 0o644, 1),
      op("mount", "tmpfs", "/abs/made", "tmpfs", 0, "size=1m"),
      op("symlink", "/etc/passwd", "/rel/link"),
      op("pivotRoot", rootfs),
      op("ready"),
      op("waitStart", 3),
      op("exec", "/bin/sh", ["sh", "-c", `ls ${hostTarget}; grep -c " ${hostTarget}/made " /proc/self/mountinfo`], []),
    ];
    const out = runContainer(plan, dir, fifo.fd, fifo.path);
    // Created in the rootfs, at the symlinks' targets taken inside it; the mount is there too.
    expect(out).toBe("file\nlink\nmade\nmade2\n1\n");
    expect(readdirSync(hostTarget)).toEqual([]);
    expect(readdirSync(join(rootfs, hostTarget)).sort()).toEqual(["file", "link", "made", "made2"]);
  });

  test("credentials, capabilities, no_new_privs, seccomp, personality", () => {
    const rootfs = busyboxRootfs();
    const dir = tempDir();
    const fifo = execFifo(dir);
    const CAP_CHOWN = 0;
    const CAP_NET_BIND_SERVICE = 10;
    const keep = (1 << CAP_CHOWN) | (1 << CAP_NET_BIND_SERVICE);
    const plan = [
      ...rootfsSetup(rootfs),
      op("pivotRoot", rootfs),
      op("capBounding", keep),
      op("keepCaps"),
      op("setgroups", [1000, 1001]),
      op("setresgid", 1000),
      op("setresuid", 1000),
      op("capset", keep, keep, keep),
      op("capAmbient", keep),
      op("noNewPrivs"),
      op("personality", ADDR_NO_RANDOMIZE),
    ];
    const x64 = arch() === "x64";
    if (x64) {
      // mkdir(83) and mkdirat(258) -> EPERM on x86_64, everything else allowed.
      const insn = (code: number, jt: number, jf: number, k: number) => {
        const b = Buffer.alloc(8);
        b.writeUInt16LE(code, 0);
        b.writeUInt8(jt, 2);
        b.writeUInt8(jf, 3);
        b.writeUInt32LE(k >>> 0, 4);
        return b;
      };
      const bpf = Buffer.concat([
        insn(0x20, 0, 0, 4), // ld arch
        insn(0x15, 0, 4, 0xc000003e), // AUDIT_ARCH_X86_64, else allow
        insn(0x20, 0, 0, 0), // ld nr
        insn(0x15, 3, 0, 83),
        insn(0x15, 2, 0, 258),
        insn(0x06, 0, 0, 0x7fff0000), // allow
        insn(0x06, 0, 0, 0x7fff0000), // allow (other arch)
        insn(0x06, 0, 0, 0x00050000 | errno.EPERM),
      ]);
      plan.push(op("seccompLoad", bpf, 0));
    }
    const script = [
      "echo ids=$(id -u):$(id -g):$(id -G)",
      "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
      "mkdir /tmp/d 2>/dev/null && echo mkdir=ok || echo mkdir=denied",
      "cat /proc/self/personality",
    ].join("\n");
    plan.push(op("ready"), op("waitStart", 3), op("exec", "/bin/sh", ["sh", "-c", script], ["PATH=/bin"]));
    const out = runContainer(plan, dir, fifo.fd, fifo.path);
    const hex = keep.toString(16).padStart(16, "0");
    expect(out).toBe(
      [
        "ids=1000:1000:1000 1001",
        `CapInh:\t${hex}`,
        `CapPrm:\t${hex}`,
        `CapEff:\t${hex}`,
        `CapBnd:\t${hex}`,
        `CapAmb:\t${hex}`,
        "NoNewPrivs:\t1",
        `Seccomp:\t${x64 ? 2 : 0}`,
        `mkdir=${x64 ? "denied" : "ok"}`,
        ADDR_NO_RANDOMIZE.toString(16).padStart(8, "0"),
        "",
      ].join("\n"),
    );
  });

  test("a failing op inside the container reports the op index (mount over a missing source)", () => {
    const rootfs = busyboxRootfs();
    const plan = [...rootfsSetup(rootfs), op("mount", "/nonexistent-berth", "/tmp", "", MS_BIND, ""), op("pivotRoot", rootfs), op("ready")];
    const l = launch(plan, [], ALL_NS);
    expect(recv(l)).toEqual({ type: SYNC.error, opIndex: 10, errno: errno.ENOENT, detail: "mount /nonexistent-berth on /tmp" });
    expect(reap(l).exitCode).toBe(1);
  });

  test("chdir into a host directory through a leaked fd is refused (CVE-2024-21626 class)", () => {
    const rootfs = busyboxRootfs();
    const hostDir = track(openSync(tempDir(), "r")); // a host directory, open in berth-init as fd 3
    const plan = [...rootfsSetup(rootfs), op("pivotRoot", rootfs), op("chdir", "/proc/self/fd/3"), op("ready")];
    const l = launch(plan, [hostDir, hostDir, hostDir, hostDir], ALL_NS);
    expect(recv(l)).toEqual({
      type: SYNC.error,
      opIndex: 11,
      errno: errno.EPERM,
      detail: "chdir to /proc/self/fd/3: the working directory is outside of the container's root, possible container breakout",
    });
    expect(reap(l).exitCode).toBe(1);
  });

  test("maskPath refuses a /dev/null that is not the null device", () => {
    const rootfs = busyboxRootfs();
    mkdirSync(join(rootfs, "dev"));
    symlinkSync("/etc/passwd", join(rootfs, "dev", "null")); // a planted stand-in
    const plan = [
      op("mountPropagation", "/", MS_REC | MS_SLAVE),
      op("mount", rootfs, "/", "", MS_BIND | MS_REC, ""),
      op("mkdirInRoot", "/proc", 0o555, 0),
      op("mount", "proc", "/proc", "proc", 0, ""),
      op("pivotRoot", rootfs),
      op("maskPath", "/proc/timer_list"),
      op("ready"),
    ];
    const l = launch(plan, [], ALL_NS);
    expect(recv(l)).toEqual({
      type: SYNC.error,
      opIndex: 5,
      errno: errno.EINVAL,
      detail: "mask /proc/timer_list: open /dev/null: not the null device (char 1:3)",
    });
    expect(reap(l).exitCode).toBe(1);
  });
});
