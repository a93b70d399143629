/**
 * On a host whose PID 1 is not systemd (this one, CI's), run test/systemd under a real systemd:
 * scripts/systemd-ns/run.sh boots one as PID 1 of its own pid/mount/cgroup namespaces (on a
 * private overlay of /) and runs jest there. Skipped, saying why, where that cannot work.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { systemdBooted } from "../../src/cgroups";

const repo = join(__dirname, "../..");
const why = systemdBooted()
  ? "systemd is PID 1 here: systemd-driver.test.ts runs directly"
  : process.getuid?.() !== 0
    ? "needs root"
    : !existsSync("/lib/systemd/systemd")
      ? "systemd is not installed (/lib/systemd/systemd)"
      : process.env.BERTH_IN_SYSTEMD_NS
        ? "already inside"
        : undefined;
if (why) console.log(`test/systemd/in-namespace: skipped: ${why}`);
(why ? test.skip : test)(
  "the systemd driver's tests pass under systemd as PID 1 of its own namespaces",
  () => {
    const r = spawnSync(join(repo, "scripts/systemd-ns/run.sh"), [repo, "npx", "jest", "test/systemd/systemd-driver.test.ts"], {
      encoding: "utf8",
      env: { ...process.env, BERTH_IN_SYSTEMD_NS: "1", SD_ENV: "BERTH_IN_SYSTEMD_NS", SD_TIMEOUT: "300" },
      timeout: 330_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`run.sh exited ${r.status}:\n${out}`);
    expect(out).toMatch(/Tests:\s+.*\d+ passed/);
    expect(out).not.toMatch(/\d+ skipped/);
  },
  360_000,
);
