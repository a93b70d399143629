/**
 * Checks a JSON Schema cannot express: relations between fields and rules the spec states in
 * prose. Each returns Problems located by field path. They run even when the schema already
 * failed (so the user sees everything at once), so every check guards the types it reads.
 *
 * Clause references are to runtime-spec v1.3.0.
 */
import type { Problem } from "../errors";
import { allCapabilities, capabilitySets } from "./capabilities";
import { joinField } from "./field-path";
import { mountKind } from "./mount-kind";
import { interfaceNameProblem, isNameTemplate, netDeviceField } from "./net-device-names";
import { rlimitNumbers } from "./rlimits";

/** The longest hostname or domainname the kernel takes (__NEW_UTS_LEN). */
const UTS_NAME_MAX = 64;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === "string";
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const knownCapabilities = new Set(allCapabilities);

class Collector {
  readonly problems: Problem[] = [];
  error(field: string, value: unknown, reason: string): void {
    this.problems.push({ field, value, reason, severity: "error" });
  }
  warn(field: string, value: unknown, reason: string): void {
    this.problems.push({ field, value, reason, severity: "warning" });
  }
}

/** The namespaces the config lists, by type, with their index (first occurrence). */
function namespaceIndex(linux: Obj | undefined): Map<string, { index: number; path?: string }> {
  const map = new Map<string, { index: number; path?: string }>();
  arr(linux?.namespaces).forEach((ns, index) => {
    if (!isObj(ns) || !isStr(ns.type) || map.has(ns.type)) return;
    map.set(ns.type, { index, path: isStr(ns.path) ? ns.path : undefined });
  });
  return map;
}

function checkOciVersion(spec: Obj, c: Collector): void {
  const v = spec.ociVersion;
  if (!isStr(v)) return; // the schema reports a missing or mistyped ociVersion
  const m = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
  if (!m) {
    c.error("ociVersion", v, "must be a SemVer 2.0.0 version such as 1.3.0");
  } else if (m[1] !== "1") {
    c.error("ociVersion", v, `major version ${m[1]} is not supported: berth implements runtime-spec 1.x`);
  }
}

function checkAbsolute(c: Collector, field: string, value: unknown, why = "must be an absolute path"): void {
  if (isStr(value) && !value.startsWith("/")) c.error(field, value, why);
}

function checkRoot(spec: Obj, c: Collector): void {
  // config.md "Root": REQUIRED on every platform but Windows Hyper-V containers.
  if (spec.root === undefined) {
    c.error("root", undefined, "is required on Linux");
    return;
  }
  if (isObj(spec.root) && spec.root.path === "") c.error("root.path", "", "must not be empty");
}

function checkMounts(spec: Obj, c: Collector): void {
  arr(spec.mounts).forEach((m, i) => {
    if (!isObj(m)) return;
    const base = joinField("mounts", i);
    if (isStr(m.destination)) {
      if (m.destination === "") {
        c.error(`${base}.destination`, "", "must not be empty");
      } else if (!m.destination.startsWith("/")) {
        // config.md "Mounts": on Linux a relative destination is deprecated but allowed, and
        // means relative to "/". runc accepts it with a warning; so does berth.
        c.warn(`${base}.destination`, m.destination, `is relative: deprecated, taken as "/${m.destination}"`);
      }
    }
    if (mountKind(m).bind && (m.source === undefined || m.source === "")) {
      c.error(`${base}.source`, undefined, "is required for a bind mount");
    }
    const hasUid = m.uidMappings !== undefined;
    const hasGid = m.gidMappings !== undefined;
    if (hasUid !== hasGid) {
      // An idmapped mount maps both ids; the kernel takes one user namespace for both.
      c.error(
        `${base}.${hasUid ? "gidMappings" : "uidMappings"}`,
        undefined,
        `is required with ${hasUid ? "uidMappings" : "gidMappings"} (an idmapped mount maps both)`,
      );
    }
  });
}

