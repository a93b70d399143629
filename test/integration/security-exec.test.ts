/**
 * CVE-2016-9962 class: a process entering a running container (berth exec, or a new container
 * that joins another's pid namespace) must show the container nothing of the host while it is
 * set up. Two attackers run inside the container as its init, against many entries each:
 *   - a watcher over /proc/<pid>/root that writes through every root it can reach to a host
 *     directory the container does not have (it exists only if that root is the host's);
 *   - a ptrace attacher (fixtures/ptrace-attacker.c) that seizes whatever appears, and if it
 *     gets hold of berth's helper, suppresses its seccomp and no_new_privs loads.
 * The exec'd program is `mkdir`, which the container's seccomp profile forbids: if any
 * directory appears, a process ran without its filter. Each attack on exec runs with the
 * default capability set and with CAP_SYS_PTRACE added. With CAP_SYS_PTRACE (in the host's
 * user namespace) a tracer may attach to any process in its pid namespace, dumpable or not:
 * berth's exec shows it only the process about to exec, already under its filter, with the
 * user's credentials. A new container that joins the pid namespace is tested with the default
 * set only: its setup (mounting /proc needs a process in that pid namespace) is as exposed to
 * a CAP_SYS_PTRACE holder there as runc's (docs/security.md).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { makeBundle, type TestBundle } from "../helpers/bundle";
import { until } from "../helpers/until";

const EXECS = 30;
const JOINS = 20;

let bundles: TestBundle[] = [];
let dirs: string[] = [];
let ids: { root: string; id: string }[] = [];

afterEach(() => {
  for (const { root, id } of ids.reverse()) berth(["--root", root, "delete", "--force", id]);
  ids = [];
  for (const b of bundles) b.cleanup();
  bundles = [];
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

let attackerDir: string;
let attacker: string;
beforeAll(() => {
  attackerDir = mkdtempSync(join(tmpdir(), "berth-attacker-"));
  attacker = join(attackerDir, "ptrace-attacker");
  execFileSync("gcc", ["-static", "-O2", "-o", attacker, join(__dirname, "fixtures/ptrace-attacker.c")]);
});
afterAll(() => rmSync(attackerDir, { recursive: true, force: true }));

/** The watcher: sh, builtins only in its loop, so that it goes round /proc fast. */
const WATCHER = `#!/bin/sh
host="$1"
seen=" "
echo ready > /out/watch.log
while :; do
  for p in /proc/[0-9]*; do
    [ "$p" = "/proc/$$" ] && continue
    if [ -d "$p/root$host" ]; then
      echo "host root through $p" >> /out/watch.log
      echo escaped > "$p/root$host/escaped-\${p#/proc/}" 2>/dev/null
    fi
    if [ -d "$p/root/out" ]; then
      case "$seen" in *" $p "*) ;; *) seen="$seen$p "; echo "$p" >> /out/seen ;; esac
    fi
  done
done
`;

const withPtrace = (caps: Record<string, string[]>) => {
  for (const set of ["bounding", "effective", "permitted"]) caps[set] = [...(caps[set] ?? []), "CAP_SYS_PTRACE"];
};

/** A bundle whose init is `init`, with /out bound to a host directory and mkdir forbidden. */
function attackBundle(out: string, init: string[], ptrace: boolean, mutate?: (c: TestBundle["config"]) => void): TestBundle {
  const b = makeBundle(init, (c) => {
    c.mounts.push({ destination: "/out", type: "bind", source: out, options: ["rbind", "rw"] });
    c.linux.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
    };
    if (ptrace) withPtrace(c.process.capabilities);
    mutate?.(c);
  });
  bundles.push(b);
  return b;
}

async function startInit(b: TestBundle, id: string, ready: string): Promise<number> {
  ids.push({ root: b.root, id });
  const r = berth(["--root", b.root, "run", "-d", "-b", b.dir, id]);
  expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const state = JSON.parse(berth(["--root", b.root, "state", id]).stdout);
  await until(`${ready} to say ready`, () => existsSync(ready) && readFileSync(ready, "utf8").startsWith("ready"));
  return state.pid as number;
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : []);

