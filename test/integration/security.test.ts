/**
 * Security regressions, each proven by trying the attack from inside a container (or, for the
 * pid checks, by making the host look like the attack happened): the runtime binary cannot be
 * overwritten through /proc/<pid>/exe (CVE-2019-5736), no host fd reaches the container and a
 * cwd through /proc/self/fd cannot leave the root (CVE-2024-21626), kill and delete never
 * signal a recycled pid, masked and read-only paths hold, and concurrent commands on one
 * container are serialised.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec } from "../../src/spec";
import { berth, berthBin, repoRoot } from "../helpers/cli";
import { cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";
import { until } from "../helpers/until";

let b: TestBundle;
const ids = testIds("sec");
const started: number[] = [];
const uniq = ids.uniq;
const run = (args: string[]) => berth(["--root", b.root, ...args]);

afterEach(() => {
  ids.deleteAll((id) => run(["delete", "--force", id]));
  // Only processes this file started, by pid.
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  b?.cleanup();
});

const inside = (script: string, mutate?: (c: TestBundle["config"]) => void) => {
  b = makeBundle(["sh", "-c", script], mutate);
  return run(["run", "-b", b.dir, uniq("in")]);
};

function readdirSafe(path: string): string[] | undefined {
  try {
    return readdirSync(path);
  } catch {
    return undefined;
  }
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Poll a condition until a deadline (no fixed sleeps). */

function statOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
}
const alive = (pid: number) => {
  const st = statOf(pid);
  return st !== undefined && !/^\d+ \(.*\) [ZX] /.test(st);
};

