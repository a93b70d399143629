/**
 * The conformance suite's harness: a private copy of the busybox rootfs per test file with our
 * static probe at /conf-probe, bundles pointing at it, and `clause(id, ...)` which titles a test
 * with its registry entry (so every test maps to a clause, and an unknown id fails at once).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { busyboxRootfs, makeBundle, type TestBundle } from "../helpers/bundle";
import { detectCgroups } from "../../src/cgroups";
import { byId, type Clause } from "./clauses";

let rootfsDir: string | undefined;
const bundles: TestBundle[] = [];
const made: { root: string; id: string }[] = [];

/** This file's private rootfs (a copy of the shared busybox one) with /conf-probe in it. */
export function privateRootfs(): string {
  if (rootfsDir) return join(rootfsDir, "rootfs");
  rootfsDir = mkdtempSync(join(tmpdir(), "berth-conf-"));
  // A non-root container user must be able to reach its own root.
  chmodSync(rootfsDir, 0o755);
  execFileSync("cp", ["-a", busyboxRootfs(), join(rootfsDir, "rootfs")]);
  execFileSync("gcc", ["-static", "-O2", "-o", join(rootfsDir, "rootfs/conf-probe"), join(__dirname, "probe.c")]);
  return join(rootfsDir, "rootfs");
}

export function bundle(args: string[], mutate: (c: TestBundle["config"]) => void = () => undefined): TestBundle {
  const rootfs = privateRootfs();
  const b = makeBundle(args, (c) => {
    c.root.path = rootfs;
    mutate(c);
  });
  bundles.push(b);
  return b;
}

export const uniq = (b: TestBundle, name: string): string => {
  const id = `conf-${name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  made.push({ root: b.root, id });
  return id;
};
export const run = (b: TestBundle, args: string[], opts: Parameters<typeof berth>[1] = {}) => berth(["--root", b.root, ...args], opts);

export function cleanupEach(): void {
  for (const { root, id } of made.splice(0)) berth(["--root", root, "delete", "--force", id]);
  for (const b of bundles.splice(0)) b.cleanup();
}
export function cleanupAll(): void {
  if (rootfsDir) rmSync(rootfsDir, { recursive: true, force: true });
  rootfsDir = undefined;
}
afterEach(cleanupEach);
afterAll(cleanupAll);

/** What a host may lack for a clause (Clause.needs) or for one of its tests (clause.on). */
export type HostNeed = "cgroup-v2" | "time-namespace";

/** A test titled `<id> <level>: <summary>[ - detail]`; the id must be in the registry as tested. */
export function clause(id: string, detail: string | undefined, fn: jest.ProvidesCallback, timeout?: number): void {
  const c = byId.get(id);
  if (!c) throw new Error(`conformance: ${id} is not in test/conformance/clauses.ts`);
  declare(c, detail, c.needs, fn, timeout);
}

/** One test of a clause that only a host with `need` can run (the time namespace: not under UML). */
clause.on = (need: HostNeed, id: string, detail: string | undefined, fn: jest.ProvidesCallback, timeout?: number): void => {
  const c = byId.get(id);
  if (!c) throw new Error(`conformance: ${id} is not in test/conformance/clauses.ts`);
  declare(c, detail, need, fn, timeout);
};

function declare(c: Clause, detail: string | undefined, need: HostNeed | undefined, fn: jest.ProvidesCallback, timeout?: number): void {
  if (c.status !== "tested") throw new Error(`conformance: ${c.id} is registered as ${c.status}`);
  const title = `${c.id} ${c.level}: ${c.summary}${detail ? ` - ${detail}` : ""}`;
  const missing = need ? hostLacks(need) : "";
  // Skipped, not passed, where the host cannot hold the clause; the title says why, and the
  // report counts it as "not on this host" (scripts/conformance-report.mjs).
  if (missing) test.skip(`${title} (needs ${need}: ${missing})`, fn);
  else test(title, fn, timeout);
}

/** Why this host cannot give `need`, or "". */
export function hostLacks(need: HostNeed): string {
  if (need === "time-namespace") return existsSync("/proc/self/ns/time") ? "" : "this kernel has no time namespace";
  const mode = detectCgroups().mode;
  return mode === "unified" ? "" : `this host's cgroups are ${mode}; test/vm/run-guest.test.ts runs it in the pure v2 guest`;
}

/** A clause berth is known not to meet (its registry entry says why): the test must fail. */
clause.failing = (id: string, detail: string | undefined, fn: jest.ProvidesCallback, timeout?: number): void => {
  const c = byId.get(id);
  if (!c?.deviation) throw new Error(`conformance: ${id} has no deviation in clauses.ts`);
  test.failing(`${c.id} ${c.level}: ${c.summary}${detail ? ` - ${detail}` : ""}`, fn, timeout);
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Probe = Record<string, any>;

/** Run /conf-probe (plus `extra` requests) as the container's process; its JSON. */
export function probe(mutate: (c: TestBundle["config"]) => void = () => undefined, extra: string[] = []): Probe {
  const b = bundle(["/conf-probe", ...extra], mutate);
  const r = run(b, ["run", "-b", b.dir, uniq(b, "probe")]);
  if (r.exitCode !== 0) throw new Error(`probe failed (${r.exitCode}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The probe's run, failing or not: for configs that must be refused. */
export function tryRun(mutate: (c: TestBundle["config"]) => void, args: string[] = ["/conf-probe"]) {
  const b = bundle(args, mutate);
  const id = uniq(b, "try");
  return { b, id, r: run(b, ["run", "-b", b.dir, id]) };
}

/** Mount points from a mountinfo text: [{mountPoint, fstype, options}] in order. */
export function mounts(mountinfo: string): { point: string; fstype: string; opts: string[]; super: string[] }[] {
  return mountinfo
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [pre, post] = l.split(" - ");
      const f = pre!.split(" ");
      const p = post!.split(" ");
      return { point: f[4]!, fstype: p[0]!, opts: f[5]!.split(","), super: (p[2] ?? "").split(",") };
    });
}

export const capNames = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];
/** A /proc/self/status capability mask as sorted names. */
export function capsOf(hex: string): string[] {
  const v = BigInt(`0x${hex}`);
  return capNames.filter((_, i) => (v >> BigInt(i)) & 1n).sort();
}
