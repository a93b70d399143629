/**
 * create's rollback, without root: every collaborator (native surface, cgroup driver, state
 * store) is a recording fake, and the fake fails call N. After each failure the undo steps
 * must have run newest first, exactly for what was done, and the error thrown must be the
 * original one; an undo step that fails is appended ("(cleanup failed: ...)"), never
 * substituted.
 *
 * The fakes hand out real fds (of /dev/null) where create closes them with node:fs, so a fake
 * number can never close one of jest's own fds.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CgroupDriver, CgroupLayout, CgroupPlacement } from "../../src/cgroups";
import { create, type LifecycleNative, type Runtime } from "../../src/container";
import { BerthError } from "../../src/errors";
import { SYNC } from "../../src/plan";
import { defaultSpec } from "../../src/spec";
import { StateStore, type ContainerRecord } from "../../src/state";

/** One call into a collaborator: "native.launch", "cgroups.remove", "store.write" ... */
type Call = string;

class Recorder {
  calls: Call[] = [];
  failAt?: number;
  /** Calls (by name) that always fail, e.g. an undo step whose failure must be appended. */
  alwaysFail = new Map<string, () => Error>();
  /** What the failing call threw. */
  thrown?: Error;

  /** Record a call; throw if it is the one to fail. */
  call(name: string): void {
    const n = this.calls.push(name) - 1;
    const always = this.alwaysFail.get(name);
    if (always) throw always();
    if (n === this.failAt) {
      this.thrown = new Error(`injected failure at call ${n} (${name})`);
      throw this.thrown;
    }
  }
}

interface Fixture {
  rt: Runtime;
  rec: Recorder;
  root: string;
  bundle: string;
  /** Real fds the fakes opened and create did not close (must be none once it returned). */
  openFds: Set<number>;
  /** What syncRecv answers (after the queued answers, if any). */
  syncAnswer: { type: number; opIndex: number; errno: number; detail: string } | null;
  syncQueue: { type: number; opIndex: number; errno: number; detail: string }[];
  /** A real fd (of /dev/null) the fakes hand out and closeFd accepts. */
  realFd(): number;
  cleanup(): void;
}

// Like this host: v1 controllers (devices among them, so device rules are v1 writes) beside cgroup2.
const layout: CgroupLayout = { mode: "hybrid", v2Mount: "/fake/unified", v2Controllers: [], v1Mounts: { cpu: "/fake/cpu", devices: "/fake/devices" }, v1Hierarchies: [{ mountPoint: "/fake/cpu", data: "cpu" }, { mountPoint: "/fake/devices", data: "devices" }] };

function fixture(): Fixture {
  const base = mkdtempSync(join(tmpdir(), "berth-rollback-unit-"));
  const bundle = join(base, "bundle");
  const cgroupDir = join(base, "cgroup");
  mkdirSync(join(bundle, "rootfs"), { recursive: true });
  mkdirSync(cgroupDir);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  const rec = new Recorder();
  const openFds = new Set<number>();
  const realFd = () => {
    const fd = openSync("/dev/null", "r");
    openFds.add(fd);
    return fd;
  };
  const f: Fixture = {
    rec,
    root: join(base, "state"),
    bundle,
    openFds,
    syncAnswer: { type: SYNC.ready, opIndex: -1, errno: 0, detail: "" },
    syncQueue: [],
    realFd,
    rt: undefined as unknown as Runtime,
    cleanup: () => {
      for (const fd of openFds) closeSync(fd);
      rmSync(base, { recursive: true, force: true });
    },
  };

  const native: LifecycleNative = {
    launch: () => {
      rec.call("native.launch");
      // The test's own pid: create reads its /proc/<pid>/stat for the start time.
      return { pid: process.pid, pidfd: realFd(), syncFd: realFd() };
    },
    syncRecv: () => {
      rec.call("native.syncRecv");
      return f.syncQueue.shift() ?? f.syncAnswer;
    },
    syncSend: () => rec.call("native.syncSend"),
    pidfdOpen: () => {
      rec.call("native.pidfdOpen");
      return realFd();
    },
    pidfdSendSignal: () => rec.call("native.pidfdSendSignal"),
    pidfdPollExit: async () => rec.call("native.pidfdPollExit"),
    waitExit: async () => {
      rec.call("native.waitExit");
      return { exitCode: 0, signal: null };
    },
    waitpid: () => rec.call("native.waitpid"),
    closeFd: (fd) => {
      // As close(2): the fd is released even when an error is reported.
      if (!openFds.delete(fd)) throw Object.assign(new Error(`closeFd(${fd}): not an fd the fake handed out`), { code: "EBADF" });
      closeSync(fd);
      rec.call("native.closeFd");
    },
    mkfifo: (path) => {
      rec.call("native.mkfifo");
      writeFileSync(path, "");
    },
    openFifoRdwr: () => {
      rec.call("native.openFifoRdwr");
      // create closes this one with closeSync, not closeFd: not tracked.
      return openSync("/dev/null", "r+");
    },
    flock: () => true,
    seccompArchNative: () => "SCMP_ARCH_X86_64",
    berthInitPath: () => "/fake/berth-init",
  };

  const cgroups: CgroupDriver = {
    detect: () => {
      rec.call("cgroups.detect");
      return layout;
    },
    create: (): CgroupPlacement => {
      rec.call("cgroups.create");
      return { dirs: ["/fake/cpu/berth/c1", cgroupDir], unified: cgroupDir, created: ["/fake/cpu/berth/c1", cgroupDir] };
    },
    joinV1: () => rec.call("cgroups.joinV1"),
    apply: () => rec.call("cgroups.apply"),
    pids: () => {
      rec.call("cgroups.pids");
      return [];
    },
    remove: () => {
      rec.call("cgroups.remove");
      return [];
    },
  };

  class FakeStore extends StateStore {
    override createDir(op: string, id: string): string {
      rec.call("store.createDir");
      return super.createDir(op, id);
    }
    override withLockAsync<T>(op: string, id: string, fn: () => Promise<T>): Promise<T> {
      rec.call("store.lock");
      return super.withLockAsync(op, id, fn);
    }
    override write(record: ContainerRecord): void {
      rec.call("store.write");
      super.write(record);
    }
    override remove(id: string): void {
      rec.call("store.remove");
      super.remove(id);
    }
  }
  f.rt = { native, cgroups, store: new FakeStore(f.root, () => true), warn: () => undefined };
  return f;
}