describe("CVE-2019-5736: the runtime binary cannot be rewritten from inside", () => {
  test("the created container's init runs from a sealed memfd; writing /proc/1/exe from inside it fails and berth-init is unchanged", () => {
    const initOnHost = join(repoRoot, "build/Release/berth-init");
    const before = sha256(initOnHost);
    b = makeBundle(["true"]);
    const id = uniq("exe");
    expect(run(["create", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    const pid = JSON.parse(run(["state", id]).stdout).pid as number;
    expect(readFileSync(`/proc/${pid}/exe`).length).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toMatch(/^berth-init\0run\0/);

    // The attacker: root with every capability, in the container's mount and pid namespaces and
    // root directory, where /proc/1/exe is berth-init. Try to truncate and to append.
    const attack = spawnSync(
      "nsenter",
      [
        "-t",
        String(pid),
        "-m",
        "-p",
        "-r",
        "-w",
        "/bin/sh",
        "-c",
        "readlink /proc/1/exe; (true > /proc/1/exe) && echo TRUNCATED; (echo x >> /proc/1/exe) && echo APPENDED; exit 0",
      ],
      { encoding: "utf8" },
    );
    expect(attack.status).toBe(0);
    expect(attack.stdout).toMatch(/^\/memfd:berth-init/);
    expect(attack.stdout).not.toMatch(/TRUNCATED|APPENDED/);
    expect(attack.stderr).toMatch(/(Text file busy|Operation not permitted)/);

    // From the host, as root, the same: the seals hold for every opener.
    expect(() => closeSync(openSync(`/proc/${pid}/exe`, constants.O_WRONLY))).toThrow(/ETXTBSY|EPERM/);
    expect(sha256(initOnHost)).toBe(before);
    // And the container still works: start runs the program.
    expect(run(["start", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  });
});

describe("CVE-2024-21626: no host fd inside, and a cwd through /proc/self/fd stays inside", () => {
  test("only 0, 1, 2 and the --preserve-fds ones are open in the container's process", () => {
    b = makeBundle(["sh", "-c", "ls /proc/self/fd; readlink /proc/self/fd/3"]);
    const id = uniq("fds");
    const extra = openSync(join(b.dir, "config.json"), "r");
    const out = join(b.dir, "out");
    const o = openSync(out, "w");
    try {
      const r = spawnSync(berthBin, ["--root", b.root, "run", "--preserve-fds", "1", "-b", b.dir, id], { stdio: ["ignore", o, o, extra] });
      expect(r.status).toBe(0);
    } finally {
      closeSync(o);
      closeSync(extra);
    }
    // 0-2, the preserved 3, and ls's own directory fd (4).
    expect(readFileSync(out, "utf8")).toBe(`0\n1\n2\n3\n4\n${join(b.dir, "config.json")}\n`);
  });

  test("process.cwd = /proc/self/fd/N is refused, or lands inside the container's root, for every N berth-init has open", () => {
    // Every fd berth-init holds while it runs its plan: stdio, the exec fifo, the plan's and the
    // sync socket's, its own memfd; a few more for good measure.
    for (let n = 3; n <= 10; n++) {
      const r = inside(
        // Reachable by its own path from the container's root: the same inode.
        'p=$(pwd -P); echo "cwd=$p"; [ "$(stat -c %d:%i "$p")" = "$(stat -c %d:%i .)" ] && echo INSIDE',
        (c) => (c.process.cwd = `/proc/self/fd/${n}`),
      );
      if (r.exitCode === 0) {
        expect({ n, out: r.stdout }).toEqual({ n, out: expect.stringMatching(/^cwd=\/[^\n]*\nINSIDE\n$/) });
        expect(r.stdout).not.toMatch(/unreachable/);
      } else {
        expect({ n, err: r.stderr }).toEqual({ n, err: expect.stringMatching(/process\.cwd/) });
      }
    }
  });
});

describe("kill and delete never signal a recycled pid", () => {
  test("the state's pid now names another process (different start time): kill says not running and sends nothing; delete leaves it alone", async () => {
    b = makeBundle(["sleep", "300"]);
    const id = uniq("recycled");
    expect(run(["run", "-d", "-b", b.dir, id]).exitCode).toBe(0);
    const containerPid = JSON.parse(run(["state", id]).stdout).pid as number;

    // A host process of ours plays the one that got the recycled pid.
    const other = spawn("sleep", ["300"], { stdio: "ignore" });
    started.push(other.pid!);
    await until("the stand-in to run", () => statOf(other.pid!) !== undefined);
    const statePath = join(b.root, id, "state.json");
    const record = JSON.parse(readFileSync(statePath, "utf8"));
    // Recorded: the stand-in's pid, with the start time the container's init had.
    writeFileSync(statePath, JSON.stringify({ ...record, pid: other.pid }));

    expect(JSON.parse(run(["state", id]).stdout)).toMatchObject({ status: "stopped", pid: 0 });
    for (const sig of ["KILL", "TERM"]) {
      expect(run(["kill", id, sig])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: kill ${id}: container not running\n` });
    }
    expect(run(["kill", "--all", id, "KILL"]).stderr).toBe(`berth: kill ${id}: container not running\n`);
    expect(alive(other.pid!)).toBe(true);

    // delete: the container is stopped as far as its record goes; what is left in its cgroup
    // (the real init, here) goes with it; the stand-in is not in that cgroup and lives on.
    expect(run(["delete", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(alive(other.pid!)).toBe(true);
    await until("the container's init to die", () => !alive(containerPid));
    expect(cgroupDirsFor(`/berth/${id}`)).toEqual([]);
    expect(existsSync(join(b.root, id))).toBe(false);
  });

  test("same pid, different start time: kill sends nothing", () => {
    b = makeBundle(["sleep", "300"]);
    const id = uniq("starttime");
    expect(run(["create", "-b", b.dir, id]).exitCode).toBe(0);
    const statePath = join(b.root, id, "state.json");
    const record = JSON.parse(readFileSync(statePath, "utf8"));
    writeFileSync(statePath, JSON.stringify({ ...record, pidStartTime: String(Number(record.pidStartTime) + 1) }));
    expect(run(["kill", id, "KILL"])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: kill ${id}: container not running\n` });
    expect(alive(record.pid)).toBe(true);
    expect(readFileSync(`/proc/${record.pid}/cmdline`, "utf8")).toMatch(/^berth-init\0/);
    // Put the truth back so cleanup can kill it.
    writeFileSync(statePath, JSON.stringify(record));
  });
});

describe("masked and read-only paths", () => {
  test("masked files read empty, masked directories are empty read-only tmpfs, read-only paths refuse writes", () => {
    // This host's kernel lacks some of the default paths (/proc/kcore, /proc/sysrq-trigger):
    // those must simply not be there inside either; the ones it has must be masked.
    const masked = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/acpi", "/sys/firmware"];
    const readonly = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
    const probe = [
      // path kind size fstype mount-options; size = bytes of a file, entries of a directory
      ...masked.map(
        (p) =>
          `if [ -d ${p} ]; then echo "${p} dir $(ls -A ${p} | wc -l) $(grep " ${p} " /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1) $(grep " ${p} " /proc/self/mountinfo | cut -d' ' -f6)"; elif [ -e ${p} ]; then echo "${p} file $(cat ${p} | wc -c)"; else echo "${p} absent"; fi`,
      ),
      "touch /sys/firmware/x 2>&1",
      ...readonly.map(
        (p) => `if [ -e ${p} ]; then echo "${p} $(grep " ${p} " /proc/self/mountinfo | cut -d' ' -f6)"; else echo "${p} absent"; fi`,
      ),
      "(echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1",
      "(echo 1 > /proc/irq/default_smp_affinity) 2>&1",
      "(mount -o remount,rw /proc/sys) 2>&1 >/dev/null || echo remount refused",
      "(umount /proc/keys) 2>&1 >/dev/null || echo umount refused",
    ];
    const r = inside(probe.join("; "));
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split("\n");
    const byPath = new Map(lines.map((l) => [l.split(" ")[0]!, l]));
    for (const p of masked) {
      const line = byPath.get(p);
      if (!existsSync(p)) expect(line).toBe(`${p} absent`);
      else if (readdirSafe(p) !== undefined) expect(line).toMatch(new RegExp(`^${p} dir 0 tmpfs (\\S*,)?ro(,|$)`));
      else expect(line).toBe(`${p} file 0`);
    }
    // The host has content there: the mask is what makes them empty.
    expect(readFileSync("/proc/timer_list").length).toBeGreaterThan(0);
    expect(readdirSafe("/sys/firmware")!.length).toBeGreaterThan(0);
    expect(lines).toContainEqual(expect.stringMatching(/^touch: \/sys\/firmware\/x: Read-only file system$/));
    for (const p of readonly) {
      const line = byPath.get(p);
      if (!existsSync(p)) expect(line).toBe(`${p} absent`);
      else expect(line).toMatch(new RegExp(`^${p} (\\S*,)?ro(,|$)`));
    }
    expect(lines.filter((l) => /Read-only file system/.test(l) && /ns_last_pid|default_smp_affinity/.test(l))).toHaveLength(2);
    expect(lines).toContain("remount refused");
    expect(lines).toContain("umount refused");
  });

  test("a masked directory of the config's own is an empty read-only tmpfs, and a read-only path is read-only", () => {
    const r = inside("ls -A /etc | wc -l; touch /etc/x 2>&1; (echo x > /dev/shm/x) 2>&1; echo done", (c) => {
      c.linux.maskedPaths = ["/etc"];
      c.linux.readonlyPaths = ["/dev/shm"];
    });
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("0");
    expect(lines[1]).toMatch(/Read-only file system/);
    expect(lines[2]).toMatch(/Read-only file system/);
    expect(lines[3]).toBe("done");
  });

  test("the default spec masks and write-protects /proc and /sys as runc's does", () => {
    const spec = defaultSpec();
    expect(spec.linux!.maskedPaths).toEqual(
      expect.arrayContaining([
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
      ]),
    );
    expect(spec.linux!.readonlyPaths).toEqual(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
    // And a container of that spec: writes to files under the read-only paths are refused
    // (procfs allows no new files, so existing ones are written).
    const r = inside(
      "for f in /proc/sys/kernel/hostname /proc/sys/vm/drop_caches /proc/irq/default_smp_affinity; do (echo 1 > $f) 2>&1; done; [ -e /proc/sysrq-trigger ] && (echo h > /proc/sysrq-trigger) 2>&1; true",
      (c) => {
        c.linux.maskedPaths = spec.linux!.maskedPaths;
        c.linux.readonlyPaths = spec.linux!.readonlyPaths;
      },
    );
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.length).toBe(existsSync("/proc/sysrq-trigger") ? 4 : 3);
    for (const l of lines) expect(l).toMatch(/Read-only file system$/);
  });
});

describe("concurrent commands on one container are serialised", () => {
  const spawnBerth = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(berthBin, ["--root", b.root, ...args], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      p.stderr.on("data", (d) => (stderr += d));
      p.on("close", (code) => resolve({ code, stderr }));
    });

  test("two parallel delete --force, and kill racing them: one deletes, the others find it gone; nothing is corrupted or left", async () => {
    b = makeBundle(["sh", "-c", "sleep 300 & sleep 300"]);
    for (let round = 0; round < 5; round++) {
      const id = uniq(`race${round}`);
      expect(run(["run", "-d", "-b", b.dir, id]).exitCode).toBe(0);
      const pid = JSON.parse(run(["state", id]).stdout).pid as number;
      const [d1, d2, k] = await Promise.all([
        spawnBerth(["delete", "--force", id]),
        spawnBerth(["delete", "--force", id]),
        spawnBerth(["kill", id, "KILL"]),
      ]);
      // One of them deletes; the other, serialised behind it by the lock, finds nothing and,
      // as runc's delete --force, succeeds silently.
      expect([d1, d2]).toEqual([
        { code: 0, stderr: "" },
        { code: 0, stderr: "" },
      ]);
      // kill ran before, between or after the deletes.
      expect(["", `berth: kill ${id}: container not running\n`, `berth: kill ${id}: container does not exist\n`]).toContain(k.stderr);
      expect(alive(pid)).toBe(false);
      expect(cgroupDirsFor(`/berth/${id}`)).toEqual([]);
      expect(existsSync(join(b.root, id))).toBe(false);
    }
    // No temporary state files were left behind by the atomic writes.
    expect(readdirSync(b.root)).toEqual([]);
  });
});
