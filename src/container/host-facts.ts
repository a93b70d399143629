/**
 * Gather HostFacts: what this kernel and this berth process can do. Reads /proc and /sys and
 * asks the native probe (syscall availability, seccomp), which it is given: default-runtime.ts
 * passes the addon's, as the Runtime's `hostFacts`. Nothing here assumes: a host without
 * CAP_SYS_RESOURCE, AppArmor or SELinux (like the one berth is developed on) is reported as such.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableControllers, detectCgroups, type CgroupLayout } from "../cgroups";
import type { HostFacts, Limit } from "../plan";
import type { NamespaceType } from "../spec";
import type { NativeSurface } from "../native";

const nsFiles: Record<NamespaceType, string> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** /proc/self/limits -> {RLIMIT_NOFILE: {soft, hard}, ...} */
export function parseLimits(text: string): Record<string, Limit> {
  const names: Record<string, string> = {
    "Max cpu time": "RLIMIT_CPU",
    "Max file size": "RLIMIT_FSIZE",
    "Max data size": "RLIMIT_DATA",
    "Max stack size": "RLIMIT_STACK",
    "Max core file size": "RLIMIT_CORE",
    "Max resident set": "RLIMIT_RSS",
    "Max processes": "RLIMIT_NPROC",
    "Max open files": "RLIMIT_NOFILE",
    "Max locked memory": "RLIMIT_MEMLOCK",
    "Max address space": "RLIMIT_AS",
    "Max file locks": "RLIMIT_LOCKS",
    "Max pending signals": "RLIMIT_SIGPENDING",
    "Max msgqueue size": "RLIMIT_MSGQUEUE",
    "Max nice priority": "RLIMIT_NICE",
    "Max realtime priority": "RLIMIT_RTPRIO",
    "Max realtime timeout": "RLIMIT_RTTIME",
  };
  const out: Record<string, Limit> = {};
  const num = (s: string) => (s === "unlimited" ? Infinity : Number(s));
  for (const line of text.split("\n")) {
    const m = /^(.+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const name = m && names[m[1]!.trim()];
    if (m && name) out[name] = { soft: num(m[2]!), hard: num(m[3]!) };
  }
  return out;
}

/** CapEff from /proc/self/status, as a bigint mask. */
export function effectiveCaps(status: string): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

const seccompActionNames: Record<string, string[]> = {
  kill_process: ["SCMP_ACT_KILL_PROCESS"],
  kill_thread: ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"],
  trap: ["SCMP_ACT_TRAP"],
  errno: ["SCMP_ACT_ERRNO"],
  user_notif: ["SCMP_ACT_NOTIFY"],
  trace: ["SCMP_ACT_TRACE"],
  log: ["SCMP_ACT_LOG"],
  allow: ["SCMP_ACT_ALLOW"],
};

const seccompFlagNames: Record<string, string> = {
  tsync: "SECCOMP_FILTER_FLAG_TSYNC",
  log: "SECCOMP_FILTER_FLAG_LOG",
  spec_allow: "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  wait_killable_recv: "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

/** What the facts need of the native surface: the probe and libseccomp's answers. */
export type HostProbeNative = Pick<NativeSurface, "probe" | "seccompVersion" | "seccompSyscallNumber">;

/** The facts without the cgroup layout (the Runtime's `hostFacts` returns both), for check and features. */
export function factsOnly(withLayout: HostFacts & { cgroupLayout?: CgroupLayout }): HostFacts {
  const { cgroupLayout: _layout, ...facts } = withLayout;
  return facts;
}

/** The facts, and the cgroup layout they were read from (create places the container with it: one mountinfo read per create). */
export function gatherHostFactsAndLayout(native: HostProbeNative): HostFacts & { cgroupLayout: CgroupLayout } {
  const probe = native.probe();
  const layout = detectCgroups();
  const namespaces = {} as Record<NamespaceType, boolean>;
  for (const [type, file] of Object.entries(nsFiles)) {
    namespaces[type as NamespaceType] = existsSync(`/proc/self/ns/${file}`);
  }
  const caps = effectiveCaps(readText("/proc/self/status") ?? "");
  const version = native.seccompVersion();
  const actions = Object.entries(probe.seccomp.actions)
    .filter(([, ok]) => ok)
    .flatMap(([name]) => seccompActionNames[name] ?? []);
  const flags = Object.entries(probe.seccomp.flags)
    .filter(([name, ok]) => ok && seccompFlagNames[name])
    .map(([name]) => seccompFlagNames[name]!);
  return {
    kernelRelease: probe.kernelRelease,
    namespaces,
    userNamespacesAllowed: Number(readText("/proc/sys/user/max_user_namespaces") ?? "0") > 0,
    cgroup: { mode: layout.mode, controllers: availableControllers(layout) },
    seccomp: {
      enabled: probe.seccomp.mode,
      actions,
      flags,
      libseccompVersion: `${version.major}.${version.minor}.${version.micro}`,
      unknownSyscalls: (names) => names.filter((n) => native.seccompSyscallNumber(n) < 0),
    },
    apparmor: (readText("/sys/module/apparmor/parameters/enabled") ?? "").trim() === "Y",
    selinux: existsSync("/sys/fs/selinux/enforce"),
    idmappedMounts: probe.syscalls.mountSetattr,
    capLastCap: Number((readText("/proc/sys/kernel/cap_last_cap") ?? "40").trim()),
    capSysResource: (caps & (1n << 24n)) !== 0n,
    rlimits: parseLimits(readText("/proc/self/limits") ?? ""),
    cgroupLayout: layout,
  };
}
