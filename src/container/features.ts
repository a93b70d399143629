/**
 * The runtime-spec features document (features.md, features-linux.md): what this build of
 * berth supports on this host. Host-dependent entries (namespaces, seccomp actions and flags,
 * AppArmor, SELinux, idmapped mounts, cgroup layout) come from probing, not from a table.
 */
import { allCapabilities, capabilityNumbers, SPEC_VERSION, type NamespaceType } from "../spec";
import { knownMountOptions, type HostFacts } from "../plan";
import { factsOnly } from "./host-facts";
import type { Runtime } from "./runtime";

const seccompOperators = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];
const seccompKnownFlags = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/** Architectures a filter can cover from this machine: the native one and its compat modes. */
const archFamilies: Record<string, string[]> = {
  SCMP_ARCH_X86_64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  SCMP_ARCH_AARCH64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  SCMP_ARCH_PPC64LE: ["SCMP_ARCH_PPC64LE"],
  SCMP_ARCH_S390X: ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
  SCMP_ARCH_RISCV64: ["SCMP_ARCH_RISCV64"],
};

export interface FeaturesInfo {
  version: string;
  commit: string;
}

/** The host's entries come from the Runtime's host facts and native surface (default-runtime.ts: the real ones). */
export function featuresDocument(rt: Pick<Runtime, "native" | "hostFacts">, info: FeaturesInfo): Record<string, unknown> {
  const host: HostFacts = factsOnly(rt.hostFacts());
  const nativeArch = rt.native.seccompArchNative();
  const mode = host.cgroup.mode;
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: SPEC_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: (Object.keys(host.namespaces) as NamespaceType[]).filter((n) => host.namespaces[n]),
      capabilities: allCapabilities.filter((c) => capabilityNumbers[c]! <= host.capLastCap),
      cgroup: {
        v1: mode === "legacy" || mode === "hybrid",
        v2: mode === "unified" || mode === "hybrid",
        // --systemd-cgroup: transient scope units over D-Bus (src/cgroups/systemd.ts).
        systemd: true,
        systemdUser: false,
        rdma: host.cgroup.controllers.includes("rdma"),
      },
      seccomp: {
        enabled: host.seccomp.enabled,
        actions: host.seccomp.actions.slice().sort(),
        operators: seccompOperators,
        archs: archFamilies[nativeArch] ?? [nativeArch],
        knownFlags: seccompKnownFlags,
        supportedFlags: host.seccomp.flags.slice().sort(),
      },
      apparmor: { enabled: host.apparmor },
      selinux: { enabled: host.selinux },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: host.idmappedMounts } },
      // config-linux.md "Network Devices": moved into the container's network namespace by
      // create (container/net-devices.ts), wherever there are network namespaces to move into.
      netDevices: { enabled: host.namespaces.network },
    },
    annotations: {
      "io.github.seccomp.libseccomp.version": host.seccomp.libseccompVersion ?? "",
      "dev.berth.version": info.version,
      "dev.berth.commit": info.commit,
    },
  };
}
