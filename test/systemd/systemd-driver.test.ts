/**
 * --systemd-cgroup against a real systemd. It runs where systemd is PID 1; `npm test` on this
 * (non-systemd) host runs it inside scripts/systemd-ns/run.sh (test/systemd/in-namespace.test.ts),
 * a systemd booted as PID 1 of its own pid/mount/cgroup namespaces. Elsewhere it is skipped,
 * saying why. What is asserted is what a user sees: systemctl shows the unit with the
 * container's pid and limits, the cgroup files hold them, delete removes the unit.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { makeBundle, type TestBundle } from "../helpers/bundle";
import { detectCgroups, systemdBooted } from "../../src/cgroups";

const booted = systemdBooted();
if (!booted) console.log("test/systemd: skipped here: systemd is not PID 1 on this host (/run/systemd/system is missing); in-namespace.test.ts runs it under a systemd of its own");
const maybe = booted ? describe : describe.skip;
const layout = detectCgroups();

let b: TestBundle | undefined;
const ids: string[] = [];
const run = (args: string[]) => berth(["--root", b!.root, "--systemd-cgroup", ...args]);
const systemctl = (...args: string[]) => execFileSync("systemctl", args, { encoding: "utf8" });
const show = (unit: string, ...props: string[]) => Object.fromEntries(systemctl("show", unit, ...props.map((p) => `-p${p}`)).trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
const unitDir = (controller: string, unit: string) => (layout.mode === "unified" ? join(layout.v2Mount!, "system.slice", unit) : join(layout.v1Mounts[controller]!, "system.slice", unit));

afterEach(() => {
  for (const id of ids.splice(0)) run(["delete", "--force", id]);
  b?.cleanup();
  b = undefined;
});

maybe("systemd cgroup driver", () => {
  test("create makes a transient scope with the init's pid and the limits; delete removes it", () => {
    const id = `sd-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    const unit = `berth-${id}.scope`;
    b = makeBundle(["sleep", "60"], (c) => {
      c.linux.cgroupsPath = `system.slice:berth:${id}`;
      c.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 42 }, cpu: { shares: 512 } };
    });
    ids.push(id);
    const r = run(["create", "-b", b.dir, id]);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const pid = JSON.parse(run(["state", id]).stdout).pid as number;

    const status = systemctl("status", "--no-pager", unit);
    expect(status).toContain(`berth container ${id}`);
    expect(status).toMatch(new RegExp(`\\b${pid}\\b`));
    const props = show(unit, "ActiveState", "MemoryMax", "MemoryLimit", "TasksMax", "Delegate", "Slice", "ControlGroup");
    expect(props.ActiveState).toBe("active");
    expect(props.Delegate).toBe("yes");
    expect(props.Slice).toBe("system.slice");
    expect(props.TasksMax).toBe("42");
    expect(layout.mode === "unified" ? props.MemoryMax : props.MemoryLimit).toBe(String(64 << 20));
    expect(props.ControlGroup).toBe(`/system.slice/${unit}`);

    // The kernel's view: the limits are in the scope's cgroup, and the init is in it.
    if (layout.mode === "unified") {
      expect(readFileSync(join(unitDir("", unit), "memory.max"), "utf8").trim()).toBe(String(64 << 20));
      expect(readFileSync(join(unitDir("", unit), "pids.max"), "utf8").trim()).toBe("42");
    } else {
      expect(readFileSync(join(unitDir("memory", unit), "memory.limit_in_bytes"), "utf8").trim()).toBe(String(64 << 20));
      expect(readFileSync(join(unitDir("pids", unit), "pids.max"), "utf8").trim()).toBe("42");
      expect(readFileSync(join(unitDir("cpu", unit), "cpu.shares"), "utf8").trim()).toBe("512");
      expect(readFileSync(join(unitDir("memory", unit), "cgroup.procs"), "utf8")).toContain(String(pid));
    }
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(`/system.slice/${unit}`);

    // update goes through SetUnitProperties: systemd's view and the file change together.
    const u = berth(["--root", b.root, "--systemd-cgroup", "update", "--memory", String(96 << 20), "--pids-limit", "50", id]);
    expect({ exitCode: u.exitCode, stderr: u.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const after = show(unit, "MemoryMax", "MemoryLimit", "TasksMax");
    expect(after.TasksMax).toBe("50");
    expect(layout.mode === "unified" ? after.MemoryMax : after.MemoryLimit).toBe(String(96 << 20));

    const d = run(["delete", "--force", id]);
    expect({ exitCode: d.exitCode, stderr: d.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(show(unit, "LoadState", "ActiveState")).toEqual({ LoadState: "not-found", ActiveState: "inactive" });
    expect(existsSync(unitDir("memory", unit))).toBe(false);
    expect(existsSync(join(layout.v2Mount ?? "/nonexistent", "system.slice", unit))).toBe(false);
  });

  // KNOWN HOLE (v1 devices), not asserted because it is a race: systemd writes "a" to
  // devices.allow of a unit whose DevicePolicy is auto when it realizes it, sometimes after
  // berth has rewritten its rules (seen both ways). The fix is runc's: DevicePolicy=strict +
  // DeviceAllow from the rules. cgroup v2 (berth's eBPF filter) is not affected.

  test("a property systemd refuses is an error naming the container, the field and systemd's reason", () => {
    const id = `sd-bad-${process.pid}`;
    b = makeBundle(["true"], (c) => {
      c.linux.cgroupsPath = `system.slice:berth:${id}`;
    });
    ids.push(id);
    // A unit name systemd does not accept (no spaces in unit names).
    b!.config.linux.cgroupsPath = "system.slice:berth:a b";
    b!.write();
    const r = run(["create", "-b", b!.dir, id]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^berth: create ${id}: linux.cgroupsPath: systemd StartTransientUnit berth-a b\\.scope: `));
    expect(existsSync(join(layout.v2Mount ?? "/nonexistent", "system.slice", "berth-a b.scope"))).toBe(false);
  });
});
