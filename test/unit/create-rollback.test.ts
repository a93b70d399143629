/**
 * create's rollback, without root: every collaborator (native surface, cgroup driver, state
 * store, and with --systemd-cgroup systemd's Manager) is a recording fake
 * (test/helpers/fake-runtime.ts), and the fake fails call N. After each failure the undo steps
 * must have run newest first, exactly for what was done, and the error thrown must be the
 * original one; an undo step that fails is appended ("(cleanup failed: ...)"), never
 * substituted.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "../../src/container";
import { BerthError } from "../../src/errors";
import { SYNC } from "../../src/plan";
import { StateStore } from "../../src/state";
import { fixture, type Call, type Fixture } from "../helpers/fake-runtime";
import { planOpNames } from "../helpers/plan-bytes";

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
    "store.writeCreating",
    "native.mkfifo",
    "native.openFifoRdwr",
    "cgroups.detect",
    "cgroups.create",
    "cgroups.apply",
    "native.launch",
    "native.syncRecv",
    "native.closeFd", // the sync socket
    "store.write",
  ]);
  // Only the returned pidfd is still open.
  expect(f.openFds.size).toBe(1);
  expect(readdirSync(f.root)).toEqual(["c1"]);
  // Without --systemd-cgroup, the plan does not wait for the parent.
  expect(planOpNames(f.launches[0]!.plan)).not.toContain("waitParent");
});

test("a cgroup2 directory that appears between the look and the mkdir is joined, not cloned into", async () => {
  // Made by someone else (a create sharing the cgroupsPath): it is not among those created.
  const base = f.rt.cgroups;
  f.rt = { ...f.rt, cgroups: { ...base, create: (layout, path) => ({ ...base.create(layout, path), created: ["/fake/cpu/berth/c1"] }) } };
  const { error } = await runCreate();
  expect(error).toBeUndefined();
  const ops = planOpNames(f.launches[0]!.plan);
  expect({ cgroupFd: f.launches[0]!.cgroupFd, joins: ops.filter((o) => o === "joinCgroup").length }).toEqual({
    cgroupFd: undefined,
    joins: 3,
  });
});

test("a cgroup2 directory create made is cloned into", async () => {
  const { error } = await runCreate();
  expect(error).toBeUndefined();
  const ops = planOpNames(f.launches[0]!.plan);
  expect({ cloned: f.launches[0]!.cgroupFd !== undefined, joins: ops.filter((o) => o === "joinCgroup").length }).toEqual({
    cloned: true,
    joins: 2,
  });
});

describe("failing call N: undo runs newest first, the original error is thrown", () => {
  const successful = [
    "store.createDir",
    "store.lock",
    "store.writeCreating",
    "native.mkfifo",
    "native.openFifoRdwr",
    "cgroups.detect",
    "cgroups.create",
    "cgroups.apply",
    "native.launch",
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
    expect(calls.slice(0, (n as number) + 1)).toEqual(successful.slice(0, (n as number) + 1));
    const done = successful.slice(0, n as number).filter((c) => undoOf[c]);
    const expectedUndo = done.reverse().flatMap((c) => undoOf[c]!);
    // A failure between launch and closing the sync socket still closes it (finally) before undo.
    const extra = n === 9 ? ["native.closeFd"] : [];
    expect(calls.slice((n as number) + 1)).toEqual([...extra, ...expectedUndo]);
    // store.createDir failing made nothing; every other failure removed the directory.
    expect(existsSync(f.root) ? readdirSync(f.root) : []).toEqual([]);
    // Every fd the fakes handed out was closed.
    expect(f.openFds.size).toBe(0);
  });
});

test("a failing op reported by berth-init is thrown at the op's config field, then rolled back", async () => {
  // Op 4 of this plan is the rootfs bind (after the two v1 cgroup joins, the session keyring and the
  // propagation of /).
  f.syncAnswer = { type: SYNC.error, opIndex: 4, errno: 2, detail: "mount /b/rootfs on /" };
  const { error, calls } = await runCreate();
  expect(error!.field).toBe("root.path");
  expect(error!.message).toBe("berth: create c1: root.path: mount /b/rootfs on /: no such file or directory");
  expect(calls.slice(calls.indexOf("native.syncRecv") + 1)).toEqual([
    "native.closeFd",
    "native.pidfdSendSignal",
    "native.waitpid",
    "native.closeFd",
    "cgroups.remove",
    "store.remove",
  ]);
});

test("a cleanup failure is appended to the original error, and the remaining undo steps still run", async () => {
  f.rec.failAt = 9; // native.syncRecv
  f.rec.alwaysFail.set("cgroups.remove", () =>
    Object.assign(new Error("rmdir /fake/cpu/berth/c1: device or resource busy"), { code: "EBUSY" }),
  );
  const { error, calls } = await runCreate();
  expect(error!.message).toBe(
    `berth: create c1: internal error: ${f.rec.thrown!.message} (cleanup failed: remove cgroups: rmdir /fake/cpu/berth/c1: device or resource busy)`,
  );
  expect(calls.slice(-2)).toEqual(["cgroups.remove", "store.remove"]);
  expect(readdirSync(f.root)).toEqual([]);
});

test("an errno error keeps its field, errno and syscall when a cleanup failure is appended", async () => {
  f.rec.alwaysFail.set("native.syncRecv", () =>
    Object.assign(new Error("recvmsg failed"), { code: "ECONNRESET", syscall: "recvmsg", path: "/sync" }),
  );
  f.rec.alwaysFail.set("store.remove", () => new Error("rm: EACCES"));
  const { error } = await runCreate();
  expect(error!.field).toBe("/sync");
  expect(error!.errno).toBe("ECONNRESET");
  expect(error!.message).toBe(
    "berth: create c1: /sync: recvmsg (cleanup failed: remove " + join(f.root, "c1") + ": rm: EACCES): connection reset by peer",
  );
});

test("when killing berth-init fails, create does not wait for it (no hang), still closes its pidfd, and says so", async () => {
  f.rec.failAt = 9; // native.syncRecv
  f.rec.alwaysFail.set("native.pidfdSendSignal", () =>
    Object.assign(new Error("pidfd_send_signal: operation not permitted"), { code: "EPERM" }),
  );
  const { error, calls } = await runCreate();
  expect(error!.message).toMatch(
    /^berth: create c1: internal error: injected failure at call 9 \(native\.syncRecv\) \(cleanup failed: kill berth-init \(pid \d+\): pidfd_send_signal: operation not permitted\)$/,
  );
  expect(calls.slice(calls.indexOf("native.pidfdSendSignal"))).toEqual([
    "native.pidfdSendSignal",
    "native.closeFd",
    "cgroups.remove",
    "store.remove",
  ]);
  expect(f.openFds.size).toBe(0);
});

test("a --pid-file that cannot be written fails create at --pid-file and undoes everything, state included", async () => {
  const pidFile = join(f.bundle, "no-such-dir", "pid");
  const { error, calls } = await runCreate({ pidFile });
  expect(error!.message).toBe(`berth: create c1: --pid-file "${pidFile}": write: no such file or directory`);
  expect(calls.slice(calls.indexOf("store.write") + 1)).toEqual([
    "native.pidfdSendSignal",
    "native.waitpid",
    "native.closeFd",
    "cgroups.remove",
    "store.remove",
  ]);
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

describe("--systemd-cgroup: the scope unit is part of what a failed create undoes", () => {
  // A fake systemd Manager (test/helpers/fake-systemd.ts): its calls are recorded as
  // "systemd.<member>" among the others, and can fail like them.
  beforeEach(() => {
    f.cleanup();
    f = fixture({ systemd: true });
  });
  async function runSystemdCreate(): Promise<{ error?: BerthError; calls: Call[] }> {
    try {
      await create(f.rt, { id: "c1", bundle: f.bundle, systemdCgroup: true });
      return { calls: f.rec.calls };
    } catch (err) {
      expect(err).toBeInstanceOf(BerthError);
      return { error: err as BerthError, calls: f.rec.calls };
    }
  }
  const successful = [
    "store.createDir",
    "store.lock",
    "store.writeCreating",
    "native.mkfifo",
    "native.openFifoRdwr",
    "cgroups.detect",
    "systemd.connect",
    "cgroups.create",
    "cgroups.apply",
    "native.launch",
    "cgroups.joinCgroups",
    "systemd.Get", // systemd's Version (DeviceAllow's syntax depends on it)
    "systemd.StartTransientUnit",
    "cgroups.apply", // the v1 device rules again, after systemd realized the unit
    "native.syncSend", // the ack the plan's first op (waitParent) waits for
    "native.syncRecv",
    "native.closeFd",
    "store.write",
    "systemd.close",
  ];
  const undoOfSd: Record<string, Call[]> = {
    "store.createDir": ["store.remove"],
    "systemd.connect": ["systemd.close"],
    "cgroups.create": ["cgroups.remove"],
    "native.launch": ["native.pidfdSendSignal", "native.waitpid", "native.closeFd"],
    // Kill the init and wait for its death first: StopUnit's SIGTERM never reaches a pid
    // namespace's init from outside, so systemd would wait out the stop timeout.
    "systemd.StartTransientUnit": ["native.pidfdSendSignal", "native.pidfdPollExit", "systemd.StopUnit", "systemd.ResetFailedUnit"],
  };

  test("a create that succeeds starts the unit, records it, and closes the connection", async () => {
    const { error, calls } = await runSystemdCreate();
    expect(error).toBeUndefined();
    expect(calls).toEqual(successful);
    const record = f.rt.store.read("state", "c1");
    expect(record.systemdUnit).toBe("berth-c1.scope");
    expect(record.cgroupPath).toBe("/system.slice/berth-c1.scope");
    // systemd owns the cgroup2 and cpu directories now; the state keeps only what berth removes.
    expect(record.cgroupDirs).toEqual([f.cgroupDir]);
    expect(f.bus.closed).toBe(1);
    // The plan berth-init runs starts by waiting for that ack.
    expect(planOpNames(f.launches[0]!.plan)[0]).toBe("waitParent");
  });

  // systemd.Get is not among them: a Version systemd does not give is the old DeviceAllow syntax, not an error.
  const failing = successful.map((name, n) => [n, name] as const).filter(([, name]) => name !== "systemd.Get" && name !== "systemd.close");
  test.each(failing)("call %i (%s) fails: undo newest first, the unit stopped once started, the original error", async (n, name) => {
    f.rec.failAt = n;
    const { error, calls } = await runSystemdCreate();
    const injected = f.rec.thrown!.message;
    const want =
      name === "systemd.connect"
        ? `berth: create c1: --systemd-cgroup: ${injected}`
        : name === "systemd.StartTransientUnit"
          ? `berth: create c1: linux.cgroupsPath: systemd StartTransientUnit berth-c1.scope: ${injected}`
          : `berth: create c1: internal error: ${injected}`;
    expect(error?.message).toBe(want);
    expect(calls.slice(0, n + 1)).toEqual(successful.slice(0, n + 1));
    const done = successful.slice(0, n).filter((c) => undoOfSd[c]);
    const expectedUndo = done.reverse().flatMap((c) => undoOfSd[c]!);
    // Between launch and closing the sync socket, the finally closes it before the undo.
    const extra = n > 9 && n <= 15 ? ["native.closeFd"] : [];
    expect(calls.slice(n + 1)).toEqual([...extra, ...expectedUndo]);
    expect(existsSync(f.root) ? readdirSync(f.root) : []).toEqual([]);
    expect(f.openFds.size).toBe(0);
    // Opened, then closed exactly once; never opened when connecting failed.
    expect(f.bus.closed).toBe(n > successful.indexOf("systemd.connect") ? 1 : 0);
  });

  test("the stop step sends StopUnit(unit, replace) and ResetFailedUnit(unit) to systemd", async () => {
    f.rec.failAt = successful.indexOf("store.write");
    await runSystemdCreate();
    expect(
      f.bus.calls.filter((c) => c.member !== "Get").map(({ kind, member, signature, body }) => ({ kind, member, signature, body })),
    ).toEqual([
      expect.objectContaining({ kind: "job", member: "StartTransientUnit", signature: "ssa(sv)a(sa(sv))" }),
      { kind: "job", member: "StopUnit", signature: "ss", body: ["berth-c1.scope", "replace"] },
      { kind: "call", member: "ResetFailedUnit", signature: "s", body: ["berth-c1.scope"] },
    ]);
  });

  test("when killing the init fails, the unit is still stopped, and the failure is appended", async () => {
    f.rec.failAt = successful.indexOf("store.write");
    f.rec.alwaysFail.set("native.pidfdSendSignal", () =>
      Object.assign(new Error("pidfd_send_signal: operation not permitted"), { code: "EPERM" }),
    );
    const { error, calls } = await runSystemdCreate();
    expect(error!.message).toMatch(
      /^berth: create c1: internal error: injected failure at call 17 \(store\.write\) \(cleanup failed: stop systemd unit berth-c1\.scope: pidfd_send_signal: operation not permitted; kill berth-init \(pid \d+\): pidfd_send_signal: operation not permitted\)$/,
    );
    // Not waited for (it was not killed), but StopUnit still went out.
    expect(calls.slice(successful.indexOf("store.write") + 1)).toEqual([
      "native.pidfdSendSignal",
      "systemd.StopUnit",
      "systemd.ResetFailedUnit",
      "native.pidfdSendSignal",
      "native.closeFd",
      "cgroups.remove",
      "systemd.close",
      "store.remove",
    ]);
  });

  test("a StopUnit that fails during the undo is appended; the rest of the undo still runs", async () => {
    f.rec.failAt = successful.indexOf("store.write");
    f.bus.answers.set("StopUnit", () => {
      throw Object.assign(new Error("Access denied"), { type: "org.freedesktop.DBus.Error.AccessDenied", text: "Access denied" });
    });
    const { error, calls } = await runSystemdCreate();
    expect(error!.message).toBe(
      `berth: create c1: internal error: ${f.rec.thrown!.message} (cleanup failed: stop systemd unit berth-c1.scope: systemd StopUnit berth-c1.scope: Access denied (org.freedesktop.DBus.Error.AccessDenied))`,
    );
    expect(calls.slice(-6)).toEqual([
      "native.pidfdSendSignal",
      "native.waitpid",
      "native.closeFd",
      "cgroups.remove",
      "systemd.close",
      "store.remove",
    ]);
    expect(readdirSync(f.root)).toEqual([]);
  });
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
      "store.writeCreating",
      "native.mkfifo",
      "native.openFifoRdwr",
      "cgroups.detect",
      "cgroups.create",
      "cgroups.apply",
      "native.launch",
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
    expect(error!.message).toBe(
      `berth: create c1: linux.netDevices["bt0"]: set "c0" up in the container's network namespace: network is down`,
    );
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

test("a delete --force between createDir and the lock, then another create of the id: this create fails and leaves the other's directory alone", async () => {
  // The other two are other processes: stores of their own on the same root.
  const store = f.rt.store;
  const createDir = store.createDir.bind(store);
  store.createDir = (op: string, id: string) => {
    const dir = createDir(op, id);
    new StateStore(f.root, () => true).remove(id); // delete --force: a directory without state.json
    new StateStore(f.root, () => true).createDir(op, id); // the next create
    return dir;
  };
  const { error, calls } = await runCreate();
  expect(error!.message).toBe("berth: create c1: container does not exist");
  // Nothing launched, and the other create's directory is still there, lock file and all.
  expect(calls).toEqual(["store.createDir", "store.lock"]);
  expect(readdirSync(join(f.root, "c1"))).toEqual(["lock"]);
});
