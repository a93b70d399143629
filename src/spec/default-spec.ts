/**
 * `berth spec`: the starting config runc users know (`runc spec`), so a busybox rootfs runs
 * `sh` with no edits. Differences from runc 1.1's: ociVersion is 1.1.0 (DEFAULT_OCI_VERSION), the hostname is "berth", and /sys/devices/virtual/powercap is masked too (it leaks power
 * readings usable as a side channel, CVE-2020-8694; runc 1.2 masks it as well).
 */
import type { Mount, Spec } from "./types";

export const SPEC_VERSION = "1.3.0";

/**
 * The ociVersion `berth spec` writes unless told otherwise (`--oci-version`): the newest the
 * peers accept. runc 1.1.5 takes any version; crun 1.8.1 refuses 1.2.0 and later ("unknown
 * version specified") and takes 1.1.x. A config that says 1.1.0 gets 1.1.0's rule for a
 * failing poststart hook (a warning), see start.ts `poststartFailureStops`.
 */
export const DEFAULT_OCI_VERSION = "1.1.0";

export interface DefaultSpecOptions {
  /** `--rootless`: a user namespace mapping the caller, no network namespace, /sys bound. */
  rootless?: boolean;
  /** The caller's uid and gid, mapped to root in a rootless container. */
  uid?: number;
  gid?: number;
  /** The config's ociVersion (default DEFAULT_OCI_VERSION). */
  ociVersion?: string;
}

const defaultCaps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

function defaultMounts(rootless: boolean): Mount[] {
  const noexec = ["nosuid", "noexec", "nodev"];
  return [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      // gid=5 (tty) needs that gid mapped; a rootless container maps only the caller's.
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", ...(rootless ? [] : ["gid=5"])],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: [...noexec, "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: noexec },
    // Without a network namespace of its own, a rootless container cannot mount a sysfs.
    rootless
      ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", ...noexec, "ro"] }
      : { destination: "/sys", type: "sysfs", source: "sysfs", options: [...noexec, "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: [...noexec, "relatime", "ro"] },
  ];
}

export function defaultSpec(options: DefaultSpecOptions = {}): Spec {
  const rootless = options.rootless ?? false;
  const spec: Spec = {
    ociVersion: options.ociVersion ?? DEFAULT_OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...defaultCaps],
        effective: [...defaultCaps],
        permitted: [...defaultCaps],
        ambient: [...defaultCaps],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "berth",
    mounts: defaultMounts(rootless),
    linux: {
      namespaces: rootless
        ? [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "user" }]
        : [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
  if (rootless) {
    spec.linux!.uidMappings = [{ containerID: 0, hostID: options.uid ?? 0, size: 1 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: options.gid ?? 0, size: 1 }];
  } else {
    // Deny every device by default; the runtime adds the standard ones (config-linux.md
    // "Default Devices") on top.
    spec.linux!.resources = { devices: [{ allow: false, access: "rwm" }] };
  }
  return spec;
}
