/**
 * Does this host support what a (valid) config asks for? Pure: config + HostFacts -> Problems,
 * each located at the field that asks. `berth check` prints them; `create` fails on the same
 * facts later, but with these messages the user learns before anything is made.
 */
import type { Problem } from "../errors";
import { capabilityNumbers, capabilitySets, joinField, mountKind, type NamespaceType, type Process, type Spec } from "../spec";
import type { HostFacts } from "./host-facts";
import { netDeviceHostProblems } from "./net-devices";

const resourceControllers: Record<string, { v1: string[]; v2: string }> = {
  memory: { v1: ["memory"], v2: "memory" },
  cpu: { v1: ["cpu"], v2: "cpu" },
  pids: { v1: ["pids"], v2: "pids" },
  blockIO: { v1: ["blkio"], v2: "io" },
  hugepageLimits: { v1: ["hugetlb"], v2: "hugetlb" },
  rdma: { v1: ["rdma"], v2: "rdma" },
  network: { v1: ["net_cls", "net_prio"], v2: "" },
};

/**
 * Capabilities this kernel lacks (numbers above /proc/sys/kernel/cap_last_cap): warnings, and
 * the plan leaves them out (runtime-spec 1.1+ config.md "capabilities": SHOULD NOT fail; runc
 * and crun skip them too). For create (via hostProblems) and exec alike.
 */
export function capabilityHostProblems(proc: Pick<Process, "capabilities">, capLastCap: number, base = "process"): Problem[] {
  const out: Problem[] = [];
  for (const set of capabilitySets) {
    proc.capabilities?.[set]?.forEach((name, i) => {
      const num = capabilityNumbers[name];
      if (num !== undefined && num > capLastCap) {
        out.push({
          field: `${base}.capabilities.${set}[${i}]`,
          value: name,
          reason: `this kernel knows capabilities up to ${capLastCap}, and this is ${num}: skipped`,
          severity: "warning",
        });
      }
    });
  }
  return out;
}

export function hostProblems(spec: Spec, host: HostFacts): Problem[] {
  const out: Problem[] = [];
  const error = (field: string, value: unknown, reason: string) => out.push({ field, value, reason, severity: "error" });
  const warn = (field: string, value: unknown, reason: string) => out.push({ field, value, reason, severity: "warning" });
  const linux = spec.linux ?? {};

  (linux.namespaces ?? []).forEach((ns, i) => {
    if (!host.namespaces[ns.type as NamespaceType]) {
      error(`linux.namespaces[${i}].type`, ns.type, "this kernel has no such namespace");
    }
    if (ns.type === "user" && !ns.path && !host.userNamespacesAllowed) {
      error(`linux.namespaces[${i}].type`, ns.type, "user namespaces are disabled on this host (/proc/sys/user/max_user_namespaces is 0)");
    }
  });

  const resources = linux.resources ?? {};
  const controllers = new Set(host.cgroup.controllers);
  for (const [key, ctl] of Object.entries(resourceControllers)) {
    if ((resources as Record<string, unknown>)[key] === undefined) continue;
    if (host.cgroup.mode === "unified") {
      if (!ctl.v2) error(`linux.resources.${key}`, undefined, "has no cgroup v2 equivalent, and this host is cgroup v2 only");
      else if (!controllers.has(ctl.v2))
        error(`linux.resources.${key}`, undefined, `needs the ${ctl.v2} controller, which this host's cgroup v2 root does not enable`);
    } else if (!ctl.v1.some((c) => controllers.has(c))) {
      error(`linux.resources.${key}`, undefined, `needs the ${ctl.v1.join(" or ")} cgroup controller, which is not mounted on this host`);
    }
  }
  if (resources.cpu && (resources.cpu.cpus !== undefined || resources.cpu.mems !== undefined) && !controllers.has("cpuset")) {
    error("linux.resources.cpu.cpus", resources.cpu.cpus, "needs the cpuset cgroup controller, which this host lacks");
  }
  // unified keys are cgroup v2 files; on a host whose limits are v1 (hybrid, legacy) there is
  // nowhere to write them. runc refuses them too ("invalid configuration: cannot use unified on
  // cgroup v1"); berth says which key.
  if (resources.unified && host.cgroup.mode !== "unified") {
    for (const [key, value] of Object.entries(resources.unified)) {
      error(
        joinField("linux.resources.unified", key),
        value,
        `invalid configuration for this host: a cgroup v2 file, and this host's cgroup limits are v1 (it is ${host.cgroup.mode})`,
      );
    }
  }

  const seccomp = linux.seccomp;
  if (seccomp) {
    if (!host.seccomp.enabled) error("linux.seccomp", undefined, "this kernel has no seccomp filter support");
    const actions = new Set(host.seccomp.actions);
    const checkAction = (field: string, action: string) => {
      if (!actions.has(action)) error(field, action, "this kernel cannot return that action");
    };
    checkAction("linux.seccomp.defaultAction", seccomp.defaultAction);
    (seccomp.syscalls ?? []).forEach((s, i) => {
      checkAction(`linux.seccomp.syscalls[${i}].action`, s.action);
      const unknown = new Set(host.seccomp.unknownSyscalls(s.names ?? []));
      s.names?.forEach((name, j) => {
        // runc and crun skip names libseccomp does not know (older or newer kernels' calls).
        if (unknown.has(name))
          warn(
            `linux.seccomp.syscalls[${i}].names[${j}]`,
            name,
            "libseccomp does not know this system call on this architecture; it will be skipped",
          );
      });
    });
    const flags = new Set(host.seccomp.flags);
    (seccomp.flags ?? []).forEach((flag, i) => {
      if (!flags.has(flag)) error(`linux.seccomp.flags[${i}]`, flag, "this kernel does not accept that flag");
    });
  }

  const proc = spec.process;
  if (proc?.apparmorProfile && !host.apparmor)
    error("process.apparmorProfile", proc.apparmorProfile, "AppArmor is not enabled on this host");
  if (proc?.selinuxLabel && !host.selinux) error("process.selinuxLabel", proc.selinuxLabel, "SELinux is not enabled on this host");
  // A mount label only labels files for SELinux; without it there is nothing to label, and the
  // container is the same either way (crun's behaviour; runc refuses): say so, go on.
  if (linux.mountLabel && !host.selinux)
    warn("linux.mountLabel", linux.mountLabel, "SELinux is not enabled on this host: the mounts are not labelled");

  if (proc) out.push(...capabilityHostProblems(proc, host.capLastCap));

  proc?.rlimits?.forEach((r, i) => {
    const mine = host.rlimits[r.type];
    if (!mine || host.capSysResource) return;
    // Raising a hard limit above one's own needs CAP_SYS_RESOURCE (setrlimit(2): EPERM).
    if (r.hard > mine.hard) {
      error(
        `process.rlimits[${i}].hard`,
        r.hard,
        `is above berth's own hard ${r.type} (${mine.hard}), and berth lacks CAP_SYS_RESOURCE to raise it`,
      );
    }
  });

  (spec.mounts ?? []).forEach((m, i) => {
    if (mountKind(m).idmapped && !host.idmappedMounts)
      error(`mounts[${i}]`, undefined, "an idmapped mount needs mount_setattr(2) (Linux 5.12+), which this kernel lacks");
  });

  // config-linux.md "Network Devices": the runtime MUST check that the move is possible.
  if (host.netLinks) out.push(...netDeviceHostProblems(spec, host.netLinks));

  return out;
}