let f: Fixture;
beforeEach(() => (f = fixture()));
afterEach(() => f.cleanup());

async function runCreate(opts: { pidFile?: string } = {}): Promise<{ error?: BerthError; calls: Call[] }> {
  try {
    await create(f.rt, { id: "c1", bundle: f.bundle, ...opts });
    return { calls: f.rec.calls };
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return { error: err as BerthError, calls: f.rec.calls };
  }
}

/** Each do-step and the undo call(s) it registers, in the order create does them. */
const undoOf: Record<string, Call[]> = {
  "store.createDir": ["store.remove"],
  "cgroups.create": ["cgroups.remove"],
  "native.launch": ["native.pidfdSendSignal", "native.waitpid", "native.closeFd"],
};

test("a create that succeeds makes these calls and undoes nothing", async () => {
  const { error, calls } = await runCreate();
  expect(error).toBeUndefined();
  expect(calls).toEqual([
    "store.createDir",
    "store.lock",
    "native.mkfifo",
    "native.openFifoRdwr",
    "cgroups.detect",
    "cgroups.create",
    "cgroups.apply",
    "native.launch",
    "cgroups.joinV1",
    "native.syncRecv",
    "native.closeFd", // the sync socket
    "store.write",
  ]);
  // Only the returned pidfd is still open.
  expect(f.openFds.size).toBe(1);
  expect(readdirSync(f.root)).toEqual(["c1"]);
});

describe("failing call N: undo runs newest first, the original error is thrown", () => {
  const successful = [
    "store.createDir",
    "store.lock",
    "native.mkfifo",
    "native.openFifoRdwr",
    "cgroups.detect",
    "cgroups.create",
    "cgroups.apply",
    "native.launch",
    "cgroups.joinV1",
    "native.syncRecv",
    "native.closeFd",
    "store.write",
  ];
  test.each(successful.map((name, n) => [n, name]))("call %i (%s)", async (n) => {
    f.rec.failAt = n as number;
    const { error, calls } = await runCreate();
    expect(error).toBeDefined();
    // The original error, not a cleanup one, and nothing substituted.
    expect(error!.message).toBe(`berth: create c1: internal error: ${f.rec.thrown!.message}`);
    expect(error!.message).not.toMatch(/cleanup failed/);
    // Up to the failing call: as in a good create. After it: exactly the undo of what was done,
    // newest first.
    expect(calls.slice(0, n as number + 1)).toEqual(successful.slice(0, n as number + 1));
    const done = successful.slice(0, n as number).filter((c) => undoOf[c]);
    const expectedUndo = done.reverse().flatMap((c) => undoOf[c]!);
    // A failure between launch and closing the sync socket still closes it (finally) before undo.
    const extra = n as number > 7 && n as number <= 9 ? ["native.closeFd"] : [];
    expect(calls.slice(n as number + 1)).toEqual([...extra, ...expectedUndo]);
    // store.createDir failing made nothing; every other failure removed the directory.
    expect(existsSync(f.root) ? readdirSync(f.root) : []).toEqual([]);
    // Every fd the fakes handed out was closed.
    expect(f.openFds.size).toBe(0);
  });
});