describe.each([
  ["the default capabilities", false],
  ["CAP_SYS_PTRACE added", true],
])("CVE-2016-9962: entering a running container, %s", (_name, ptrace) => {
  const uniq = (n: string) => `cve9962-${n}-${ptrace ? "p" : "d"}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;

  test(`berth exec (${EXECS} times): a watcher over /proc/*/root inside reaches no host path`, async () => {
    const out = tempDir("berth-out-");
    const host = tempDir("berth-escape-");
    writeFileSync(join(out, "watch.sh"), WATCHER);
    chmodSync(join(out, "watch.sh"), 0o755);
    const b = attackBundle(out, ["/out/watch.sh", host], ptrace);
    const id = uniq("watch");
    await startInit(b, id, join(out, "watch.log"));
    for (let i = 0; i < EXECS; i++) {
      const r = berth(["--root", b.root, "exec", id, "sh", "-c", `mkdir /out/made-${i} 2>/dev/null; sleep 0.05`]);
      expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    }
    expect(readdirSync(host)).toEqual([]);
    expect(lines(join(out, "watch.log"))).toEqual(["ready"]);
    expect(readdirSync(out).filter((f) => f.startsWith("made-"))).toEqual([]);
    // The watcher did look: it reached the exec'd processes' roots (the container's).
    expect(lines(join(out, "seen")).length).toBeGreaterThan(0);
  });

  test(`berth exec (${EXECS} times): a ptrace attacher inside gets hold of nothing of berth's, and every exec'd process runs under its seccomp filter`, async () => {
    const out = tempDir("berth-out-");
    execFileSync("cp", [attacker, join(out, "attacker")]);
    const b = attackBundle(out, ["/out/attacker", "/out/attack.log"], ptrace);
    const id = uniq("ptrace");
    await startInit(b, id, join(out, "attack.log"));
    for (let i = 0; i < EXECS; i++) {
      const r = berth(["--root", b.root, "exec", id, "mkdir", `/out/made-${i}`]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/Operation not permitted/);
    }
    expect(readdirSync(out).filter((f) => f.startsWith("made-"))).toEqual([]);
    const log = lines(join(out, "attack.log"));
    expect(log.filter((l) => /^skipped /.test(l))).toEqual([]);
    // Whatever it attached to was under its filter already; without CAP_SYS_PTRACE it never
    // got hold of berth-init at all.
    expect(log.filter((l) => /^attached /.test(l) && !/ seccomp=2$/.test(l))).toEqual([]);
    if (!ptrace) expect(log.filter((l) => /^attached \d+ memfd:berth/.test(l))).toEqual([]);
  });
});

describe("CVE-2016-9962: new containers joining a pid namespace, the default capabilities", () => {
  const ptrace = false;
  const uniq = (n: string) => `cve9962-${n}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;

  test(`${JOINS} new containers joining the pid namespace: neither attacker gets anywhere`, async () => {
    const out = tempDir("berth-out-");
    const host = tempDir("berth-escape-");
    writeFileSync(join(out, "watch.sh"), WATCHER);
    chmodSync(join(out, "watch.sh"), 0o755);
    execFileSync("cp", [attacker, join(out, "attacker")]);
    // Two inits in one pid namespace: the watcher's container, and the attacker joins it.
    const w = attackBundle(out, ["/out/watch.sh", host], ptrace);
    const wid = uniq("pidns-w");
    const wpid = await startInit(w, wid, join(out, "watch.log"));
    const joinPid = (c: TestBundle["config"]) => {
      c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
        n.type === "pid" ? { type: "pid", path: `/proc/${wpid}/ns/pid` } : n,
      );
    };
    const a = attackBundle(out, ["/out/attacker", "/out/attack.log"], ptrace, joinPid);
    await startInit(a, uniq("pidns-a"), join(out, "attack.log"));
    mkdirSync(join(out, "joiners"));
    for (let i = 0; i < JOINS; i++) {
      const j = attackBundle(out, ["mkdir", `/out/made-${i}`], false, joinPid);
      const r = berth(["--root", j.root, "run", "-b", j.dir, uniq(`pidns-j${i}`)]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/Operation not permitted/);
    }
    expect(readdirSync(host)).toEqual([]);
    expect(lines(join(out, "watch.log"))).toEqual(["ready"]);
    expect(readdirSync(out).filter((f) => f.startsWith("made-"))).toEqual([]);
    const log = lines(join(out, "attack.log"));
    expect(log.filter((l) => /^skipped /.test(l))).toEqual([]);
    // The watcher, the other container's init, is fair game; berth-init is not.
    expect(log.filter((l) => /^attached \d+ memfd:berth/.test(l))).toEqual([]);
    expect(lines(join(out, "seen")).length).toBeGreaterThan(0);
  });
});
