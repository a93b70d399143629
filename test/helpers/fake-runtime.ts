/**
 * A Runtime whose every collaborator (native surface, cgroup driver, state store, and with
 * --systemd-cgroup the systemd session) is a recording fake, for lifecycle tests without root
 * (create's rollback, the systemd driver's error paths). The Recorder can fail call N.
 *
 * The fakes hand out real fds (of /dev/null) where create closes them with node:fs, so a fake
 * number can never close one of jest's own fds.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cgroupfsDriver, type CgroupLayout, type CgroupPlacement } from "../../src/cgroups";
import type { LifecycleNative, Runtime } from "../../src/container";
import { SYNC, type HostFacts } from "../../src/plan";
import { defaultSpec, type Spec } from "../../src/spec";
import { StateStore, type ContainerRecord } from "../../src/state";
import { FakeSystemdBus } from "./fake-systemd";

/** One call into a collaborator: "native.launch", "cgroups.remove", "store.write" ... */
export type Call = string;

export class Recorder {
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

export interface Fixture {
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
  /** With `systemd: true`: the fake Manager (its calls are also recorded as "systemd.<member>"). */
  bus: FakeSystemdBus;
  /** The fake cgroup2 directory create is given (a real, empty directory). */
  cgroupDir: string;
  /** Warnings the runtime logged. */
  warnings: string[];
  /** What native.launch was given, each time. */
  launches: Parameters<LifecycleNative["launch"]>[0][];
  cleanup(): void;
}

// Like this host: v1 controllers (devices among them, so device rules are v1 writes) beside cgroup2.
export const layout: CgroupLayout = {
  mode: "hybrid",
  v2Mount: "/fake/unified",
  v2Controllers: [],
  v1Mounts: { cpu: "/fake/cpu", devices: "/fake/devices" },
  v1Hierarchies: [
    { mountPoint: "/fake/cpu", data: "cpu" },
    { mountPoint: "/fake/devices", data: "devices" },
  ],
};

/**
 * A host that can do what the fixtures ask (every namespace, seccomp, idmapped mounts), with no
 * probe of the real kernel: the fakes run without the addon and without root.
 */
export const hostFacts: HostFacts = {
  kernelRelease: "6.1.0-fake",
  namespaces: { cgroup: true, ipc: true, mount: true, network: true, pid: true, time: true, user: true, uts: true },
  userNamespacesAllowed: true,
  cgroup: { mode: layout.mode, controllers: ["cpu", "devices"] },
  seccomp: {
    enabled: true,
    actions: [
      "SCMP_ACT_KILL",
      "SCMP_ACT_KILL_PROCESS",
      "SCMP_ACT_KILL_THREAD",
      "SCMP_ACT_TRAP",
      "SCMP_ACT_ERRNO",
      "SCMP_ACT_TRACE",
      "SCMP_ACT_ALLOW",
      "SCMP_ACT_LOG",
      "SCMP_ACT_NOTIFY",
    ],
    flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
    libseccompVersion: "2.5.4",
    unknownSyscalls: () => [],
  },
  apparmor: false,
  selinux: false,
  idmappedMounts: true,
  capLastCap: 40,
  capSysResource: true,
  rlimits: {},
};

export function fixture(opts: { spec?: (s: Spec) => void; systemd?: boolean } = {}): Fixture {
  const base = mkdtempSync(join(tmpdir(), "berth-rollback-unit-"));
  const bundle = join(base, "bundle");
  const cgroupDir = join(base, "cgroup");
  mkdirSync(join(bundle, "rootfs"), { recursive: true });
  mkdirSync(cgroupDir);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  opts.spec?.(spec);
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
    bus: new FakeSystemdBus(),
    cgroupDir,
    warnings: [],
    launches: [],
    rt: undefined as unknown as Runtime,
    cleanup: () => {
      for (const fd of openFds) closeSync(fd);
      rmSync(base, { recursive: true, force: true });
    },
  };

  const native: LifecycleNative = {
    launch: (o) => {
      f.launches.push(o);
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
    waitpid: (pid) => {
      rec.call("native.waitpid");
      return { pid, status: 0, exitCode: 0, signal: null };
    },
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

  // The cgroupfs driver over recording fakes of its directory work (--systemd-cgroup builds the
  // systemd driver over the same fakes).
  const cgroups = cgroupfsDriver({
    detect: () => {
      rec.call("cgroups.detect");
      return layout;
    },
    create: (): CgroupPlacement => {
      rec.call("cgroups.create");
      return { dirs: ["/fake/cpu/berth/c1", cgroupDir], unified: cgroupDir, created: ["/fake/cpu/berth/c1", cgroupDir] };
    },
    joinCgroups: () => rec.call("cgroups.joinCgroups"),
    apply: () => rec.call("cgroups.apply"),
    pids: () => {
      rec.call("cgroups.pids");
      return [];
    },
    remove: async () => {
      rec.call("cgroups.remove");
      return [];
    },
    waitEmpty: async () => true,
  });

  class FakeStore extends StateStore {
    override createDir(op: string, id: string): string {
      rec.call("store.createDir");
      return super.createDir(op, id);
    }
    override withLockAsync<T>(op: string, id: string, fn: () => Promise<T>): Promise<T> {
      rec.call("store.lock");
      return super.withLockAsync(op, id, fn);
    }
    override write(record: ContainerRecord, durable = true): void {
      // create's first, not fsynced, record ("creating") and its final one.
      rec.call(durable ? "store.write" : "store.writeCreating");
      super.write(record, durable);
    }
    override remove(id: string): void {
      rec.call("store.remove");
      super.remove(id);
    }
  }
  f.bus.onCall = (name) => rec.call(name);
  f.rt = {
    native,
    cgroups,
    hostFacts: () => ({ ...hostFacts, cgroupLayout: layout }),
    store: new FakeStore(f.root, () => true),
    warn: (m) => f.warnings.push(m),
    ...(opts.systemd
      ? {
          systemd: async () => {
            rec.call("systemd.connect");
            return f.bus.session();
          },
        }
      : {}),
  };
  return f;
}
