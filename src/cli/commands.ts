/**
 * Every runc subcommand with runc's flags (names, short aliases, types), so engines can call
 * berth exactly as they call runc, and `--help` of each is complete. A verb that is not built
 * yet is still registered: it parses its flags and then says plainly that it is not built.
 */
import type { Options } from "yargs";

export interface CommandDef {
  name: string;
  usage: string;
  describe: string;
  options: Record<string, Options>;
  /** false while the verb is registered but not yet implemented. */
  built: boolean;
}

// exec's repeatable flags (--env, --cap, --cgroup, ...) are plain strings, which yargs gathers
// into an array when repeated: an `array` option would also swallow the container id after it.
const str = (describe: string, extra: Options = {}): Options => ({ type: "string", describe, requiresArg: true, ...extra });
const bool = (describe: string, extra: Options = {}): Options => ({ type: "boolean", describe, ...extra });
const num = (describe: string, extra: Options = {}): Options => ({ type: "number", describe, requiresArg: true, ...extra });

const bundle = str("path to the root of the bundle directory, defaults to the current directory", { alias: "b" });
const consoleSocket = str(
  "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
);
const pidfdSocket = str("path to an AF_UNIX socket which will receive a pidfd of the container's init process");
const pidFile = str("specify the file to write the process id to");
const noPivot = bool("do not use pivot root to jail process inside rootfs (for rootfs on ramfs/initramfs)");
const noNewKeyring = bool("do not create a new session keyring for the container");
const preserveFds = num("pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)", { default: 0 });
const noSubreaper = bool("disable the use of the subreaper used to reap reparented processes");
const format = str("select one of: table or json", { alias: "f", default: "table", choices: ["table", "json"] });