test("a failing op reported by berth-init is thrown at the op's config field, then rolled back", async () => {
  // Op 2 of this plan is the rootfs bind (after the session keyring and the propagation of /).
  f.syncAnswer = { type: SYNC.error, opIndex: 2, errno: 2, detail: "mount /b/rootfs on /" };
  const { error, calls } = await runCreate();
  expect(error!.field).toBe("root.path");
  expect(error!.message).toBe("berth: create c1: root.path: mount /b/rootfs on /: no such file or directory");
  expect(calls.slice(calls.indexOf("native.syncRecv") + 1)).toEqual(["native.closeFd", "native.pidfdSendSignal", "native.waitpid", "native.closeFd", "cgroups.remove", "store.remove"]);
});

test("a cleanup failure is appended to the original error, and the remaining undo steps still run", async () => {
  f.rec.failAt = 9; // native.syncRecv
  f.rec.alwaysFail.set("cgroups.remove", () => Object.assign(new Error("rmdir /fake/cpu/berth/c1: device or resource busy"), { code: "EBUSY" }));
  const { error, calls } = await runCreate();
  expect(error!.message).toBe(`berth: create c1: internal error: ${f.rec.thrown!.message} (cleanup failed: remove cgroups: rmdir /fake/cpu/berth/c1: device or resource busy)`);
  expect(calls.slice(-2)).toEqual(["cgroups.remove", "store.remove"]);
  expect(readdirSync(f.root)).toEqual([]);
});

test("an errno error keeps its field, errno and syscall when a cleanup failure is appended", async () => {
  f.rec.alwaysFail.set("native.syncRecv", () => Object.assign(new Error("recvmsg failed"), { code: "ECONNRESET", syscall: "recvmsg", path: "/sync" }));
  f.rec.alwaysFail.set("store.remove", () => new Error("rm: EACCES"));
  const { error } = await runCreate();
  expect(error!.field).toBe("/sync");
  expect(error!.errno).toBe("ECONNRESET");
  expect(error!.message).toBe("berth: create c1: /sync: recvmsg (cleanup failed: remove " + join(f.root, "c1") + ": rm: EACCES): connection reset by peer");
});

test("when killing berth-init fails, create does not wait for it (no hang), still closes its pidfd, and says so", async () => {
  f.rec.failAt = 9; // native.syncRecv
  f.rec.alwaysFail.set("native.pidfdSendSignal", () => Object.assign(new Error("pidfd_send_signal: operation not permitted"), { code: "EPERM" }));
  const { error, calls } = await runCreate();
  expect(error!.message).toMatch(/^berth: create c1: internal error: injected failure at call 9 \(native\.syncRecv\) \(cleanup failed: kill berth-init \(pid \d+\): pidfd_send_signal: operation not permitted\)$/);
  expect(calls.slice(calls.indexOf("native.pidfdSendSignal"))).toEqual(["native.pidfdSendSignal", "native.closeFd", "cgroups.remove", "store.remove"]);
  expect(f.openFds.size).toBe(0);
});

test("a --pid-file that cannot be written fails create at --pid-file and undoes everything, state included", async () => {
  const pidFile = join(f.bundle, "no-such-dir", "pid");
  const { error, calls } = await runCreate({ pidFile });
  expect(error!.message).toBe(`berth: create c1: --pid-file "${pidFile}": write: no such file or directory`);
  expect(calls.slice(calls.indexOf("store.write") + 1)).toEqual(["native.pidfdSendSignal", "native.waitpid", "native.closeFd", "cgroups.remove", "store.remove"]);
  expect(readdirSync(f.root)).toEqual([]);
});

test("a --pid-file that is a directory leaves no temporary file next to it", async () => {
  const pidFile = join(f.bundle, "piddir");
  mkdirSync(pidFile);
  const { error } = await runCreate({ pidFile });
  expect(error!.field).toBe("--pid-file");
  expect(readdirSync(f.bundle).sort()).toEqual(["config.json", "piddir", "rootfs"]);
});

test("an id that is taken is refused and the existing directory is not removed", async () => {
  mkdirSync(join(f.root, "c1"), { recursive: true });
  const { error, calls } = await runCreate();
  expect(error!.message).toBe("berth: create c1: container with id exists: c1");
  expect(calls).toEqual(["store.createDir"]);
  expect(readdirSync(f.root)).toEqual(["c1"]);
});

