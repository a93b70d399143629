/**
 * Fault injection over the real runtime, as root: for a rich config, make create fail at each
 * op of its plan in turn, and at each TypeScript step after the launch, and check that the
 * error names the op's config field and that the host is left with nothing: no process, no
 * mount mentioning the bundle or rootfs, no cgroup directory in any hierarchy, no state
 * directory, no pid file.
 *
 * The seam is the Runtime's collaborators, not a test hook in production code: the test
 * wraps the real native surface so that `launch` receives the real plan with `closeFd 9999`
 * (an fd berth-init does not have: EBADF, sure to fail) spliced into the encoded bytes at
 * index N, before the real op N (test/helpers/plan-bytes.ts says why it inserts rather than
 * replaces). berth-init reports op N failed, and create maps N to the origin of its own, real
 * op N. The expected origins come from `explainSpec`, which
 * builds the plan as create does; the test first checks that its op names equal those of the
 * plan create really launched.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create, defaultRuntime, destroy, explainSpec, liveStatus, start, type LifecycleNative, type Runtime } from "../../src/container";
import { BerthError } from "../../src/errors";
import { nativeSurface } from "../../src/native";
import type { Spec } from "../../src/spec";
import { StateStore, type ContainerRecord } from "../../src/state";
import { cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";
import { insertPlanOp, planOpNames } from "../helpers/plan-bytes";

const real = nativeSurface as unknown as LifecycleNative;
const BAD_FD = 9999;

let b: TestBundle | undefined;
afterEach(() => {
  b?.cleanup();
  b = undefined;
});

type Config = TestBundle["config"];

/** Several mounts (a read-only bind, a tmpfs), a device, sysctl, hostname, rlimits. */
function rich(userns: boolean) {
  return (c: Config, dir: string) => {
    const data = join(dir, "data");
    mkdirSync(data);
    // mkdtemp made the bundle 0700: the user namespace's root (host uid 100000) must reach data/.
    chmodSync(dir, 0o755);
    writeFileSync(join(data, "hello"), "hi\n");
    c.mounts.push({ destination: "/data", type: "bind", source: data, options: ["rbind", "ro", "nosuid"] });
    c.mounts.push({ destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m"] });
    c.hostname = "rich";
    c.domainname = "example.org";
    c.linux.sysctl = { "net.ipv4.ip_forward": "1" };
    c.process.rlimits = [
      { type: "RLIMIT_NOFILE", soft: 512, hard: 1024 },
      { type: "RLIMIT_NPROC", soft: 512, hard: 512 },
    ];
    c.process.cwd = "/data";
    if (userns) {
      // In a user namespace a device is a bind of the host's node, so it must exist there.
      c.linux.devices = [{ path: "/dev/net/tun", type: "c", major: 10, minor: 200, fileMode: 0o600, uid: 0, gid: 0 }];
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      // sysfs and cgroup mounts need the host's user namespace (as in lifecycle.test.ts).
      c.mounts = c.mounts.filter((m: { type: string }) => m.type !== "sysfs" && m.type !== "cgroup");
    } else {
      c.linux.devices = [
        { path: "/dev/berth-null", type: "c", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
        { path: "/dev/extra/fifo", type: "p", fileMode: 0o600 },
      ];
    }
  };
}

function richBundle(userns: boolean): TestBundle {
  const bundle = makeBundle(["sleep", "300"]);
  rich(userns)(bundle.config, bundle.dir);
  bundle.write();
  return bundle;
}

let counter = 0;
const newId = (tag: string) => `rb-${tag}-${process.pid}-${counter++}`;

/** /proc/<pid>/stat starttime, or undefined when no such process. */
function startTime(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

interface Launch {
  pid: number;
  startTime?: string;
  pidfd: number;
}

/** A Runtime over the real one, whose native `launch` can rewrite the plan and record what it started. */
function injecting(
  root: string,
  opts: { failAtOp?: number; afterLaunch?: (l: Launch) => void; native?: Partial<LifecycleNative>; store?: StateStore } = {},
) {
  const base = defaultRuntime(root);
  const launches: Launch[] = [];
  const plans: string[][] = [];
  const native: LifecycleNative = {
    ...real,
    launch: (o) => {
      plans.push(planOpNames(o.plan));
      const plan = opts.failAtOp === undefined ? o.plan : insertPlanOp(o.plan, opts.failAtOp, { op: "closeFd", args: [BAD_FD] });
      const launched = real.launch({ ...o, plan });
      const l = { pid: launched.pid, pidfd: launched.pidfd, startTime: startTime(launched.pid) };
      launches.push(l);
      opts.afterLaunch?.(l);
      return launched;
    },
    ...opts.native,
  };
  const rt: Runtime = { ...base, native, store: opts.store ?? base.store };
  return { rt, launches, plans };
}

/** The container's stdio: /dev/null in, a file out (read back for berth-init's late errors). */
function stdioFiles(dir: string): { fds: [number, number, number]; out: string; close(): void } {
  const out = join(dir, `out-${counter++}`);
  const i = openSync("/dev/null", "r");
  const o = openSync(out, "w+");
  return { fds: [i, o, o], out, close: () => (closeSync(i), closeSync(o)) };
}

/** What a container could leave on the host; all empty/false when nothing is. */
function leftOnHost(root: string, id: string, bundle: TestBundle, launches: Launch[], pidFile: string) {
  const rootfs = bundle.config.root.path as string;
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(bundle.dir) || l.includes(rootfs));
  return {
    // The launched berth-init is gone and reaped (a zombie would still have a /proc entry
    // with the same start time).
    processes: launches.filter((l) => l.startTime !== undefined && startTime(l.pid) === l.startTime).map((l) => l.pid),
    mounts,
    cgroups: cgroupDirsFor(`/berth/${id}`),
    stateDir: existsSync(join(root, id)),
    pidFile: existsSync(pidFile),
  };
}
const nothingLeft = { processes: [], mounts: [], cgroups: [], stateDir: false, pidFile: false };

async function expectCreateFails(rt: Runtime, id: string, bundle: TestBundle, pidFile: string): Promise<BerthError> {
  const io = stdioFiles(bundle.dir);
  try {
    await create(rt, { id, bundle: bundle.dir, pidFile, stdio: io.fds });
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return err as BerthError;
  } finally {
    io.close();
  }
  throw new Error(`create ${id} succeeded, and should have failed`);
}

describe.each([
  ["no user namespace", false],
  ["a user namespace", true],
])("a rich config with %s: fail at each op of the plan", (_name, userns) => {
  test("every op index in turn", async () => {
    b = richBundle(userns);
    const bundle = b;
    const spec = JSON.parse(readFileSync(join(bundle.dir, "config.json"), "utf8")) as Spec;
    const explained = explainSpec(spec, bundle.dir).ops;

    // The baseline: the plan create launches is the one explain shows, and it works.
    const baseId = newId("base");
    const base = injecting(bundle.root);
    const io = stdioFiles(bundle.dir);
    const made = await create(base.rt, { id: baseId, bundle: bundle.dir, stdio: io.fds });
    io.close();
    try {
      expect(base.plans[0]).toEqual(explained.map((o) => o.op));
      expect(liveStatus(base.rt.store, made.record)).toBe("created");
    } finally {
      // Even when the checks fail, the baseline container must not outlive the test.
      await destroy(base.rt, baseId, true);
      await real.waitExit(made.pidfd);
      real.closeFd(made.pidfd);
    }
    expect(leftOnHost(bundle.root, baseId, bundle, base.launches, "/nonexistent")).toEqual(nothingLeft);

    const ready = explained.findIndex((o) => o.op === "ready");
    expect(ready).toBeGreaterThan(10);
    const seen = new Set<string>();
    for (let n = 0; n < ready; n++) {
      const id = newId(`op${n}`);
      const pidFile = join(bundle.dir, `${id}.pid`);
      const inj = injecting(bundle.root, { failAtOp: n });
      const err = await expectCreateFails(inj.rt, id, bundle, pidFile);
      const want = explained[n]!;
      // Located at the real op's config field, with berth-init's errno.
      expect({ n, op: want.op, field: err.field, message: err.message }).toEqual({
        n,
        op: want.op,
        field: want.origin,
        message: `berth: create ${id}: ${want.origin}: close fd ${BAD_FD}: bad file descriptor`,
      });
      expect({ n, ...leftOnHost(bundle.root, id, bundle, inj.launches, pidFile) }).toEqual({ n, ...nothingLeft });
      seen.add(want.origin);
    }
    // The config's parts were all among the failures.
    const mountAt = (dest: string) => `mounts[${spec.mounts!.findIndex((m) => m.destination === dest)}]`;
    for (const origin of [
      "root.path",
      mountAt("/data"),
      mountAt("/scratch"),
      "hostname",
      "domainname",
      'linux.sysctl["net.ipv4.ip_forward"]',
      "process.rlimits[1]",
      "linux.devices[0]",
      "process.cwd",
      "process.args[0]",
    ]) {
      expect(seen).toContain(origin);
    }
  });

  test("ops after ready (waitStart, exec) fail after create returned: the container is stopped, delete leaves nothing", async () => {
    b = richBundle(userns);
    const bundle = b;
    const spec = JSON.parse(readFileSync(join(bundle.dir, "config.json"), "utf8")) as Spec;
    const explained = explainSpec(spec, bundle.dir).ops;
    const ready = explained.findIndex((o) => o.op === "ready");
    expect(explained.slice(ready).map((o) => o.op)).toEqual(["ready", "waitStart", "exec"]);
    for (let n = ready + 1; n < explained.length; n++) {
      const id = newId(`late${n}`);
      const pidFile = join(bundle.dir, `${id}.pid`);
      const inj = injecting(bundle.root, { failAtOp: n });
      const io = stdioFiles(bundle.dir);
      const made = await create(inj.rt, { id, bundle: bundle.dir, pidFile, stdio: io.fds });
      io.close();
      expect(inj.plans[0]).toEqual(explained.map((o) => o.op));
      // An op after waitStart runs once the container is started.
      if (n > ready + 1) start(inj.rt, id);
      // berth-init fails op n at once; nobody reads the sync socket any more, so it says so on
      // the container's stderr.
      // Bounded: a berth-init that did not fail would wait for start for ever.
      expect({ n, exited: nativeSurface.pidfdWait(made.pidfd, 10_000) }).toEqual({ n, exited: true });
      const exit = await real.waitExit(made.pidfd);
      real.closeFd(made.pidfd);
      expect(exit.exitCode).not.toBe(0);
      expect(readFileSync(io.out, "utf8")).toBe(`berth-init: close fd ${BAD_FD}: Bad file descriptor\n`);
      expect(liveStatus(inj.rt.store, made.record)).toBe("stopped");
      await destroy(inj.rt, id);
      // The pid file belongs to the caller (runc leaves it too).
      expect(leftOnHost(bundle.root, id, bundle, inj.launches, "/nonexistent")).toEqual(nothingLeft);
    }
  });
});

describe("failures in the TypeScript steps after launch are rolled back", () => {
  async function failing(userns: boolean, opts: Parameters<typeof injecting>[1], expected: RegExp, field?: string) {
    b = richBundle(userns);
    const id = newId("ts");
    const pidFile = join(b.dir, `${id}.pid`);
    const inj = injecting(b.root, opts);
    const err = await expectCreateFails(inj.rt, id, b, pidFile);
    expect(err.message).toMatch(expected);
    expect(err.message).not.toMatch(/cleanup failed/);
    if (field) expect(err.field).toBe(field);
    expect(inj.launches).toHaveLength(1);
    expect(leftOnHost(b.root, id, b, inj.launches, pidFile)).toEqual(nothingLeft);
    return err;
  }

  test("the uid_map write (the kernel refuses a second one): at linux.uidMappings", async () => {
    // Someone wrote the map first: a uid_map can be written once, so create's write gets EPERM.
    await failing(
      true,
      { afterLaunch: (l) => writeFileSync(`/proc/${l.pid}/uid_map`, "0 200000 1\n") },
      /^berth: create rb-ts-\d+-\d+: linux.uidMappings: write \/proc\/\d+\/uid_map: operation not permitted$/,
      "linux.uidMappings",
    );
  });

  test("the gid_map write: at linux.gidMappings", async () => {
    await failing(
      true,
      { afterLaunch: (l) => writeFileSync(`/proc/${l.pid}/gid_map`, "0 200000 1\n") },
      /^berth: create rb-ts-\d+-\d+: linux.gidMappings: write \/proc\/\d+\/gid_map: operation not permitted$/,
      "linux.gidMappings",
    );
  });

  test("the ack to berth-init after the maps", async () => {
    await failing(
      true,
      {
        native: {
          syncSend: () => {
            throw Object.assign(new Error("send"), { code: "EPIPE", syscall: "send" });
          },
        },
      },
      /^berth: create rb-ts-\d+-\d+: send: broken pipe$/,
    );
  });

  test("berth-init dying before it is ready (killed)", async () => {
    await failing(
      false,
      { afterLaunch: (l) => real.pidfdSendSignal(l.pidfd, 9) },
      /^berth: create rb-ts-\d+-\d+: berth-init exited before it was ready \(killed by SIGKILL\)$/,
    );
  });

  test("joining the v1 cgroups (the parent does, for berth-init in a new user namespace)", async () => {
    const base = defaultRuntime("/unused");
    const joinCgroups = () => {
      throw Object.assign(new Error("write"), { code: "ENOSPC", syscall: "write", path: "/sys/fs/cgroup/cpuset/berth/x/cgroup.procs" });
    };
    b = richBundle(true);
    const id = newId("join");
    const pidFile = join(b.dir, `${id}.pid`);
    const inj = injecting(b.root);
    const rt: Runtime = { ...inj.rt, cgroups: { ...base.cgroups, joinCgroups } };
    const err = await expectCreateFails(rt, id, b, pidFile);
    expect(err.message).toBe(`berth: create ${id}: /sys/fs/cgroup/cpuset/berth/x/cgroup.procs: write: no space left on device`);
    expect(leftOnHost(b.root, id, b, inj.launches, pidFile)).toEqual(nothingLeft);
  });

  test("the state file write", async () => {
    class FullStore extends StateStore {
      override write(_record: ContainerRecord): void {
        throw Object.assign(new Error("write"), { code: "ENOSPC", syscall: "write", path: "state.json" });
      }
    }
    b = richBundle(false);
    const id = newId("state");
    const pidFile = join(b.dir, `${id}.pid`);
    const inj = injecting(b.root, { store: new FullStore(b.root, (fd, op, nb) => real.flock(fd, op, nb)) });
    const err = await expectCreateFails(inj.rt, id, b, pidFile);
    expect(err.message).toBe(`berth: create ${id}: state.json: write: no space left on device`);
    expect(leftOnHost(b.root, id, b, inj.launches, pidFile)).toEqual(nothingLeft);
  });

  test("the pid file write (its directory does not exist): at --pid-file", async () => {
    b = richBundle(false);
    const id = newId("pidfile");
    const pidFile = join(b.dir, "no-such-dir", "pid");
    const inj = injecting(b.root);
    const err = await expectCreateFails(inj.rt, id, b, pidFile);
    expect(err.message).toBe(`berth: create ${id}: --pid-file "${pidFile}": write: no such file or directory`);
    expect(leftOnHost(b.root, id, b, inj.launches, pidFile)).toEqual(nothingLeft);
  });
});