export const commands: CommandDef[] = [
  {
    name: "checkpoint",
    usage: "checkpoint [options] <container-id>",
    describe: "checkpoint a running container",
    built: false,
    options: {
      "image-path": str("path for saving criu image files"),
      "work-path": str("path for saving work files and logs"),
      "parent-path": str("path for previous criu image files in pre-dump"),
      "leave-running": bool("leave the process running after checkpointing"),
      "tcp-established": bool("allow open tcp connections"),
      "ext-unix-sk": bool("allow external unix sockets"),
      "shell-job": bool("allow shell jobs"),
      "lazy-pages": bool("use userfaultfd to lazily restore memory pages"),
      "status-fd": num("criu writes \\0 to this FD once lazy-pages is ready"),
      "page-server": str("ADDRESS:PORT of the page server"),
      "file-locks": bool("handle file locks, for safety"),
      "pre-dump": bool("dump container's memory information only, leave the container running after this"),
      "manage-cgroups-mode": str("cgroups mode: soft|full|strict|ignore (default: soft)"),
      "empty-ns": { type: "string", array: true, describe: "create a namespace, but don't restore its properties" },
      "auto-dedup": bool("enable auto deduplication of memory images"),
    },
  },
  {
    name: "create",
    usage: "create [options] <container-id>",
    describe: "create a container",
    built: true,
    options: {
      bundle,
      "console-socket": consoleSocket,
      "pidfd-socket": pidfdSocket,
      "pid-file": pidFile,
      "no-pivot": noPivot,
      "no-new-keyring": noNewKeyring,
      "preserve-fds": preserveFds,
    },
  },
  {
    name: "delete",
    usage: "delete [options] <container-id>",
    describe: "delete any resources held by the container",
    built: true,
    options: { force: bool("forcibly delete the container if it is still running (uses SIGKILL)", { alias: "f" }) },
  },
  {
    name: "events",
    usage: "events [options] <container-id>",
    describe: "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
    built: true,
    options: {
      interval: str("set the stats collection interval", { default: "5s" }),
      stats: bool("display the container's stats then exit"),
    },
  },
  {
    name: "exec",
    usage: "exec [options] <container-id> <command> [command options]  ||  -p process.json <container-id>",
    describe: "execute new process inside the container",
    built: true,
    options: {
      "console-socket": consoleSocket,
      "pidfd-socket": pidfdSocket,
      cwd: str("current working directory in the container"),
      env: str("set environment variables (repeatable)", { alias: "e" }),
      tty: bool("allocate a pseudo-TTY", { alias: "t" }),
      user: str("UID (format: <uid>[:<gid>])", { alias: "u" }),
      "additional-gids": str("additional gids (repeatable, or comma-separated)", { alias: "g" }),
      process: str("path to the process.json", { alias: "p" }),
      detach: bool("detach from the container's process", { alias: "d" }),
      "pid-file": pidFile,
      "process-label": str("set the asm process label for the process commonly used with selinux"),
      apparmor: str("set the apparmor profile for the process"),
      "no-new-privs": bool("set the no new privileges value for the process"),
      cap: str("add a capability to the bounding set for the process (repeatable)", { alias: "c" }),
      "preserve-fds": preserveFds,
      cgroup: str("run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup> (repeatable)"),
      "ignore-paused": bool("allow exec in a paused container"),
    },
  },
  { name: "features", usage: "features", describe: "show the enabled features", built: true, options: {} },
  {
    name: "kill",
    usage: "kill [options] <container-id> [signal]",
    describe: "kill sends the specified signal (default: SIGTERM) to the container's init process",
    built: true,
    options: { all: bool("send the specified signal to all processes inside the container", { alias: "a" }) },
  },
  {
    name: "list",
    usage: "list [options]",
    describe: "lists containers started by berth with the given root",
    built: true,
    options: { format, quiet: bool("display only container IDs", { alias: "q" }) },
  },
  { name: "pause", usage: "pause <container-id>", describe: "pause suspends all processes inside the container", built: true, options: {} },
  {
    name: "ps",
    usage: "ps [options] <container-id> [ps options]",
    describe: "ps displays the processes running inside a container",
    built: true,
    options: { format },
  },
  {
    name: "restore",
    usage: "restore [options] <container-id>",
    describe: "restore a container from a previous checkpoint",
    built: false,
    options: {
      "console-socket": consoleSocket,
      "image-path": str("path to criu image files for restoring"),
      "work-path": str("path for saving work files and logs"),
      "tcp-established": bool("allow open tcp connections"),
      "ext-unix-sk": bool("allow external unix sockets"),
      "shell-job": bool("allow shell jobs"),
      "file-locks": bool("handle file locks, for safety"),
      "manage-cgroups-mode": str("cgroups mode: soft|full|strict|ignore (default: soft)"),
      bundle,
      detach: bool("detach from the container's process", { alias: "d" }),
      "pid-file": pidFile,
      "no-subreaper": noSubreaper,
      "no-pivot": noPivot,
      "empty-ns": { type: "string", array: true, describe: "create a namespace, but don't restore its properties" },
      "auto-dedup": bool("enable auto deduplication of memory images"),
      "lazy-pages": bool("use userfaultfd to lazily restore memory pages"),
      "lsm-profile": str("Specify an LSM profile to be used during restore in the form of TYPE:NAME"),
      "lsm-mount-context": str("Specify an LSM mount context to be used during restore"),
    },
  },
  {
    name: "resume",
    usage: "resume <container-id>",
    describe: "resumes all processes that have been previously paused",
    built: true,
    options: {},
  },
  {
    name: "run",
    usage: "run [options] <container-id>",
    describe: "create and run a container",
    built: true,
    options: {
      bundle,
      "console-socket": consoleSocket,
      "pidfd-socket": pidfdSocket,
      detach: bool("detach from the container's process", { alias: "d" }),
      keep: bool("do not delete the container after it exits"),
      "pid-file": pidFile,
      "no-subreaper": noSubreaper,
      "no-pivot": noPivot,
      "no-new-keyring": noNewKeyring,
      "preserve-fds": preserveFds,
    },
  },
  {
    name: "spec",
    usage: "spec [options]",
    describe: "create a new specification file",
    built: true,
    options: {
      bundle,
      rootless: bool("generate a configuration for a rootless container"),
      "oci-version": str("the config's ociVersion (default 1.1.0, the newest runc 1.1 and crun 1.8 accept; up to 1.3.0)"),
    },
  },
  {
    name: "start",
    usage: "start <container-id>",
    describe: "executes the user defined process in a created container",
    built: true,
    options: {},
  },
  { name: "state", usage: "state <container-id>", describe: "output the state of a container", built: true, options: {} },
  {
    name: "update",
    usage: "update [options] <container-id>",
    describe: "update container resource constraints",
    built: true,
    options: {
      resources: str('path to the file containing the resources to update or "-" to read from the standard input', { alias: "r" }),
      // Strings, as the others: update parses them (a number type made "abc" reach it as NaN).
      "blkio-weight": str("Specifies per cgroup weight, range is from 10 to 1000"),
      "cpu-period": str("CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"),
      "cpu-quota": str("CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"),
      "cpu-burst": str("CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period"),
      "cpu-share": str("CPU shares (relative weight vs. other containers)"),
      "cpu-rt-period": str("CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"),
      "cpu-rt-runtime": str("CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"),
      "cpuset-cpus": str("CPU(s) to use"),
      "cpuset-mems": str("Memory node(s) to use"),
      "kernel-memory": str("(obsoleted; do not use)"),
      "kernel-memory-tcp": str("(obsoleted; do not use)"),
      memory: str("Memory limit (in bytes)"),
      "cpu-idle": str("set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE"),
      "memory-reservation": str("Memory reservation or soft_limit (in bytes)"),
      "memory-swap": str("Total memory usage (memory + swap); set '-1' to enable unlimited swap"),
      "pids-limit": str("Maximum number of pids allowed in the container"),
      "l3-cache-schema": str("The string of Intel RDT/CAT L3 cache schema"),
      "mem-bw-schema": str("The string of Intel RDT/MBA memory bandwidth schema"),
    },
  },
  {
    name: "check",
    usage: "check [options]",
    describe: "validate a bundle and check this host supports what it asks for (berth's own)",
    built: true,
    options: {
      bundle,
      explain: bool("print the launch plan the config would produce, step by step, each step with the config field it came from"),
      format: str("select one of: text or json", { alias: "f", default: "text", choices: ["text", "json"] }),
    },
  },
  // The layer model (berth's own, after Docker's verbs): docs/architecture.md, "Layer model".
  {
    name: "image",
    usage: "image load FILE|DIR | save IMAGE -o FILE | ls [-q] | inspect IMAGE | history IMAGE | rm IMAGE",
    describe: "manage the local image store (--image-root): load and save OCI layouts and docker save archives",
    built: true,
    options: {
      output: str("the archive to write (image save)", { alias: "o" }),
      format: str("ls, history: table or json", { alias: "f", default: "table", choices: ["table", "json"] }),
      quiet: bool("ls: print only the image ids", { alias: "q" }),
    },
  },
  {
    name: "bundle",
    usage: "bundle IMAGE DIR",
    describe: "write an OCI bundle (config.json, rootfs/) that runs IMAGE; create mounts its layers",
    built: true,
    options: {},
  },
  {
    name: "diff",
    usage: "diff <container-id>",
    describe: "list what the container changed in its image: A added, C changed, D deleted",
    built: true,
    options: {},
  },
  {
    name: "commit",
    usage: "commit [options] <container-id> IMAGE[:TAG]",
    describe: "make the container's writable layer a new image on top of its image",
    built: true,
    options: { message: str("a comment for the history entry", { alias: "m" }) },
  },
  {
    name: "export",
    usage: "export -o FILE <container-id>",
    describe: "write the container's merged filesystem as one flat tar",
    built: true,
    options: { output: str("the tar file to write", { alias: "o", demandOption: true }) },
  },
  // The command line's own help (main.ts answers these before parsing; docs.ts writes the text).
  { name: "help", usage: "help [COMMAND]", describe: "show the help of berth, or of one command", built: true, options: {} },
  {
    name: "completion",
    usage: "completion [bash|zsh]",
    describe: "print a bash or zsh completion script for berth, made from its command table",
    built: true,
    options: {},
  },
];

