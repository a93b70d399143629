/**
 * Cgroup limits on this host (hybrid: limits through the v1 controllers, the freezer and
 * cgroup.kill through cgroup2), observed from inside the container and from the host. Pure
 * cgroup v2 is proven in the User-Mode Linux guest (test/vm). After every test the
 * container's cgroup directories are gone.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { berth, berthBin } from "../helpers/cli";
import { until } from "../helpers/until";
import { cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";
import { detectCgroups } from "../../src/cgroups";
import { testIds } from "../helpers/ids";

const layout = detectCgroups();
const hybrid = layout.mode === "hybrid" || layout.mode === "legacy";
const maybe = hybrid ? describe : describe.skip;

let b: TestBundle;
const ids = testIds("cg");
const uniq = ids.uniq;
const run = (args: string[], input?: string) => berth(["--root", b.root, ...args], { input });
afterEach(() => {
  ids.deleteAll((id) => {
    run(["delete", "--force", id]);
    expect({ id, left: cgroupDirsFor(`/berth/${id}`) }).toEqual({ id, left: [] });
  });
  b?.cleanup();
});

const v1 = (controller: string, id: string, file: string) =>
  readFileSync(join(layout.v1Mounts[controller]!, "berth", id, file), "utf8").trim();
const statusOf = (id: string) => JSON.parse(run(["state", id]).stdout).status as string;

maybe("cgroup limits on a hybrid host", () => {
  test("memory.limit: an allocation past it is OOM-killed", () => {
    // 16 MiB, no swap: dd holding a 64 MiB block in memory cannot finish.
    b = makeBundle(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1 && echo survived"], (c) => {
      c.linux.resources = { memory: { limit: 16 << 20, swap: 16 << 20 } };
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
    });
    const r = run(["run", "-b", b.dir, uniq("oom")]);
    expect(r.stdout).not.toContain("survived");
    expect(r.exitCode).toBe(137);
  });

  test("pids.limit stops a fork loop inside the container", () => {
    // The inner shell forks until the kernel refuses (busybox sh then exits 2); the outer one
    // reports with builtins only, since no further fork can succeed while the sleeps live.
    b = makeBundle(
      [
        "sh",
        "-c",
        "sh -c 'while :; do sleep 300 & done' 2>/dev/null; echo inner=$?; read n < /sys/fs/cgroup/pids/pids.current; echo current=$n",
      ],
      (c) => {
        c.linux.resources = { pids: { limit: 10 } };
      },
    );
    const id = uniq("pids");
    // 10 at the limit: the two shells and 8 sleeps; the inner shell has exited since.
    expect(run(["run", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "inner=2\ncurrent=9\n", stderr: "" });
  });

  test("cpu quota throttles a busy loop; shares and the files show the config", () => {
    b = makeBundle(["sh", "-c", "while :; do :; done"], (c) => {
      c.linux.resources = { cpu: { quota: 10000, period: 100000, shares: 256 } };
    });
    const id = uniq("cpu");
    expect(run(["run", "-d", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(v1("cpu", id, "cpu.cfs_quota_us")).toBe("10000");
    expect(v1("cpu", id, "cpu.shares")).toBe("256");
    const throttled = () => Number(/nr_throttled (\d+)/.exec(v1("cpu", id, "cpu.stat"))![1]);
    const deadline = Date.now() + 10_000;
    while (throttled() < 3 && Date.now() < deadline);
    expect(throttled()).toBeGreaterThanOrEqual(3);
  });

  test("device rules: a denied device cannot be opened even after mknod; an allow rule for it admits it; the defaults can", () => {
    // /dev/kmsg (c 1:11) opened write-only needs no capability, so what decides is the device
    // rule alone (a node such as /dev/mem would be refused for want of CAP_SYS_RAWIO anyway).
    const open = (rules: object[], what: string) => {
      b = makeBundle(
        [
          "sh",
          "-c",
          "mknod /tmp/kmsg c 1 11 && ( (: > /tmp/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied); echo x > /dev/null && echo null-ok",
        ],
        (c) => {
          c.linux.resources = { devices: [{ allow: false, access: "rwm" }, ...rules] };
          c.process.capabilities.bounding.push("CAP_MKNOD");
          c.process.capabilities.effective.push("CAP_MKNOD");
          c.process.capabilities.permitted.push("CAP_MKNOD");
          c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid"] });
        },
      );
      const r = run(["run", "-b", b.dir, uniq(what)]);
      b.cleanup();
      return r;
    };
    expect(open([], "dev-deny")).toEqual({ exitCode: 0, stdout: "kmsg-denied\nnull-ok\n", stderr: "" });
    expect(open([{ allow: true, type: "c", major: 1, minor: 11, access: "rwm" }], "dev-allow")).toEqual({
      exitCode: 0,
      stdout: "kmsg-open\nnull-ok\n",
      stderr: "",
    });
  });

  test("pause freezes a counting loop without a signal, resume lets it go on; state says paused", async () => {
    b = makeBundle(["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; done > /out/n"], (c) => {
      c.mounts.push({ destination: "/out", type: "bind", source: b.dir, options: ["rbind"] });
    });
    b.config.mounts[b.config.mounts.length - 1].source = b.dir;
    b.write();
    const id = uniq("freeze");
    run(["run", "-d", "-b", b.dir, id]);
    // The loop's output grows the file: its size is the counter (a frozen loop cannot grow it).
    const count = () => (existsSync(join(b.dir, "n")) ? statSync(join(b.dir, "n")).size : 0);
    for (let i = 0; i < 100000 && count() <= 100; i++);
    expect(run(["pause", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(statusOf(id)).toBe("paused");
    const frozenAt = count();
    await new Promise((r) => setTimeout(r, 300)); // a frozen loop cannot count, however long we look
    expect(count()).toBe(frozenAt);
    expect(run(["pause", id])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: pause ${id}: container not running\n` });
    expect(run(["resume", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(statusOf(id)).toBe("running");
    const deadline = Date.now() + 5000;
    while (count() <= frozenAt + 10 && Date.now() < deadline);
    expect(count()).toBeGreaterThan(frozenAt + 10);
    expect(run(["resume", id])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: resume ${id}: container not paused\n` });
  });

  test("delete --force of a paused container leaves nothing", () => {
    b = makeBundle(["sleep", "300"]);
    const id = uniq("pausedel");
    run(["run", "-d", "-b", b.dir, id]);
    expect(run(["pause", id]).exitCode).toBe(0);
    expect(run(["delete", id])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: delete ${id}: cannot delete container ${id} that is not stopped: paused\n`,
    });
    expect(run(["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(existsSync(join(b.root, id))).toBe(false);
  });

  test("a cgroup2 directory that was there before, and once had cgroup.kill written, takes a new container and its execs", async () => {
    // Linux 6.18 SIGKILLs at birth a process cloned (CLONE_INTO_CGROUP) into a cgroup that was
    // ever killed; such a directory is berth's only when another container shared its
    // cgroupsPath. berth moves the init in through cgroup.procs instead, and leaves the
    // directory at delete: it did not make it.
    const id = uniq("killed");
    const dir = join(layout.v2Mount!, "berth", id);
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, "cgroup.kill"), "1");
      b = makeBundle(["sleep", "300"]);
      expect(run(["create", "-b", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
      const pid = JSON.parse(run(["state", id]).stdout).pid as number;
      expect(readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n")).toContain(`0::/berth/${id}`);
      expect(run(["start", id]).exitCode).toBe(0);
      expect(statusOf(id)).toBe("running");
      // An exec is moved in the same way: by itself, and by the parent into a paused container.
      const execInto = (...flags: string[]): number => {
        const pidFile = join(b.dir, `exec-${flags.length}.pid`);
        expect(run(["exec", "-d", ...flags, "--pid-file", pidFile, id, "sleep", "300"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
        const execPid = Number(readFileSync(pidFile, "utf8"));
        expect(readFileSync(`/proc/${execPid}/cgroup`, "utf8").split("\n")).toContain(`0::/berth/${id}`);
        return execPid;
      };
      const running = execInto();
      expect(run(["exec", id, "true"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
      // Into the paused container, exec returns once the process has exec'd: after the resume.
      expect(run(["pause", id]).exitCode).toBe(0);
      const pidFile = join(b.dir, "paused.pid");
      const child = spawn(berthBin, ["--root", b.root, "exec", "-d", "--ignore-paused", "--pid-file", pidFile, id, "sleep", "300"], {
        stdio: "ignore",
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      await until(
        "the exec'd process in the frozen cgroup",
        () => readFileSync(join(dir, "cgroup.procs"), "utf8").trim().split("\n").length >= 3,
      );
      expect(run(["resume", id]).exitCode).toBe(0);
      expect(await exited).toBe(0);
      const paused = Number(readFileSync(pidFile, "utf8"));
      expect(readFileSync(`/proc/${paused}/cgroup`, "utf8").split("\n")).toContain(`0::/berth/${id}`);
      expect(run(["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
      for (const p of [running, paused]) expect(existsSync(`/proc/${p}`)).toBe(false);
      expect(existsSync(dir)).toBe(true);
      expect(readFileSync(join(dir, "cgroup.procs"), "utf8")).toBe("");
    } finally {
      // (After a failed assertion the container may still be there; its processes take a moment
      // to leave the cgroup once killed.)
      run(["delete", "--force", id]);
      await until(`${dir} removed`, () => {
        try {
          rmdirSync(dir);
          return true;
        } catch {
          return false;
        }
      });
    }
  });

  test("update changes a running container's limits, with runc's flags and with --resources -", () => {
    b = makeBundle(["sleep", "300"], (c) => {
      c.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 100 } };
    });
    const id = uniq("update");
    run(["run", "-d", "-b", b.dir, id]);
    expect(v1("memory", id, "memory.limit_in_bytes")).toBe(String(64 << 20));
    expect(run(["update", "--memory", "32m", "--pids-limit", "50", "--cpu-share", "300", id])).toEqual({
      exitCode: 0,
      stdout: "",
      stderr: "",
    });
    expect(v1("memory", id, "memory.limit_in_bytes")).toBe(String(32 << 20));
    expect(v1("pids", id, "pids.max")).toBe("50");
    expect(v1("cpu", id, "cpu.shares")).toBe("300");
    expect(run(["update", "--resources", "-", id], JSON.stringify({ memory: { limit: 48 << 20, swap: 96 << 20 } }))).toEqual({
      exitCode: 0,
      stdout: "",
      stderr: "",
    });
    expect(v1("memory", id, "memory.limit_in_bytes")).toBe(String(48 << 20));
    expect(v1("memory", id, "memory.memsw.limit_in_bytes")).toBe(String(96 << 20));
    expect(run(["update", "--memory", "lots", id])).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: update ${id}: --memory "lots": must be a size such as 512m or 1g (or -1 for no limit)\n`,
    });
    expect(run(["update", "--resources", "-", id], JSON.stringify({ pids: { limit: "many" } })).stderr).toBe(
      `berth: update ${id}: linux.resources.pids.limit "many": must be an integer\n`,
    );
    expect(run(["update", "--resources", "-", id], JSON.stringify({ unified: { "memory.high": "1M" } })).stderr).toBe(
      `berth: update ${id}: linux.resources.unified["memory.high"] "1M": invalid configuration for this host: the memory controller is not enabled in this host's cgroup2 hierarchy (its limits are set through cgroup v1 here)\n`,
    );
    // A refused update wrote nothing.
    expect(v1("pids", id, "pids.max")).toBe("50");
  });

  test("memory.checkBeforeUpdate refuses a limit below the current usage", () => {
    b = makeBundle(["sleep", "300"], (c) => {
      c.linux.resources = { memory: { limit: 64 << 20, checkBeforeUpdate: true } };
    });
    const id = uniq("check");
    run(["run", "-d", "-b", b.dir, id]);
    const r = run(["update", "--memory", "4096", id]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^berth: update ${id}: linux.resources.memory.limit 4096: is below the container's current memory usage \\(\\d+ bytes\\), and memory.checkBeforeUpdate is set\\n$`,
      ),
    );
    expect(v1("memory", id, "memory.limit_in_bytes")).toBe(String(64 << 20));
  });

  test("a limit the host cannot take is refused at create, naming the field, and nothing is left", () => {
    b = makeBundle(["true"], (c) => {
      c.linux.resources = { blockIO: { weight: 500 }, unified: { "memory.high": "1M" } };
    });
    const id = uniq("refused");
    const r = run(["create", "-b", b.dir, id]);
    expect(r).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `berth: create ${id}: linux.resources.unified["memory.high"] "1M": invalid configuration for this host: a cgroup v2 file, and this host's cgroup limits are v1 (it is ${layout.mode})\n`,
    });
    expect(existsSync(join(b.root, id))).toBe(false);
  });
});

describe("two containers sharing one cgroupsPath (as runc: allowed, with a warning)", () => {
  test("create warns that the cgroup is not empty; kill --all and delete --force of one leave the other running; the cgroup goes with the last of them", () => {
    const shared = `/berthtest-shared-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    b = makeBundle(["sleep", "100000"], (c) => {
      c.linux.cgroupsPath = shared;
    });
    const [one, two, three] = [uniq("sh1"), uniq("sh2"), uniq("sh3")];
    expect(run(["run", "-d", "-b", b.dir, one])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    const leaf = layout.v2Mount ? join(layout.v2Mount, shared) : join(layout.v1Mounts.pids!, shared);
    const r = run(["run", "-d", "-b", b.dir, two]);
    expect(r).toEqual({
      exitCode: 0,
      stdout: "",
      stderr: `berth: create ${two}: the container's cgroup ${leaf} is not empty: 1 process(es) of another container or program are in it\n`,
    });
    expect(run(["run", "-d", "-b", b.dir, three]).exitCode).toBe(0);
    const pidOf = (id: string) => JSON.parse(run(["state", id]).stdout).pid as number;
    const [p2, p3] = [pidOf(two), pidOf(three)];

    // kill --all of one: its processes only.
    expect(run(["kill", "--all", one, "KILL"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(run(["delete", one])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect([statusOf(two), statusOf(three)]).toEqual(["running", "running"]);
    // delete --force of another: the same.
    expect(run(["delete", "--force", two])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(statusOf(three)).toBe("running");
    expect(readFileSync(join(leaf, "cgroup.procs"), "utf8").trim().split("\n").map(Number)).toEqual([p3]);
    expect(existsSync(`/proc/${p2}`) && !/\) [ZX] /.test(readFileSync(`/proc/${p2}/stat`, "utf8"))).toBe(false);
    expect(cgroupDirsFor(shared).length).toBeGreaterThan(0);
    // The last one takes the directories with it.
    expect(run(["delete", "--force", three])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    expect(cgroupDirsFor(shared)).toEqual([]);
  });
});