function checkProcess(spec: Obj, c: Collector): void {
  const p = spec.process;
  if (p === undefined) {
    c.error("process", undefined, "is required to create a container (runtime.md: create fails without it)");
    return;
  }
  if (!isObj(p)) return;
  // config.md "Process": cwd "MUST be an absolute path".
  checkAbsolute(c, "process.cwd", p.cwd);
  // config.md: args needs at least one entry (its first is execvp's file) on POSIX platforms.
  if (Array.isArray(p.args) && p.args.length === 0 && p.commandLine === undefined) {
    c.error("process.args", undefined, "must have at least one entry (the program to run)");
  }
  if (p.args === undefined && p.commandLine === undefined) {
    c.error("process.args", undefined, "is required on Linux (the program to run)");
  }

  // config.md "POSIX process": user is REQUIRED.
  if (p.user === undefined) c.error("process.user", undefined, "is required on Linux (the uid and gid to run as)");
  // The kernel's range for /proc/<pid>/oom_score_adj.
  if (typeof p.oomScoreAdj === "number" && (p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) {
    c.error("process.oomScoreAdj", p.oomScoreAdj, "must be between -1000 and 1000");
  }

  // config.md "capabilities" (1.1.0 on): a name the runtime cannot map SHOULD NOT fail the
  // container; it is logged as a warning and skipped, as runc and crun do.
  if (isObj(p.capabilities)) {
    for (const set of capabilitySets) {
      arr(p.capabilities[set]).forEach((name, i) => {
        if (isStr(name) && !knownCapabilities.has(name)) {
          const hint = knownCapabilities.has(`CAP_${name.toUpperCase()}`) ? ` (did you mean "CAP_${name.toUpperCase()}"?)` : "";
          c.warn(`process.capabilities.${set}[${i}]`, name, `unknown capability, skipped${hint}`);
        }
      });
    }
  }

  const seen = new Map<string, number>();
  arr(p.rlimits).forEach((r, i) => {
    if (!isObj(r)) return;
    const base = `process.rlimits[${i}]`;
    if (isStr(r.type)) {
      // own keys only: "__proto__", "toString" and "constructor" are `in` every object (found by the config fuzzer)
      if (!Object.hasOwn(rlimitNumbers, r.type)) {
        c.error(`${base}.type`, r.type, "unknown resource limit (expected RLIMIT_NOFILE, RLIMIT_NPROC, ...)");
      } else if (seen.has(r.type)) {
        // config.md "POSIX process": duplicated types MUST generate an error.
        c.error(`${base}.type`, r.type, `is a duplicate of process.rlimits[${seen.get(r.type)}]`);
      } else {
        seen.set(r.type, i);
      }
    }
    if (typeof r.soft === "number" && typeof r.hard === "number" && r.soft > r.hard) {
      c.error(`${base}.soft`, r.soft, `must not exceed the hard limit (${r.hard})`);
    }
  });
}

function checkHooks(spec: Obj, c: Collector): void {
  if (!isObj(spec.hooks)) return;
  for (const [kind, list] of Object.entries(spec.hooks)) {
    arr(list).forEach((h, i) => {
      if (!isObj(h)) return;
      // config.md "POSIX-platform Hooks": path MUST be absolute.
      checkAbsolute(c, `hooks.${kind}[${i}].path`, h.path);
    });
  }
}

/** runc's classification of namespaced sysctls (the kernel's own per-namespace tables). */
const ipcSysctls = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);

