/**
 * berth on a pure cgroup v2 host: real containers from bin/berth on the busybox bundle, their
 * limits observed from inside and from the host's side of the cgroup. Runs inside the UML guest
 * of scripts/vm/run-in-vm.sh (test/vm/run-guest.test.ts starts it); skipped anywhere else.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectCgroups } from "../../src/cgroups";
import { makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";
import { berth } from "../helpers/cli";
import { testIds } from "../helpers/ids";
import { until } from "../helpers/until";

const layout = detectCgroups();
const why =
  process.getuid?.() !== 0
    ? "needs root"
    : layout.mode !== "unified"
      ? `needs a pure cgroup v2 host (this one is ${layout.mode}); run it through test/vm/run-guest.test.ts`
      : "";
const vm = why ? test.skip : test;
if (why) test("cgroup v2 tests skipped", () => console.log(`skipped: ${why}`));

let b: TestBundle;
const ids = testIds("v2");
const uniq = ids.uniq;
const run = (args: string[], input?: string) => berth(["--root", b.root, ...args], { input });
const cg = (id: string, file: string) => readFileSync(join(layout.v2Mount ?? "/sys/fs/cgroup", "berth", id, file), "utf8");
const cgDir = (id: string) => join(layout.v2Mount ?? "/sys/fs/cgroup", "berth", id);
const field = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(text)?.[1]);

afterEach(() => {
  try {
    ids.deleteAll((id) => {
      run(["delete", "--force", id]);
      // After each test the container's cgroup is gone, whatever the test did.
      expect(existsSync(cgDir(id))).toBe(false);
    });
  } finally {
    b?.cleanup();
  }
});

/**
 * The default bundle's root is read-only: give the container a writable /tmp (a tmpfs without
 * nodev, so that a device node made there is judged by the device filter alone).
 */
function withTmp(c: TestBundle["config"]): void {
  c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=1777"] });
}

