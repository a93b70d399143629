/**
 * delete and a cgroup the kernel still calls busy. A process of the test's own (a host sleep)
 * is moved into the container's v1 pids cgroup, which is not the leaf cgroup delete kills and
 * waits for, so rmdir of that directory meets a live task:
 *   - it exits a moment later: delete waits for the directory to empty and succeeds;
 *   - it stays: delete fails after its bounded wait, naming the directory and the process.
 * The process is the test's own, ended by its pid; berth leaves nothing of its own behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";
import { until } from "../helpers/until";
import { testIds } from "../helpers/ids";

const pidsMount = "/sys/fs/cgroup/pids";
const maybe = existsSync(join(pidsMount, "cgroup.procs")) ? test : test.skip;

let b: TestBundle | undefined;
const ids = testIds("busy");
let ours: ChildProcess[] = [];

const uniq = ids.uniq;
const cli = (args: string[]) => berth(["--root", b!.root, ...args]);
const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

/** A host process of the test's own, running `script`, moved into the container's v1 pids cgroup. */
function busyFor(id: string, script: string): { proc: ChildProcess; dir: string } {
  const proc = spawn("/bin/sh", ["-c", script], { stdio: "ignore" });
  ours.push(proc);
  const dir = join(pidsMount, "berth", id);
  writeFileSync(join(dir, "cgroup.procs"), `${proc.pid}\n`);
  return { proc, dir };
}

afterEach(async () => {
  for (const p of ours) {
    if (alive(p)) p.kill("SIGKILL"); // by its pid: the test's own process
    await until("the test's process to exit", () => !alive(p), 5_000, 5);
  }
  ours = [];
  ids.deleteAll((id) => cli(["delete", "--force", id]));
  b?.cleanup();
  b = undefined;
});

maybe(
  "a cgroup still busy at delete's first rmdir (a process that exits ~100 ms later): delete waits for it to empty and succeeds",
  async () => {
    b = makeBundle(["sleep", "100000"]);
    const id = uniq("brief");
    expect(cli(["create", "-b", b.dir, id]).exitCode).toBe(0);
    // The first rmdir pass goes through every directory, the busy one failing: once another of
    // the container's directories is gone, that pass has happened; the process exits 100 ms later.
    const other = cgroupDirsFor(`/berth/${id}`).find((d) => !d.startsWith(`${pidsMount}/`))!;
    const { proc, dir } = busyFor(id, `while [ -d '${other}' ]; do sleep 0.01; done; sleep 0.1`);
    const r = cli(["delete", "--force", id]);
    expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(b.root, id))).toBe(false);
    await until("the test's process to be reaped", () => !alive(proc), 5_000, 5);
  },
);

maybe(
  "a cgroup that stays busy: delete fails after a bounded wait, naming the directory and what is in it; once that is gone, delete succeeds",
  async () => {
    b = makeBundle(["sleep", "100000"]);
    const id = uniq("stays");
    expect(cli(["create", "-b", b.dir, id]).exitCode).toBe(0);
    const { proc, dir } = busyFor(id, "exec sleep 1000");
    const t0 = Date.now();
    const r = cli(["delete", "--force", id]);
    const took = Date.now() - t0;
    expect(r).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: delete ${id}: remove cgroup ${dir}: resource busy or locked (still in it: ${proc.pid} sleep)\n`,
    });
    // Bounded: the 2 s deadline plus the CLI's own time, nowhere near delete's other waits.
    expect(took).toBeLessThan(6_000);
    expect(alive(proc)).toBe(true);
    expect(cli(["state", id]).exitCode).toBe(0);

    proc.kill("SIGKILL");
    await until("the test's process to exit", () => !alive(proc), 5_000, 5);
    expect(cli(["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(existsSync(dir)).toBe(false);
  },
  20_000,
);
