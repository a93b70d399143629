/**
 * `berth check`: validate a bundle's config.json (schema, then semantics) and check that this
 * host supports what it asks for. Reports every problem; never stops at the first.
 */
import type { Problem } from "../errors";
import * as native from "../native";
import { hostProblems, type HostFacts, type NetLink } from "../plan";
import { validateConfig } from "../spec";
import { bundleDir, readConfig } from "./bundle";
import { gatherHostFacts } from "./host-facts";
import { hasNetDevices, runtimeNetLinks } from "./net-devices";

/** The interfaces of berth's network namespace, asked only for a config with linux.netDevices. */
const runtimeLinks = (): NetLink[] => runtimeNetLinks(native.nativeSurface, "check");

export interface CheckReport {
  bundle: string;
  config: string;
  valid: boolean;
  problems: (Problem & { source: "config" | "host" })[];
  host?: Omit<HostFacts, "seccomp"> & { seccomp: Omit<HostFacts["seccomp"], "unknownSyscalls"> };
}

export function checkBundle(bundle: string | undefined, facts: () => HostFacts = gatherHostFacts, netLinks: () => NetLink[] = runtimeLinks): CheckReport {
  const dir = bundleDir(bundle);
  const config = `${dir}/config.json`;
  const read = readConfig(dir, "check");
  const problems: CheckReport["problems"] = read.problems.map((p) => ({ ...p, source: "config" }));
  let host: HostFacts | undefined;
  if (read.data !== undefined) {
    const result = validateConfig(read.data);
    problems.push(...result.problems.map((p) => ({ ...p, source: "config" as const })));
    // Host checks read a typed spec, so they run only on a config that validated.
    if (result.value) {
      host = facts();
      if (hasNetDevices(result.value)) {
        try {
          host.netLinks = netLinks();
        } catch (err) {
          problems.push({ field: "linux.netDevices", reason: `not checked: ${err instanceof Error ? err.message : String(err)}`, severity: "warning", source: "host" });
        }
      }
      problems.push(...hostProblems(result.value, host).map((p) => ({ ...p, source: "host" as const })));
    }
  }
  const valid = !problems.some((p) => p.severity === "error");
  let hostSummary: CheckReport["host"];
  if (host) {
    const { unknownSyscalls: _unused, ...seccomp } = host.seccomp;
    hostSummary = { ...host, seccomp };
  }
  return { bundle: dir, config, valid, problems, host: hostSummary };
}