describe("linux.netDevices: checked before anything is made, moved when berth-init asks, moved back by a failed create", () => {
  const lo = { index: 1, name: "lo", flags: 0x9 };
  /** bt0 on the host, moved in as c0; `failUp`: setting it up fails. */
  function withNetDevices(failUp = false): void {
    const path = join(f.bundle, "config.json");
    const cfg = JSON.parse(readFileSync(path, "utf8"));
    cfg.linux.netDevices = { bt0: { name: "c0" } };
    writeFileSync(path, JSON.stringify(cfg));
    const nsOf = new Map<number, "host" | "container">();
    let moved = false;
    Object.assign(f.rt.native, {
      netlinkOpen: (nsFd?: number) => {
        const where = nsFd === undefined ? "host" : "container";
        f.rec.call(`net.open ${where}`);
        const fd = f.realFd();
        nsOf.set(fd, where);
        return fd;
      },
      netLinks: (sock: number) => {
        const where = nsOf.get(sock)!;
        f.rec.call(`net.links ${where}`);
        if (where === "host") return moved ? [lo] : [lo, { index: 5, name: "bt0", flags: 0 }];
        return moved ? [lo, { index: 5, name: "c0", flags: 0 }] : [lo];
      },
      netAddresses: () => {
        f.rec.call("net.addresses");
        return [];
      },
      netLinkMove: (sock: number, _index: number, _nsFd: number, name: string) => {
        f.rec.call(`net.move ${name}`);
        moved = nsOf.get(sock) === "host";
      },
      netAddressAdd: () => f.rec.call("net.addressAdd"),
      netLinkUp: () => {
        f.rec.call("net.up");
        if (failUp) throw Object.assign(new Error("ENETDOWN"), { code: "ENETDOWN", syscall: "RTM_NEWLINK" });
      },
    });
    f.syncQueue.push({ type: SYNC.netDevices, opIndex: -1, errno: 0, detail: "" });
  }

  test("the runtime's interfaces are read before anything is made, the moves happen at berth-init's request", async () => {
    withNetDevices();
    const { error, calls } = await runCreate();
    expect(error).toBeUndefined();
    expect(calls).toEqual([
      "store.createDir",
      "store.lock",
      "net.open host",
      "net.links host",
      "native.closeFd",
      "native.mkfifo",
      "native.openFifoRdwr",
      "cgroups.detect",
      "cgroups.create",
      "cgroups.apply",
      "native.launch",
      "cgroups.joinV1",
      "native.syncRecv",
      "net.open host",
      "net.open container",
      "net.links host",
      "net.links container",
      "net.addresses",
      "net.move c0",
      "net.links container",
      "net.up",
      "native.syncSend",
      "native.syncRecv",
      "native.closeFd", // the sync socket
      "store.write",
      // create is done: the netlink sockets go (the namespace lives on in berth-init)
      "native.closeFd",
      "native.closeFd",
    ]);
    expect(f.openFds.size).toBe(1);
  });

  test("a missing interface fails create before anything is made", async () => {
    withNetDevices();
    const path = join(f.bundle, "config.json");
    const cfg = JSON.parse(readFileSync(path, "utf8"));
    cfg.linux.netDevices = { eth9: {} };
    writeFileSync(path, JSON.stringify(cfg));
    const { error, calls } = await runCreate();
    expect(error!.message).toBe(`berth: create c1: linux.netDevices["eth9"]: no such network interface in the runtime's network namespace`);
    expect(calls).toEqual(["store.createDir", "store.lock", "net.open host", "net.links host", "native.closeFd", "store.remove"]);
    expect(f.openFds.size).toBe(0);
  });

  test("a failure after the move: the error at the device; it is moved back before berth-init is killed", async () => {
    withNetDevices(true);
    const { error, calls } = await runCreate();
    expect(error!.message).toBe(`berth: create c1: linux.netDevices["bt0"]: set "c0" up in the container's network namespace: network is down`);
    expect(calls.slice(calls.indexOf("net.up"))).toEqual([
      "net.up",
      "native.closeFd", // the sync socket (finally)
      "net.move bt0",
      "net.links host",
      "native.pidfdSendSignal",
      "native.waitpid",
      "native.closeFd",
      "cgroups.remove",
      "store.remove",
      // the netlink sockets, after every undo step (the move back needed them)
      "native.closeFd",
      "native.closeFd",
    ]);
    expect(f.openFds.size).toBe(0);
  });
});