function sysctlNamespace(key: string): string | undefined {
  const k = key.replace(/\//g, ".");
  if (ipcSysctls.has(k) || k.startsWith("fs.mqueue.")) return "ipc";
  if (k.startsWith("net.")) return "network";
  if (k === "kernel.hostname" || k === "kernel.domainname") return "uts";
  return undefined;
}

function checkLinux(spec: Obj, c: Collector): void {
  const linux = isObj(spec.linux) ? spec.linux : undefined;
  const namespaces = namespaceIndex(linux);
  // A namespaces value of the wrong type is the schema's to report; checks that depend on which
  // namespaces exist would only add misleading "has none" messages.
  const namespacesKnown = linux?.namespaces === undefined || Array.isArray(linux.namespaces);

  // Namespaces: one entry per type (config-linux.md "Namespaces": duplicates MUST error),
  // and a path must be absolute.
  const firstSeen = new Map<string, number>();
  arr(linux?.namespaces).forEach((ns, i) => {
    if (!isObj(ns)) return;
    if (isStr(ns.type)) {
      const prev = firstSeen.get(ns.type);
      if (prev !== undefined) {
        c.error(`linux.namespaces[${i}].type`, ns.type, `is a duplicate of linux.namespaces[${prev}]`);
      } else {
        firstSeen.set(ns.type, i);
      }
    }
    if (ns.path !== undefined) checkAbsolute(c, `linux.namespaces[${i}].path`, ns.path);
  });

  // User namespace and id mappings go together.
  const userns = namespaces.get("user");
  for (const key of ["uidMappings", "gidMappings"] as const) {
    const given = Array.isArray(linux?.[key]) && (linux[key] as unknown[]).length > 0;
    if (given && !userns && namespacesKnown) {
      c.error(`linux.${key}`, undefined, "needs a user namespace, and linux.namespaces has none");
    }
    if (userns && userns.path === undefined && !given) {
      c.error(`linux.${key}`, undefined, `is required: linux.namespaces[${userns.index}] creates a user namespace, which needs mappings`);
    }
  }

  // hostname and domainname are set in the container's own UTS namespace.
  for (const key of ["hostname", "domainname"] as const) {
    if (namespacesKnown && isStr(spec[key]) && spec[key] !== "" && !namespaces.has("uts")) {
      c.error(key, spec[key], "needs a UTS namespace, and linux.namespaces has none");
    }
    // sethostname(2)/setdomainname(2) refuse more than __NEW_UTS_LEN (64) bytes with EINVAL.
    const bytes = isStr(spec[key]) ? Buffer.byteLength(spec[key] as string) : 0;
    if (bytes > UTS_NAME_MAX) c.error(key, spec[key], `is ${bytes} bytes: the kernel takes at most ${UTS_NAME_MAX}`);
  }

  // sysctls: only those the kernel namespaces, and only for namespaces the container owns.
  if (isObj(linux?.sysctl)) {
    for (const [key, value] of Object.entries(linux.sysctl)) {
      const field = joinField("linux.sysctl", key);
      const ns = sysctlNamespace(key);
      if (!ns) {
        c.error(field, value, "is not namespaced: it would change the host, so berth refuses it");
      } else if (!namespaces.has(ns) && namespacesKnown) {
        c.error(field, value, `needs a ${ns} namespace, and linux.namespaces has none`);
      } else if (ns === "uts" && key.replace(/\//g, ".") === "kernel.hostname") {
        // runc refuses it too: it would fight the hostname field. kernel.domainname is
        // accepted in a UTS namespace, as runc and crun do; written after the domainname field
        // (the plan's order), it wins, as with runc.
        c.error(field, value, "is set through the hostname field, not a sysctl");
      }
    }
  }

  // Time namespace offsets apply only to a time namespace the container creates.
  if (isObj(linux?.timeOffsets) && Object.keys(linux.timeOffsets).length > 0) {
    const time = namespaces.get("time");
    if (!time && namespacesKnown) c.error("linux.timeOffsets", undefined, "needs a time namespace, and linux.namespaces has none");
    else if (time?.path !== undefined) {
      c.error("linux.timeOffsets", undefined, `cannot be set on a joined time namespace (linux.namespaces[${time.index}].path)`);
    }
  }

  checkNetDevices(linux, c, namespacesKnown && !namespaces.has("network"));

  arr(linux?.devices).forEach((d, i) => {
    if (!isObj(d)) return;
    const base = `linux.devices[${i}]`;
    checkAbsolute(c, `${base}.path`, d.path);
    // config-linux.md "Devices": major and minor are REQUIRED unless type is p.
    if (isStr(d.type) && d.type !== "p") {
      for (const key of ["major", "minor"] as const) {
        if (d[key] === undefined) c.error(`${base}.${key}`, undefined, `is required for device type "${d.type}"`);
      }
    }
  });

  for (const key of ["maskedPaths", "readonlyPaths"] as const) {
    arr(linux?.[key]).forEach((p, i) => checkAbsolute(c, `linux.${key}[${i}]`, p));
  }

  const seccomp = isObj(linux?.seccomp) ? linux.seccomp : undefined;
  if (seccomp) {
    if (seccomp.defaultAction === "SCMP_ACT_NOTIFY") {
      c.error(
        "linux.seccomp.defaultAction",
        "SCMP_ACT_NOTIFY",
        "cannot be the default action (the supervisor would have to answer every system call)",
      );
    }
    const notifies = arr(seccomp.syscalls).some((s) => isObj(s) && s.action === "SCMP_ACT_NOTIFY");
    if (notifies && !isStr(seccomp.listenerPath)) {
      c.error("linux.seccomp.listenerPath", undefined, "is required when an action is SCMP_ACT_NOTIFY");
    }
    // Calls the runtime makes under the filter before the agent holds the listener: a
    // notification then waits for an agent that cannot answer yet, and the container never
    // starts. Refused whatever the rule's args, as runc refuses write.
    arr(seccomp.syscalls).forEach((s, i) => {
      if (!isObj(s) || s.action !== "SCMP_ACT_NOTIFY") return;
      arr(s.names).forEach((name, k) => {
        const why = isStr(name) ? notifyForbidden[name] : undefined;
        if (why)
          c.error(`linux.seccomp.syscalls[${i}].action`, "SCMP_ACT_NOTIFY", `cannot be used for the ${name} syscall (names[${k}]): ${why}`);
      });
    });
  }
}

/**
 * System calls an SCMP_ACT_NOTIFY rule may not name, and why (config-linux.md "Seccomp" leaves
 * the agent protocol to the runtime). runc 1.1.5 refuses write with "SCMP_ACT_NOTIFY cannot
 * be used for the write syscall"; crun 1.8.1 accepts it and hangs at create (both seen on this
 * host). berth-init hands the listener over with sendmsg, which would hang the same way.
 */
const notifyForbidden: Record<string, string> = {
  write:
    "runc refuses it, as its init reports the listener with write after loading the filter, which could then never reach the agent; berth keeps profiles portable between the two",
  sendmsg:
    "berth-init hands the listener to berth with sendmsg after the filter is loaded, and would wait forever for an agent that has not received the listener yet",
};

/**
 * config-linux.md "Network Devices": host interfaces moved into the container's network
 * namespace. Each key names a host interface, `name` its name inside (default: the same); both
 * must be names the kernel takes (net-device-names.ts), and no two entries may end up with the
 * same name inside (the second move would fail with EEXIST after the first succeeded). Whether
 * the interfaces exist and the names are free is a fact of the host: plan/net-devices.ts.
 */
function checkNetDevices(linux: Obj | undefined, c: Collector, noNetworkNamespace: boolean): void {
  if (!isObj(linux?.netDevices)) return;
  const entries = Object.entries(linux.netDevices);
  if (entries.length > 0 && noNetworkNamespace) {
    c.error("linux.netDevices", undefined, "needs a network namespace, and linux.namespaces has none");
  }
  const inside = new Map<string, string>();
  for (const [key, entry] of entries) {
    const field = netDeviceField(key);
    const keyProblem = interfaceNameProblem(key, false);
    if (keyProblem) c.error(field, undefined, keyProblem);
    const name = isObj(entry) && isStr(entry.name) ? entry.name : undefined;
    if (name !== undefined) {
      const nameProblem = interfaceNameProblem(name, true);
      if (nameProblem) {
        c.error(`${field}.name`, name, nameProblem);
        continue;
      }
    } else if (keyProblem) {
      continue;
    }
    const final = name ?? key;
    // Templates never clash: the kernel numbers each one past the names in use.
    if (isNameTemplate(final)) continue;
    const other = inside.get(final);
    if (other !== undefined) {
      c.error(
        name !== undefined ? `${field}.name` : field,
        name,
        `would be the container's interface "${final}", as ${netDeviceField(other)} already is`,
      );
    } else {
      inside.set(final, key);
    }
  }
}

/** Every semantic problem in a config (errors and warnings), in field order. */
/**
 * No string berth hands the kernel (paths, mount options, args, env, names) may hold a NUL
 * byte: C strings end there. The plan encoder refused them as an internal error, "plan op 16
 * (mount, from mounts[2]): a NUL byte cannot be passed to the kernel" (found by the config
 * fuzzer). Annotations and fields berth does not know are not passed on, and not looked at.
 */
function checkNulBytes(spec: Obj, c: Collector): void {
  const stack: [unknown, string][] = ["root", "mounts", "process", "hostname", "domainname", "hooks", "linux"].map((k) => [spec[k], k]);
  while (stack.length) {
    const [node, field] = stack.pop()!;
    if (isStr(node)) {
      if (node.includes("\u0000")) c.error(field, node, "must not contain a NUL byte");
    } else if (Array.isArray(node)) node.forEach((v, i) => stack.push([v, joinField(field, i)]));
    else if (isObj(node)) {
      for (const [k, v] of Object.entries(node)) {
        if (k.includes("\u0000")) c.error(joinField(field, k), undefined, "must not contain a NUL byte (in its name)");
        else stack.push([v, joinField(field, k)]);
      }
    }
  }
}

export function semanticProblems(spec: unknown): Problem[] {
  if (!isObj(spec)) return [];
  const c = new Collector();
  checkOciVersion(spec, c);
  checkRoot(spec, c);
  checkMounts(spec, c);
  checkProcess(spec, c);
  checkHooks(spec, c);
  checkLinux(spec, c);
  checkNulBytes(spec, c);
  return c.problems;
}
