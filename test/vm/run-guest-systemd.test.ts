/**
 * The UML guest with systemd as PID 1 (scripts/vm/run-in-vm.sh, VM_INIT=systemd), for the
 * systemd cgroup driver's tests: boots it once with a shell probe as the command and asserts
 * what the probe saw. systemd reaches "running"; the system bus is up and systemd is on it;
 * `systemd-run --scope` makes a scope whose cgroup appears under /sys/fs/cgroup/system.slice
 * and goes away with it; MemoryMax, TasksMax and CPUQuota land in memory.max, pids.max and
 * cpu.max; the only cgroup hierarchy is cgroup2; tmpfiles and udev are masked; and the
 * plumbing of run-in-vm.sh is unchanged: cwd DIR, VM_ENV, stdout, stderr, exit status; and a
 * guest that has not powered off after its command is stopped from the host.
 * Skipped only when the kernel of scripts/vm/build-uml-kernel.sh is not built (VM_INIT=systemd
 * refuses Debian's linux.uml: systemd crashes under it).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/cli";

const script = join(repoRoot, "scripts/vm/run-in-vm.sh");
const kernel = spawnSync(join(repoRoot, "scripts/vm/build-uml-kernel.sh"), ["--path"], { encoding: "utf8" });
const why = kernel.status === 0 ? "" : "needs the UML kernel of scripts/vm/build-uml-kernel.sh (run it once: about 6 minutes)";
if (why) console.warn(`systemd guest: skipped: ${why}`);

// Runs as berth-vm.service's command. One `key=value` line per observation.
const probe = String.raw`
set -u
echo "start=$(date +%s%N)"
echo "pid1=$(cat /proc/1/comm)"
echo "cwd=$PWD"
echo "probe_env=$BERTH_PROBE"
echo "state=$(systemctl is-system-running --wait)"
echo "cgroup_fs=$(stat -f -c %T /sys/fs/cgroup)"
echo "v1_mounts=$(grep -c '^cgroup ' /proc/mounts)"
echo "own_cgroup=$(cat /proc/self/cgroup)"
echo "load_states=$(systemctl show -P LoadState systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer systemd-udevd.service getty@tty1.service | grep . | sort -u | tr '\n' ' ')"
echo "bus_socket=$(stat -c %F /run/dbus/system_bus_socket)"
busctl --system list --no-pager --no-legend | while read -r name _; do echo "bus_name=$name"; done
echo "version=$(busctl --system get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Version)"
scope=/sys/fs/cgroup/system.slice/berth-probe.scope
systemd-run --scope --quiet --unit=berth-probe sleep 1 &
pid=$!
# (kernfs files have size 0: test for a line, not with -s)
for _ in $(seq 50); do grep -qs . $scope/cgroup.procs && break; sleep 0.1; done
echo "scope_pid=$pid"
echo "scope_procs=$(tr '\n' ' ' <$scope/cgroup.procs)"
echo "scope_active=$(systemctl is-active berth-probe.scope)"
wait $pid
echo "scope_rc=$?"
for _ in $(seq 50); do [ -e $scope ] || break; sleep 0.1; done
echo "scope_left=$([ -e $scope ] && echo yes || echo no)"
systemd-run --scope --quiet --unit=berth-limits -p MemoryMax=64M -p TasksMax=17 -p CPUQuota=50% sh -c '
  cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)
  echo "limits_cgroup=$cg"
  echo "memory_max=$(cat $cg/memory.max)"
  echo "pids_max=$(cat $cg/pids.max)"
  echo "cpu_max=$(cat $cg/cpu.max)"'
echo "failed_units=$(systemctl list-units --failed --no-legend --plain | wc -l)"
echo "canary=$(cat canary)"
echo "end=$(date +%s%N)"
echo "to stderr" >&2
exit 7
`;

(why ? test.skip : test)(
  why
    ? `the UML guest boots with systemd as PID 1 (skipped: ${why})`
    : "the UML guest boots with systemd as PID 1: system bus, transient scopes, resource properties in cgroup2",
  () => {
    // DIR is a fresh host directory with a file 60 days old: tmpfiles' age rules would take it.
    const dir = mkdtempSync("/var/tmp/berth-guest-systemd-");
    try {
      writeFileSync(join(dir, "canary"), "kept\n");
      const old = new Date(Date.now() - 60 * 86400_000);
      utimesSync(join(dir, "canary"), old, old);
      const started = Date.now();
      const r = spawnSync(script, [dir, "bash", "-c", probe], {
        encoding: "utf8",
        env: { ...process.env, VM_INIT: "systemd", VM_TIMEOUT: "80", VM_ENV: "BERTH_PROBE", BERTH_PROBE: "a b'c" },
        timeout: 90_000,
        killSignal: "SIGKILL",
      });
      const ended = Date.now();
      const lines = r.stdout.split("\n");
      const seen = new Map<string, string>();
      for (const l of lines) {
        const i = l.indexOf("=");
        if (i > 0 && !l.startsWith("bus_name=")) seen.set(l.slice(0, i), l.slice(i + 1));
      }
      const busNames = lines.filter((l) => l.startsWith("bus_name=")).map((l) => l.slice("bus_name=".length));
      const commandStart = Number(seen.get("start")) / 1e6;
      const commandEnd = Number(seen.get("end")) / 1e6;
      console.log(
        `systemd guest: boot to the command ${((commandStart - started) / 1000).toFixed(2)} s, probe ${((commandEnd - commandStart) / 1000).toFixed(2)} s, ` +
          `power-off ${((ended - commandEnd) / 1000).toFixed(2)} s, total ${((ended - started) / 1000).toFixed(2)} s`,
      );

      // A guest that does not power off is stopped by run-in-vm.sh 15 s after the command, and
      // it says so after the command's stderr (once in CI, systemd's power-off never ended).
      const marker = r.stderr.indexOf("run-in-vm: the guest did not power off");
      if (marker >= 0) console.warn(`systemd guest: ${r.stderr.slice(marker)}`);
      const stderr = marker >= 0 ? r.stderr.slice(0, marker) : r.stderr;
      expect({ status: r.status, stderr }).toEqual({ status: 7, stderr: "to stderr\n" });
      expect(Object.fromEntries(seen)).toMatchObject({
        pid1: "systemd",
        cwd: dir,
        probe_env: "a b'c",
        state: "running",
        cgroup_fs: "cgroup2fs",
        v1_mounts: "0",
        own_cgroup: "0::/system.slice/berth-vm.service",
        load_states: "masked ",
        bus_socket: "socket",
        version: expect.stringMatching(/^s "\d+/),
        scope_procs: `${seen.get("scope_pid")} `,
        scope_active: "active",
        scope_rc: "0",
        scope_left: "no",
        limits_cgroup: "/sys/fs/cgroup/system.slice/berth-limits.scope",
        memory_max: String(64 * 1024 * 1024),
        pids_max: "17",
        cpu_max: "50000 100000",
        failed_units: "0",
        canary: "kept",
      });
      expect(busNames).toEqual(expect.arrayContaining(["org.freedesktop.DBus", "org.freedesktop.systemd1"]));
      expect(readFileSync(join(dir, "canary"), "utf8")).toBe("kept\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  100_000,
);

(why ? test.skip : test)(
  why
    ? `a guest that does not power off is stopped from the host, the command's status kept (skipped: ${why})`
    : "a guest that does not power off is stopped from the host, the command's status kept",
  () => {
    // The command leaves its status where the guest's own end would, then never ends: the host
    // stops the guest VM_POWEROFF_GRACE s later, and prints the end of its console.
    const r = spawnSync(script, [repoRoot, "bash", "-c", "echo out; echo 5 >/run/vm/rc; exec sleep 300"], {
      encoding: "utf8",
      env: { ...process.env, VM_INIT: "systemd", VM_TIMEOUT: "60", VM_POWEROFF_GRACE: "2" },
      timeout: 90_000,
      killSignal: "SIGKILL",
    });
    expect({ status: r.status, stdout: r.stdout, stderrHead: r.stderr.split("\n")[0] }).toEqual({
      status: 5,
      stdout: "out\n",
      stderrHead:
        "run-in-vm: the guest did not power off within 2 s of the command's end: stopped it from the host; the end of its console:",
    });
    expect(r.stderr).toMatch(/Started .*berth-vm\.service/);
  },
  100_000,
);

(why ? test.skip : test)(
  why
    ? `the systemd driver's tests pass in the guest, systemd as PID 1 on pure cgroup v2 (skipped: ${why})`
    : "the systemd driver's tests pass in the guest, systemd as PID 1 on pure cgroup v2",
  () => {
    // The same suite test/systemd/in-namespace.test.ts runs on this hybrid host, here with v2
    // properties (MemoryMax, CPUWeight, ...), the eBPF device filter beside systemd's, and a
    // systemd that owns the whole cgroup tree.
    const reporters = ["--reporters", "default", "--reporters", "<rootDir>/test/helpers/progress-reporter.js"];
    const once = () =>
      spawnSync(script, [repoRoot, "npx", "jest", "--ci", "--runInBand", "-c", "test/systemd/jest.config.js", "--verbose", ...reporters], {
        encoding: "utf8",
        // 30-50 s here. In CI it ran out of 280 s once and of 420 s once, with nothing said (the
        // output went through the consoles then); here it never has, in 20+ runs. Later, in CI,
        // the boot test above finished its command in 3 s and then the guest never powered off:
        // run-in-vm.sh now stops such a guest itself 15 s after the command's end. Should the
        // command itself hang, the guest's watchdog reports every process 20 s before the end,
        // progress-reporter.js says which test was running, and a run that runs out of time is
        // made once more, after its report is printed: the suite must pass in one run or the other.
        env: { ...process.env, VM_INIT: "systemd", VM_TIMEOUT: "240" },
        timeout: 260_000,
        killSignal: "SIGKILL",
      });
    let r = once();
    if (r.status === 124) {
      console.warn(
        `systemd guest: the driver suite ran out of time; its output and the guest's report:\n${`${r.stdout}\n${r.stderr}`.slice(-12000)}\nrunning it once more`,
      );
      r = once();
    }
    const out = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0)
      throw new Error(`run-in-vm.sh exited ${r.status ?? r.signal} (124: VM_TIMEOUT ran out); the guest's output:\n${out.slice(-6000)}`);
    const summary = /Tests:\s+(.*)/.exec(out)?.[1] ?? "";
    expect(summary).toMatch(/^\d+ passed, \d+ total$/);
    expect(Number(/(\d+) passed/.exec(summary)![1])).toBeGreaterThanOrEqual(6);
  },
  540_000,
);
