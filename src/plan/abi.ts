/**
 * The plan wire format, TypeScript side. native/abi/plan-abi.h declares the same tags,
 * names and argument signatures; test/native/abi.test.ts checks that both sides agree
 * (`berth-init --ops` lists the C++ table, `berth-init --decode` prints an encoded plan).
 *
 * Layout (little-endian):
 *   header  u32 magic "BRTH" | u16 version | u16 flags (0) | u32 opCount | u32 totalLength
 *   op      u16 tag | u16 argCount | u32 argBytes | args...
 *   arg     u8 kind, then: int = i64 | str = u32 len + bytes (no NUL) | strs = u32 n + n strs
 *           | bytes = u32 len + bytes | ints = u32 n + n i64
 *
 * Signatures are strings of kind letters: i int, s str, S strs, b bytes, I ints.
 */

export const PLAN_MAGIC = 0x48545242; // "BRTH" read as a little-endian u32
export const PLAN_VERSION = 2;

export const ArgKind = { i: 1, s: 2, S: 3, b: 4, I: 5 } as const;
export type KindLetter = keyof typeof ArgKind;

/** name -> [tag, signature]. Append only: a tag is never reused for another meaning. */
export const opTable = {
  // block until the parent acks: systemd unit up or cgroups joined (create), moved into a paused
  // container's cgroups (exec). Not for the uid/gid maps: the launch waits for those before the exec.
  waitParent: [1, ""],
  setns: [2, "ii"], // fd, nstype (CLONE_NEW*)
  sethostname: [3, "s"],
  setdomainname: [4, "s"],
  mount: [5, "sssis"], // source, target (in root), fstype, flags, data
  mountSetattr: [6, "siii"], // target (in root), attrSet, attrClr, recursive (0|1)
  mkdirInRoot: [7, "sii"], // path (in root), mode, asFile (0|1)
  mknod: [8, "siiiii"], // path (in root), mode (S_IF* | perm), dev, uid, gid, keepExisting (0|1)
  symlink: [9, "ss"], // target, linkpath (in root)
  pivotRoot: [10, "s"], // rootfs (host path)
  chrootNoPivot: [11, "s"], // rootfs (host path): MS_MOVE onto / and chroot
  maskPath: [12, "s"], // path (in the container, after pivot)
  readonlyPath: [13, "s"],
  remountRoot: [14, "i"], // extra flags (MS_RDONLY ...)
  sysctl: [15, "ss"], // key (dotted), value
  setrlimit: [16, "iii"], // resource, soft, hard (-1 = infinity)
  oomScoreAdj: [17, "i"],
  setgroups: [18, "I"],
  setresgid: [19, "i"],
  setresuid: [20, "i"],
  umask: [21, "i"],
  keepCaps: [22, ""],
  capBounding: [23, "i"], // keep mask: every capability not in it is dropped
  capset: [24, "iii"], // effective, permitted, inheritable masks
  capAmbient: [25, "i"], // mask
  noNewPrivs: [26, ""],
  seccompLoad: [27, "bi"], // BPF program (struct sock_filter[]), seccomp(2) flags
  personality: [28, "i"],
  chdir: [29, "s"],
  checkExec: [30, "ss"], // file, PATH: resolve as execvp would, fail now rather than at start
  ready: [31, ""], // tell the parent: set up, waiting for start
  waitStart: [32, "i"], // fifo fd (opened O_RDWR by the parent): read one byte
  exec: [33, "sSS"], // file, argv, envp (execvp semantics with envp's PATH)
  mountPropagation: [34, "si"], // target (absolute, host view), MS_* propagation flags
  closeFd: [35, "i"],
  unshareTime: [36, "iiii"], // monotonic secs, nsecs, boottime secs, nsecs: a new time namespace for the exec
  joinSessionKeyring: [37, "s"], // name: a new session keyring, so the host's is not inherited
  setExecLabel: [38, "ss"], // /proc/self/attr file, value: the LSM label the exec'd process gets
  chroot: [39, "s"], // root (host path): chroot(2) there, for a container that shares the host's mount namespace
  moveMount: [40, "is"], // fd of a detached mount tree (closed after), target (in root)
  joinCgroup: [41, "s"], // a v1 hierarchy's tasks file (or cgroup.procs): write "0", moving this process there
  unshareCgroup: [42, ""], // a new cgroup namespace, rooted at the cgroups the process is in now
  forkIntoPidns: [43, ""], // exec: clone (CLONE_PARENT) into the pid namespace for children; the child goes on with the plan, we send its pidfd (SYNC.pidfd) and exit
  mountNoFollow: [44, "sssis"], // as mount, for proc and sysfs: the target (in root) must be a directory reached without any symlink; missing ones are made
  hideHostProcfs: [50, "s"], // rootfs (host path): before --no-pivot's move, detach (or cover) every procfs and sysfs mount outside it
  chdirEarly: [51, "s"], // path: chdir before the user switch (the runtime may enter what the user cannot); EACCES/EPERM leave it to chdir
  guardProcTarget: [52, ""], // the next mount or moveMount refuses a target that resolves to the container's /proc or below it (a config bind, as runc's checkProcMount)
  // Tags 45-49: process attributes and seccomp.
  seccompListener: [45, ""], // send the listener fd of the last seccompLoad to the parent (SCM_RIGHTS), wait for its ack
  // Tags 60-64: terminals (config.md process.terminal, consoleSize).
  openPty: [60, "iii"], // rows, cols (0 0: leave), uid to own the slave (-1: leave): open /dev/ptmx in the container, send the master to the parent (SCM_RIGHTS), wait for its ack
  mountConsole: [61, ""], // bind the pty slave onto /dev/console (config-linux.md "Default Devices")
  setCtty: [62, ""], // setsid, the slave becomes the controlling terminal and fds 0, 1, 2
  // Tags 65-69: hooks (native/init/op-hooks.cc).
  hooksSync: [65, ""], // ask the parent to run prestart + createRuntime; its ack carries our host pid
  runHook: [66, "sSSissi"], // path, argv, env, timeout (s, 0 = none), state JSON after `{"pid":N,`, cwd ("" = ours), add HOME (1)
  startResult: [67, "i"], // fd of the start-result fifo: failures from here on are reported there too
  startResultDone: [68, ""], // close it: `berth start` reads EOF, the hooks passed
  // Tags 70-74: network (config-linux.md "Network Devices").
  netDevicesSync: [70, ""], // ask the parent to move linux.netDevices into our network namespace; wait for its ack
} as const satisfies Record<string, readonly [number, string]>;

export type OpName = keyof typeof opTable;

/** Messages on the sync socket (one fixed-size record each way). */
export const SYNC = {
  /** record size in bytes: u32 type | i32 opIndex | i32 errno | char detail[244] */
  size: 256,
  detailSize: 244,
  ready: 1,
  error: 2,
  ack: 3,
  /** child -> parent: the seccomp listener fd rides along (SCM_RIGHTS); the parent acks. */
  seccompListener: 4,
  /** child -> parent: the pidfd of the process that goes on in the sender's place rides along (SCM_RIGHTS); no ack, the sender exits (op forkIntoPidns). */
  pidfd: 5,
  /** child -> parent: run prestart + createRuntime; the ack's opIndex is the child's host pid. */
  hooks: 6,
  /** child -> parent: the pty master rides along (SCM_RIGHTS), detail is its name ("/dev/pts/0"); the parent acks. */
  terminal: 60,
  /** child -> parent: move linux.netDevices into my network namespace (op netDevicesSync); the parent acks. */
  netDevices: 70,
} as const;