/** yargs command strings: the verb and its positionals. */
export const positionals: Record<string, string> = {
  checkpoint: "<container-id>",
  create: "<container-id>",
  delete: "<container-id>",
  events: "<container-id>",
  exec: "<container-id> [command..]",
  kill: "<container-id> [signal]",
  pause: "<container-id>",
  ps: "<container-id> [ps-args..]",
  restore: "<container-id>",
  resume: "<container-id>",
  run: "<container-id>",
  start: "<container-id>",
  state: "<container-id>",
  update: "<container-id>",
  image: "<action> [args..]",
  bundle: "<image> <dir>",
  diff: "<container-id>",
  commit: "<container-id> <image>",
  export: "<container-id>",
  help: "[topic]",
  completion: "[shell]",
};

export const globalOptions = {
  debug: { type: "boolean", describe: "enable debug logging", default: false },
  log: { type: "string", describe: "set the log file to write berth logs to (default is '/dev/stderr')", requiresArg: true },
  "log-format": {
    type: "string",
    describe: "set the log format ('text' (default), or 'json')",
    default: "text",
    choices: ["text", "json"],
    requiresArg: true,
  },
  root: {
    type: "string",
    describe: "root directory for storage of container state (this should be located in tmpfs)",
    default: "/run/berth",
    requiresArg: true,
  },
  "image-root": {
    type: "string",
    describe: "root directory of the image store (images, layers, writable layers)",
    default: "/var/lib/berth",
    requiresArg: true,
  },
  criu: { type: "string", describe: "path to the criu binary used for checkpoint and restore", default: "criu", requiresArg: true },
  "systemd-cgroup": {
    type: "boolean",
    describe: 'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" for e.g. "system.slice:runc:434234"',
    default: false,
  },
  // Not requiresArg: `spec --rootless` is a boolean of the spec verb (as in runc).
  rootless: { type: "string", describe: "ignore cgroup permission errors ('true', 'false', or 'auto')", default: "auto" },
  version: { type: "boolean", alias: "v", describe: "print the version" },
} as const;