/** Start a detached container running `script`; returns its id. */
function started(
  name: string,
  script: string,
  resources: Record<string, unknown>,
  mutate: (c: TestBundle["config"]) => void = () => undefined,
): string {
  b = makeBundle(["sh", "-c", script], (c) => {
    c.linux.resources = { ...(c.linux.resources ?? {}), ...resources };
    withTmp(c);
    mutate(c);
  });
  const id = uniq(name);
  expect(run(["run", "-d", "--bundle", b.dir, id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  return id;
}

vm("memory.max is written and enforced: an allocation past it is OOM-killed", async () => {
  const id = started("mem", "sleep 300", { memory: { limit: 32 * 1024 * 1024 } });
  expect(cg(id, "memory.max").trim()).toBe(String(32 * 1024 * 1024));
  // dd's 64 MiB block is one buffer it fills from /dev/zero: twice the limit, in one process.
  const r = run([
    "exec",
    id,
    "sh",
    "-c",
    "cat /sys/fs/cgroup/memory.max; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo dd exit $?",
  ]);
  expect(r.stdout).toBe(`${32 * 1024 * 1024}\ndd exit 137\n`);
  expect(field(cg(id, "memory.events"), "oom_kill")).toBeGreaterThan(0);
  // Below the limit the same allocation works: it is the limit that killed it.
  expect(run(["exec", id, "sh", "-c", "dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null; echo dd exit $?"]).stdout).toBe(
    "dd exit 0\n",
  );
});

vm("pids.max stops a fork loop", () => {
  const id = started("pids", "sleep 300", { pids: { limit: 16 } });
  expect(cg(id, "pids.max").trim()).toBe("16");
  // The sleeps' output goes to /dev/null, so that none of them holds berth's stdout open.
  const r = run(["exec", id, "sh", "-c", "for i in $(seq 40); do sleep 60 >/dev/null 2>&1 & done; echo started all"]);
  expect(r.stdout + r.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
  expect(r.stdout).not.toContain("started all");
  expect(Number(cg(id, "pids.current"))).toBeLessThanOrEqual(16);
  expect(field(cg(id, "pids.events"), "max")).toBeGreaterThan(0);
});

vm("cpu.max throttles a busy loop; cpu.shares 1024 becomes cpu.weight 39", async () => {
  const id = started("cpu", "while :; do :; done", { cpu: { quota: 10000, period: 100000, shares: 1024 } });
  expect(cg(id, "cpu.max").trim()).toBe("10000 100000");
  expect(cg(id, "cpu.weight").trim()).toBe("39");
  await until("cpu.stat nr_throttled > 3", () => field(cg(id, "cpu.stat"), "nr_throttled") > 3, 30_000, 50);
});

vm("io.max on /dev/ubda slows a read from inside; unified keys written as given", () => {
  const disk = { path: "/dev/ubda", type: "b", major: 98, minor: 0, fileMode: 0o600, uid: 0, gid: 0 };
  // The node comes from linux.devices, the right to open it from a device rule (as with runc).
  const devices = [
    { allow: false, access: "rwm" },
    { allow: true, type: "b", major: 98, minor: 0, access: "r" },
  ];
  const id = started(
    "io",
    "sleep 300",
    { devices, blockIO: { throttleReadBpsDevice: [{ major: 98, minor: 0, rate: 1048576 }] }, unified: { "memory.high": "50000000" } },
    (c) => (c.linux.devices = [disk]),
  );
  expect(cg(id, "io.max")).toMatch(/^98:0 rbps=1048576 wbps=max riops=max wiops=max$/m);
  // Enforced: 3 MiB read past the page cache at 1 MiB/s takes (about) 3 s, where unthrottled
  // it takes a few milliseconds (the disk is a sparse file on the host).
  const t0 = Date.now();
  const r = run(["exec", id, "dd", "if=/dev/ubda", "of=/dev/null", "bs=1M", "count=3", "skip=64", "iflag=direct"]);
  const seconds = (Date.now() - t0) / 1000;
  expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "3+0 records in\n3+0 records out\n" });
  expect(seconds).toBeGreaterThan(1.8);
  expect(
    field(
      cg(id, "io.stat")
        .replace(/^98:0 /m, "")
        .replace(/ /g, "\n")
        .replace(/=/g, " "),
      "rbytes",
    ),
  ).toBeGreaterThanOrEqual(3 * 1048576);
  // Written as given; the kernel keeps whole pages.
  expect(cg(id, "memory.high").trim()).toBe(String(Math.floor(50_000_000 / 4096) * 4096));
});

vm("pause and resume freeze a counting loop through cgroup.freeze; state says paused", async () => {
  const id = started("pause", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; done", {});
  const count = () => Number(run(["exec", id, "cat", "/tmp/n"]).stdout);
  await until("the loop to count", () => count() > 0, 30_000, 50);
  expect(run(["pause", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(cg(id, "cgroup.freeze").trim()).toBe("1");
  expect(JSON.parse(run(["state", id]).stdout).status).toBe("paused");
  expect(run(["resume", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const before = count();
  await until("the loop to count on", () => count() > before, 30_000, 50);
  expect(JSON.parse(run(["state", id]).stdout).status).toBe("running");
});

vm("events --stats reports the v2 limits and usage of a running container", () => {
  const id = started("stats", "sleep 300", { memory: { limit: 48 * 1024 * 1024 }, pids: { limit: 20 } });
  // Use some CPU and memory inside, so that the counters have something to count.
  expect(run(["exec", id, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo $i"]).stdout).toBe("20000\n");
  const r = run(["events", "--stats", id]);
  expect(r).toMatchObject({ exitCode: 0, stderr: "" });
  const e = JSON.parse(r.stdout);
  expect(e).toMatchObject({ type: "stats", id, data: { memory: { usage: { limit: 48 * 1024 * 1024 } }, pids: { limit: 20 } } });
  expect(e.data.pids.current).toBeGreaterThanOrEqual(1);
  expect(e.data.memory.usage.usage).toBeGreaterThan(0);
  expect(e.data.cpu.usage.total).toBeGreaterThan(0);
  expect(e.data.cpu.usage.user + e.data.cpu.usage.kernel).toBeGreaterThan(0);
  // The numbers are the cgroup's own files, in runc's units (ns, bytes).
  expect(e.data.cpu.usage.total).toBeLessThanOrEqual(field(cg(id, "cpu.stat"), "usage_usec") * 1000);
  expect(e.data.pids.current).toBeLessThanOrEqual(Number(cg(id, "pids.current")) + 1);
});

vm("update --memory and --resources - change a running container's memory.max", () => {
  const id = started("upd", "sleep 300", { memory: { limit: 64 * 1024 * 1024 } });
  expect(run(["update", "--memory", "48M", id]).exitCode).toBe(0);
  expect(cg(id, "memory.max").trim()).toBe(String(48 * 1024 * 1024));
  expect(run(["update", "--resources", "-", id], JSON.stringify({ memory: { limit: 40 * 1024 * 1024 } })).exitCode).toBe(0);
  expect(cg(id, "memory.max").trim()).toBe(String(40 * 1024 * 1024));
});

vm(
  "update -1 is unlimited (issue 15, as runc): --memory -1 on a container with memory+swap makes both max; --cpu-quota, --pids-limit, --resources",
  () => {
    const id = started("upd-neg", "sleep 300", {
      memory: { limit: 64 * 1024 * 1024, swap: 128 * 1024 * 1024 },
      cpu: { quota: 10000, period: 100000 },
      pids: { limit: 100 },
    });
    const swap = existsSync(join(cgDir(id), "memory.swap.max"));
    const files = () => ({
      max: cg(id, "memory.max").trim(),
      swap: swap ? cg(id, "memory.swap.max").trim() : "max",
      cpu: cg(id, "cpu.max").trim(),
      pids: cg(id, "pids.max").trim(),
    });
    const ok = { exitCode: 0, stdout: "", stderr: "" };
    expect(run(["update", "--memory", "-1", id])).toEqual(ok);
    expect(files()).toEqual({ max: "max", swap: "max", cpu: "10000 100000", pids: "100" });
    expect(run(["update", "--memory", "64m", "--memory-swap", "128m", id])).toEqual(ok);
    expect(run(["update", "--resources", "-", id], JSON.stringify({ memory: { limit: -1 } }))).toEqual(ok);
    expect(run(["update", "--cpu-quota", "-1", "--pids-limit", "-1", id])).toEqual(ok);
    expect(files()).toEqual({ max: "max", swap: "max", cpu: "max 100000", pids: "max" });
  },
);

vm("kill --all and delete --force use cgroup.kill: no process survives", async () => {
  const id = started(
    "kill",
    "sleep 301 & sleep 302 & sleep 303",
    {},
    (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid")),
  );
  await until("three sleeps", () => processesMentioning("sleep 30").length >= 3, 30_000, 50);
  expect(run(["kill", "--all", id, "KILL"]).exitCode).toBe(0);
  await until("no sleep left", () => processesMentioning("sleep 30").length === 0, 30_000, 50);
  expect(run(["delete", "--force", id]).exitCode).toBe(0);
  expect(existsSync(cgDir(id))).toBe(false);
});

vm("devices: deny all but the defaults -> a mknod'ed block node is EPERM, /dev/null works; allowing 98:0 r reads /dev/ubda", () => {
  const script =
    "mknod /tmp/blk b 98 0; head -c 1 /tmp/blk >/dev/null 2>/tmp/err; sed 's/.*: //' /tmp/err; echo x > /dev/null && echo null ok";
  // mknod needs CAP_MKNOD, which the default spec does not give.
  const mknodder = (devices: unknown[]) => (c: TestBundle["config"]) => {
    c.linux.resources = { devices };
    for (const set of ["bounding", "effective", "permitted"]) c.process.capabilities[set].push("CAP_MKNOD");
    withTmp(c);
  };
  b = makeBundle(["sh", "-c", script], mknodder([{ allow: false, access: "rwm" }]));
  expect(run(["run", "--bundle", b.dir, uniq("dev")])).toMatchObject({ exitCode: 0, stdout: "Operation not permitted\nnull ok\n" });
  b.cleanup();
  b = makeBundle(
    ["sh", "-c", "mknod /tmp/blk b 98 0; head -c 512 /tmp/blk | wc -c; echo x 2>/tmp/err >/tmp/blk; sed 's/.*: //' /tmp/err"],
    mknodder([
      { allow: false, access: "rwm" },
      { allow: true, type: "b", major: 98, minor: 0, access: "r" },
    ]),
  );
  // Read is allowed, write is not.
  expect(run(["run", "--bundle", b.dir, uniq("dev2")])).toMatchObject({ exitCode: 0, stdout: "512\nOperation not permitted\n" });
});

vm(
  "create below a frozen cgroup is refused at once, naming linux.cgroupsPath (cgroup.events: frozen 1); nothing of berth's is left",
  () => {
    const name = `frz-${Math.floor(Math.random() * 1e6)}`;
    const parent = join(layout.v2Mount!, name);
    mkdirSync(parent);
    try {
      writeFileSync(join(parent, "cgroup.freeze"), "1");
      b = makeBundle(["true"], (c) => {
        c.linux.cgroupsPath = `/${name}/c`;
      });
      const id = uniq("frozen");
      expect(run(["create", "-b", b.dir, id])).toEqual({
        exitCode: 1,
        stdout: "",
        stderr: `berth: create ${id}: linux.cgroupsPath "/${name}/c": the cgroup is frozen (${parent}/c/cgroup.events says frozen 1): thaw it first\n`,
      });
      expect(existsSync(join(parent, "c"))).toBe(false);
      expect(existsSync(join(b.root, id))).toBe(false);
    } finally {
      writeFileSync(join(parent, "cgroup.freeze"), "0");
      rmdirSync(parent);
    }
  },
);

vm(
  "device cgroup allow-list bypass (GHSA-g54h-m393-cpwq class, issue 15): /dev/kmsg in linux.devices is made, but only a device rule lets it be opened (the eBPF filter)",
  () => {
    // Opened write-only, /dev/kmsg asks for no capability: only the device filter can refuse it.
    const probe =
      "[ -c /dev/kmsg ] && echo node-made; echo berth-issue-15-probe > /dev/kmsg && echo kmsg-written; echo x > /dev/null && echo null-ok";
    const denied = { exitCode: 0, stdout: "node-made\nnull-ok\n", stderr: "sh: can't create /dev/kmsg: Operation not permitted\n" };
    const kmsg = { type: "c", major: 1, minor: 11 };
    const withKmsg = (devices: unknown[] | undefined) => (c: TestBundle["config"]) => {
      c.linux.devices = [{ path: "/dev/kmsg", ...kmsg, fileMode: 0o666, uid: 0, gid: 0 }];
      c.linux.resources = devices === undefined ? {} : { devices };
    };
    const cases: [string, unknown[] | undefined, object][] = [
      ["deny", [{ allow: false, access: "rwm" }], denied],
      ["none", undefined, denied],
      [
        "allow",
        [
          { allow: false, access: "rwm" },
          { allow: true, ...kmsg, access: "rwm" },
        ],
        { exitCode: 0, stdout: "node-made\nkmsg-written\nnull-ok\n", stderr: "" },
      ],
    ];
    for (const [name, devices, expected] of cases) {
      b = makeBundle(["sh", "-c", probe], withKmsg(devices));
      expect({ name, ...run(["run", "--bundle", b.dir, uniq(`kmsg-${name}`)]) }).toEqual({ name, ...expected });
      b.cleanup();
    }
  },
);
