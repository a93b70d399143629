/**
 * The tests that need a real systemd (test/systemd/*.sd-test.ts, their own jest config) as part
 * of `npm test`. Where systemd is PID 1 they run directly; on a host whose PID 1 is not systemd
 * (this one, CI's) they run under scripts/systemd-ns/run.sh, which boots systemd as PID 1 of its
 * own pid/mount/cgroup namespaces (on a private overlay of /) and runs jest as its service.
 * Skipped, saying why, only where systemd cannot be booted at all: not root, or systemd or
 * dbus-daemon not installed. Anything else that goes wrong (the namespace, systemd's boot, a
 * test) is a failure, with the inner run's output.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { systemdBooted } from "../../src/cgroups";

const repo = join(__dirname, "../..");
const jestArgs = ["npx", "jest", "-c", "test/systemd/jest.config.js", "--verbose"];
const booted = systemdBooted();
const why =
  process.getuid?.() !== 0
    ? "needs root"
    : booted
      ? undefined
      : !existsSync("/lib/systemd/systemd")
        ? "systemd is not installed (/lib/systemd/systemd): apt-get install systemd"
        : !existsSync("/usr/bin/dbus-daemon")
          ? "dbus-daemon is not installed (/usr/bin/dbus-daemon): apt-get install dbus"
          : undefined;
if (why) console.log(`test/systemd/in-namespace: skipped: ${why}`);

(why ? test.skip : test)(
  booted
    ? "the systemd driver's tests pass under this host's systemd"
    : "the systemd driver's tests pass under systemd as PID 1 of its own namespaces",
  () => {
    const [cmd, ...args] = booted ? jestArgs : [join(repo, "scripts/systemd-ns/run.sh"), repo, ...jestArgs];
    const r = spawnSync(cmd!, args, {
      cwd: repo,
      encoding: "utf8",
      env: { ...process.env, BERTH_IN_SYSTEMD_NS: "1", SD_ENV: "BERTH_IN_SYSTEMD_NS", SD_TIMEOUT: "300" },
      timeout: 330_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`${booted ? "jest" : "run.sh"} exited ${r.status ?? r.signal}:\n${out}`);
    // Every test ran (none skipped because systemd was missing after all), and passed.
    const summary = /Tests:\s+(.*)/.exec(out)?.[1] ?? "";
    expect(summary).toMatch(/^\d+ passed, \d+ total$/);
    expect(Number(/(\d+) passed/.exec(summary)![1])).toBeGreaterThanOrEqual(5);
  },
  360_000,
);
