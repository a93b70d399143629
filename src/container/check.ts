/**
 * `berth check`: validate a bundle's config.json (schema, then semantics), check that this
 * host supports what it asks for, and look at the filesystem as create would (check-fs.ts).
 * Reports every problem in one run; never stops at the first, nor at the first stage that
 * found one.
 */
import { BerthError, type Problem } from "../errors";
import { hostProblems, planSeccomp, type HostFacts, type NetLink } from "../plan";
import { validateConfig } from "../spec";
import { bundleDir, loadBundle, readConfig } from "./bundle";
import { explainSpec, type Explained, type ExplainSeccomp } from "./explain";
import { filesystemProblems } from "./check-fs";
import { factsOnly } from "./host-facts";
import { hasNetDevices, runtimeNetLinks } from "./net-devices";
import type { Runtime } from "./runtime";

export interface CheckReport {
  bundle: string;
  config: string;
  valid: boolean;
  /** config: the config alone; host: what this host supports; filesystem: the rootfs, bind sources, the program (check-fs.ts). */
  problems: (Problem & { source: "config" | "host" | "filesystem" })[];
  host?: Omit<HostFacts, "seccomp"> & { seccomp: Omit<HostFacts["seccomp"], "unknownSyscalls"> };
}

/**
 * The host facts and the interfaces of berth's network namespace (asked only for a config with
 * linux.netDevices) come from the Runtime: the real ones from default-runtime.ts.
 */
export function checkBundle(rt: Pick<Runtime, "native" | "hostFacts">, bundle: string | undefined): CheckReport {
  const facts = (): HostFacts => factsOnly(rt.hostFacts());
  const netLinks = (): NetLink[] => runtimeNetLinks(rt.native, "check");
  const dir = bundleDir(bundle);
  const config = `${dir}/config.json`;
  const read = readConfig(dir, "check");
  const problems: CheckReport["problems"] = read.problems.map((p) => ({ ...p, source: "config" }));
  let host: HostFacts | undefined;
  if (read.data !== undefined) {
    const result = validateConfig(read.data);
    problems.push(...result.problems.map((p) => ({ ...p, source: "config" as const })));
    // Host and filesystem checks read a typed spec: they run on a config that passed the
    // schema, also when a semantic check failed, so that one run reports every problem.
    const spec = result.typed;
    if (spec) {
      host = facts();
      if (hasNetDevices(spec)) {
        try {
          host.netLinks = netLinks();
        } catch (err) {
          problems.push({
            field: "linux.netDevices",
            reason: `not checked: ${err instanceof Error ? err.message : String(err)}`,
            severity: "warning",
            source: "host",
          });
        }
      }
      const seen = new Set(problems.map((p) => `${p.field}\u0000${p.reason}`));
      const more = (list: Problem[], source: "host" | "filesystem") => {
        for (const p of list) if (!seen.has(`${p.field}\u0000${p.reason}`)) problems.push({ ...p, source });
      };
      try {
        more(hostProblems(spec, host), "host");
      } catch (err) {
        // Only a config the semantic checks refused can surprise the host checks: those errors are reported already.
        if (result.value) throw err;
      }
      more(filesystemProblems(spec, dir), "filesystem");
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

/**
 * `check --explain`: the plan create would run for this bundle, with the seccomp program
 * libseccomp compiles for it on this host (as create compiles it), so that its size is shown.
 */
export function explainBundle(rt: Pick<Runtime, "native" | "hostFacts">, bundle: string | undefined): Explained {
  const b = loadBundle(bundle, "check");
  let seccomp: ExplainSeccomp | undefined;
  const config = b.spec.linux?.seccomp;
  if (config) {
    const compile = rt.native.seccompCompile;
    if (!compile) throw new BerthError({ op: "check", field: "linux.seccomp", reason: "seccomp is not available in this build of berth" });
    const req = planSeccomp(config, rt.native.seccompArchNative(), rt.hostFacts().seccomp.flags);
    seccomp = { bpf: compile(req).bpf, flags: req.flags };
  }
  return explainSpec(b.spec, b.dir, seccomp);
}
