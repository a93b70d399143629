/**
 * Proves cgroup v2 on every `npm test`, from this (hybrid) host: boots the pure cgroup v2 UML
 * guest (scripts/vm/run-in-vm.sh) and runs test/vm/cgroups-v2.test.ts inside it; that run must
 * pass and must not have skipped. Needs root, a built bin/berth and a UML kernel: the one
 * scripts/vm/build-uml-kernel.sh builds (.ci/run does), or Debian's where node runs under it.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { berthBin, repoRoot } from "../helpers/cli";

const script = join(repoRoot, "scripts/vm/run-in-vm.sh");
const NODE_BROKEN = 86;

/** The kernel scripts/vm/build-uml-kernel.sh built (run-in-vm.sh's first choice), if any. */
function builtKernel(): string {
  const r = spawnSync(join(repoRoot, "scripts/vm/build-uml-kernel.sh"), ["--path"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "";
}

/**
 * Why the suite cannot run here, or "". With the kernel of build-uml-kernel.sh the guest keeps
 * the whole FPU state on any CPU, so nothing is asked: a failure there is a failure. Without
 * it run-in-vm.sh falls back to Debian's linux.uml behind uml-no-xstate.py, which loses
 * AVX/AVX-512 state at every page fault of a guest thread; on CPUs that have AVX-512 or AMX
 * node then aborts or miscomputes in the guest. Whether node runs there is asked once (about
 * 3 s), and if it does not, the test is reported as skipped, with why: it is not shown as a pass.
 */
function whyNot(): string {
  if (process.getuid?.() !== 0) return "needs root";
  if (!existsSync(berthBin)) return "needs `npm run build`";
  if (builtKernel()) return "";
  if (!existsSync("/usr/bin/linux.uml")) return "needs a UML kernel: scripts/vm/build-uml-kernel.sh (or the package user-mode-linux)";
  const r = spawnSync(script, [repoRoot, "sh", "-c", `node -e 0 >/dev/null 2>&1 || exit ${NODE_BROKEN}`], {
    encoding: "utf8",
    env: { ...process.env, VM_TIMEOUT: "60" },
    timeout: 90_000,
    killSignal: "SIGKILL",
  });
  if (r.status === NODE_BROKEN)
    return "node cannot run under Debian's user-mode-linux on this host's CPU (AVX-512/AMX state is lost); build the fixed kernel once with scripts/vm/build-uml-kernel.sh";
  if (r.status !== 0) return `the guest did not boot (exit ${r.status}): ${`${r.stdout}${r.stderr}`.slice(-500)}`;
  return "";
}
const why = whyNot();
if (why) console.warn(`cgroup v2 guest: skipped: ${why}`);

(why ? test.skip : test)(
  why ? `the pure cgroup v2 suite passes inside the UML guest (skipped: ${why})` : "the pure cgroup v2 suite passes inside the UML guest",
  () => {
    const started = Date.now();
    const r = spawnSync(script, [repoRoot, "npx", "jest", "--ci", "--runInBand", "test/vm/cgroups-v2.test.ts"], {
      encoding: "utf8",
      env: { ...process.env, VM_TIMEOUT: "280" },
      timeout: 300_000,
      killSignal: "SIGKILL",
    });
    const out = `${r.stdout}\n${r.stderr}`;
    console.log(`guest run: ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${r.status}`);
    expect({ status: r.status, tail: out.slice(-3000) }).toMatchObject({ status: 0 });
    expect(out).toMatch(/Tests:\s+\d+ passed/);
    expect(out).not.toMatch(/skipped/);
  },
  320_000,
);

(why ? test.skip : test)(
  why
    ? `berth's conformance suite passes inside the UML guest (skipped: ${why})`
    : "berth's conformance suite passes inside the UML guest, its cgroup v2 clauses included",
  () => {
    // The clause report exits 1 on any failing or untested clause; on this pure v2 host no
    // clause, and no test, may be left out for want of cgroup v2 (the time namespace may:
    // User-Mode Linux cannot have one).
    const results = "build/conformance-v2-guest.json";
    const cmd = `npx jest --ci --runInBand test/conformance --json --outputFile=${results} >/dev/null 2>build/conformance-v2-guest.log; node scripts/conformance-report.mjs ${results}`;
    const started = Date.now();
    // The guest is slow at making processes (User-Mode Linux): the suite took 480-540 s here on
    // a loaded machine, so it gets 900.
    const r = spawnSync(script, [repoRoot, "sh", "-c", cmd], {
      encoding: "utf8",
      env: { ...process.env, VM_TIMEOUT: "900" },
      timeout: 920_000,
      killSignal: "SIGKILL",
    });
    const out = `${r.stdout}\n${r.stderr}`;
    console.log(
      `guest conformance run: ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${r.status}\n${out
        .split("\n")
        .filter((l) => l.startsWith("clauses:"))
        .join("\n")}`,
    );
    expect({ status: r.status, tail: out.slice(-3000) }).toMatchObject({ status: 0 });
    expect(out).toMatch(/config-linux\.md#unified\/controllers\s+MUST\s+pass/);
    expect(out).toMatch(/not on this host 0;/);
    expect(out).not.toMatch(/cgroup-v2: /);
  },
  940_000,
);
