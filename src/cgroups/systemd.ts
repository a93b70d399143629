/**
 * The systemd cgroup driver's D-Bus calls (the driver is systemd-driver.ts): the container's
 * cgroup is a transient scope unit "<prefix>-<name>.scope" in the slice of cgroupsPath
 * "slice:prefix:name", made by systemd over D-Bus
 * (org.freedesktop.systemd1.Manager.StartTransientUnit), as runc's systemd manager does.
 * systemd then owns the unit's cgroup: it removes it when the unit stops, and it owns the files
 * it has properties for (systemd-props.ts decides which); berth writes the rest.
 *
 * Ordering (runc starts the unit with PIDs=[init] once the init process exists, and the init
 * waits until the unit is up): berth makes the scope's directories first and clones berth-init
 * straight into the scope's cgroup2 directory (CLONE_INTO_CGROUP), so it is never outside it,
 * and its cgroup namespace is rooted there; then StartTransientUnit(PIDs=[pid]) makes systemd
 * adopt that directory (systemd takes an existing cgroup directory as its own) and the pid
 * already in it; berth waits for the job's JobRemoved signal. berth-init waits too: the plan's
 * first op is waitParent, which berth acks after that; starting the unit rewrites the v1
 * device rules from deny-all, and no op of the plan (a mknod, an open) may run meanwhile. Nothing of the user's runs before `start`, which only comes after create has
 * returned, so every limit is in place first.
 *
 * The bus: the system bus first, then systemd's private socket /run/systemd/private, a direct
 * connection to systemd (go-systemd's order for root, which runc uses; see peerBus). Where
 * systemd is not PID 1 (no /run/systemd/system, sd_booted(3)),
 * --systemd-cgroup is an error with runc's wording; berth never falls back to cgroupfs.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Resources } from "../spec";
import type { CgroupLayout } from "./detect";
import { baseUnitProperties, unitDeviceProperties, unitResourceProperties, type DeviceHost, type UnitProperty } from "./systemd-props";

const DEST = "org.freedesktop.systemd1";
const PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";
const PROPERTIES = "org.freedesktop.DBus.Properties";
const JOB_TIMEOUT_MS = 30_000;
/** A method call systemd has not answered by then is an error (dbus-next itself waits for ever). */
const CALL_TIMEOUT_MS = 25_000;

/** A D-Bus error from systemd (or the bus), with its name: org.freedesktop.systemd1.UnitExists. */
export class SystemdError extends Error {
  constructor(
    readonly method: string,
    readonly unit: string,
    readonly dbusName: string,
    readonly text: string,
    /** The config field of the property systemd refused, when its message names one. */
    readonly field?: string,
  ) {
    super(`systemd ${method} ${unit}: ${text}${dbusName ? ` (${dbusName})` : ""}`);
  }
}

/**
 * The calls berth makes to systemd's Manager, so that a recording fake can stand in for it in
 * unit tests. `job` calls return the job's result from its JobRemoved signal ("done",
 * "failed", "canceled", "timeout", "dependency", "skipped").
 */
export interface SystemdBus {
  /** Where it is connected: "system bus" or "/run/systemd/private". */
  readonly via: string;
  /** A method of systemd's /org/freedesktop/systemd1 (interface: the Manager unless named). */
  call(member: string, signature: string, body: unknown[], iface?: string): Promise<unknown[]>;
  job(member: string, signature: string, body: unknown[], timeoutMs?: number): Promise<string>;
  close(): void;
}

/** No connection to systemd could be made: the user reads it at the flag that asked for one. */
export class SystemdConnectError extends Error {
  readonly field = "--systemd-cgroup";
  constructor(
    readonly reason: string,
    readonly original: unknown,
  ) {
    super(reason);
  }
}

export const NOT_RUNNING = "systemd not running on this host, cannot use systemd cgroups manager";

/** sd_booted(3): /run/systemd/system exists only where systemd is PID 1. */
export function systemdBooted(root = "/"): boolean {
  return existsSync(`${root === "/" ? "" : root}/run/systemd/system`);
}

// --- the real bus, through dbus-next

interface DbusNext {
  /**
   * A MessageBus on any address: despite its name, dbus-next 0.10's sessionBus is the one
   * that honours opts.busAddress (its systemBus ignores it and always dials
   * $DBUS_SYSTEM_BUS_ADDRESS or /var/run/dbus/system_bus_socket).
   */
  sessionBus(opts: { busAddress: string }): DbusBus;
  Message: new (opts: Record<string, unknown>) => DbusMessageOut;
  Variant: new (signature: string, value: unknown) => unknown;
  /** lib/connection.js: the authenticated stream to an address, messages in and out. */
  createConnection(opts: { busAddress: string; authMethods?: string[] }): DbusConnection;
  /** lib/bus.js: the client (serials, replies, signals) over a connection. */
  MessageBus: new (conn: DbusConnection) => DbusBus;
}
interface DbusMessageOut {
  type: number;
  serial: number | null;
  destination?: string;
  interface?: string;
  member?: string;
}
interface DbusConnection {
  /** The socket, before the handshake has begun (it starts on the socket's "connect"). */
  stream: { write(chunk: unknown, ...rest: unknown[]): boolean };
  message(msg: DbusMessageOut): void;
  once(ev: "connect", fn: () => void): void;
  emit(ev: "message", msg: unknown): boolean;
}
interface DbusBus {
  on(ev: "connect" | "error" | "message", fn: (arg: never) => void): void;
  removeAllListeners(ev?: string): void;
  call(msg: unknown): Promise<{ body: unknown[] }>;
  disconnect(): void;
}
interface DbusMessage {
  type: number;
  interface?: string;
  member?: string;
  body: unknown[];
}
const METHOD_RETURN = 2;
const SIGNAL = 4;

/** dbus-next is loaded only with --systemd-cgroup: other commands never parse it. */
function loadDbusNext(): DbusNext {
  return (require("./dbus-next") as { dbusNext: DbusNext }).dbusNext;
}

/**
 * A MessageBus on systemd's private socket. That socket is a direct (peer-to-peer) D-Bus
 * connection to systemd, not a bus, and two things differ from a bus:
 *
 * - There is no org.freedesktop.DBus on it: systemd answers the Hello every bus client sends
 *   first with UnknownObject. dbus-next's MessageBus sends Hello from its constructor (and,
 *   when it fails, rejects a promise nobody holds, which ends the process), so the Hello is
 *   answered here instead, once the connection has authenticated; every other message goes to
 *   systemd as it is (without a destination: a peer has no names).
 * - systemd (252, sd-bus as a server) leaves a message that arrives in the same read as the
 *   client's BEGIN unprocessed until more data comes, so a client that waits for its reply
 *   waits for ever. dbus-next sends BEGIN after the server's OK and its first message right
 *   behind it: measured in the systemd-ns harness, 60 of 60 such calls went unanswered when
 *   they shared a write with BEGIN, most when they did not. sd-bus's own clients (systemctl)
 *   send BEGIN with AUTH, before the OK, so their first message always comes in a later read;
 *   this does the same, by appending BEGIN to dbus-next's AUTH line and dropping its own.
 */
function peerBus(lib: DbusNext, address: string): DbusBus {
  const conn = lib.createConnection({ busAddress: address, authMethods: ["EXTERNAL"] });
  const write = conn.stream.write.bind(conn.stream);
  conn.stream.write = (chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === "string" && chunk.startsWith("AUTH EXTERNAL ")) return write(`${chunk}BEGIN\r\n`, ...rest);
    if (chunk === "BEGIN\r\n") return true;
    return write(chunk, ...rest);
  };
  const send = conn.message.bind(conn);
  let helloDone = false;
  conn.message = (msg: DbusMessageOut) => {
    if (!helloDone && msg.member === "Hello" && msg.destination === "org.freedesktop.DBus") {
      helloDone = true;
      const serial = msg.serial;
      conn.once("connect", () =>
        conn.emit("message", new lib.Message({ type: METHOD_RETURN, replySerial: serial, signature: "s", body: [":systemd-private"] })),
      );
      return;
    }
    send(msg);
  };
  return new lib.MessageBus(conn);
}

function connectOnce(lib: DbusNext, address: string, timeoutMs: number, isBus: boolean): Promise<DbusBus> {
  return new Promise((resolve, reject) => {
    const bus = isBus ? lib.sessionBus({ busAddress: address }) : peerBus(lib, address);
    const timer = setTimeout(() => fail(new Error("timed out connecting")), timeoutMs);
    function fail(err: unknown) {
      clearTimeout(timer);
      try {
        bus.disconnect();
      } catch {
        /* never connected */
      }
      reject(err instanceof Error ? err : new Error(String((err as { message?: string })?.message ?? err)));
    }
    bus.on("error", fail);
    bus.on("connect", () => {
      clearTimeout(timer);
      bus.removeAllListeners("error");
      // Later errors (systemd going away) surface as failed calls; do not crash on them.
      bus.on("error", () => undefined);
      resolve(bus);
    });
  });
}

export interface ConnectOptions {
  /** DBUS_SYSTEM_BUS_ADDRESS, as dbus clients read it (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where /run/systemd/system is looked for (sd_booted); "/" on a real host. */
  root?: string;
  /** systemd's private socket (default /run/systemd/private). */
  privateSocket?: string;
  timeoutMs?: number;
}

/**
 * The system bus, else systemd's private socket (where dbus-daemon is not running or not
 * reachable: early boot, a broken dbus), as go-systemd and so runc do; an Error naming each
 * address and why it failed. Not booted with systemd: runc's error, before any connection.
 */
export async function connectSystemd(opts: ConnectOptions = {}): Promise<SystemdBus> {
  const env = opts.env ?? process.env;
  if (!systemdBooted(opts.root)) throw new Error(NOT_RUNNING);
  const lib = loadDbusNext();
  const system = env.DBUS_SYSTEM_BUS_ADDRESS || "unix:path=/run/dbus/system_bus_socket";
  const privateSocket = opts.privateSocket ?? "/run/systemd/private";
  const tries: [string, string, boolean][] = [
    ["system bus", system, true],
    [privateSocket, `unix:path=${privateSocket}`, false],
  ];
  const failures: string[] = [];
  for (const [via, address, isBus] of tries) {
    let bus: DbusBus;
    try {
      bus = await connectOnce(lib, address, opts.timeoutMs ?? 5_000, isBus);
    } catch (err) {
      failures.push(`${via} (${address.replace(/^unix:path=/, "")}): ${(err as Error).message}`);
      continue;
    }
    try {
      return await wrapBus(lib, bus, via, isBus);
    } catch (err) {
      bus.disconnect(); // or its socket keeps the process alive
      throw err;
    }
  }
  throw new Error(`cannot connect to systemd: ${failures.join("; ")}`);
}

async function wrapBus(lib: DbusNext, bus: DbusBus, via: string, isBus: boolean): Promise<SystemdBus> {
  // JobRemoved(u id, o job, s unit, s result): collected from the moment we subscribe, so a
  // job that finishes before its method call has returned is not missed.
  const finished = new Map<string, string>();
  const waiting = new Map<string, (result: string) => void>();
  bus.on("message", (msg: never) => {
    const m = msg as DbusMessage;
    if (m.type !== SIGNAL || m.interface !== MANAGER || m.member !== "JobRemoved") return;
    const job = String(m.body[1]);
    const result = String(m.body[3]);
    const w = waiting.get(job);
    if (w) w(result);
    else finished.set(job, result);
  });
  const raw = async (
    dest: string | undefined,
    path: string,
    iface: string,
    member: string,
    signature: string,
    body: unknown[],
  ): Promise<unknown[]> => {
    const msg = new lib.Message({ destination: dest, path, interface: iface, member, signature: signature || undefined, body });
    // dbus-next waits for a reply for ever; a systemd that never answers must not hang berth.
    let timer: NodeJS.Timeout | undefined;
    const noReply = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply from systemd within ${CALL_TIMEOUT_MS / 1000} s (${via})`)), CALL_TIMEOUT_MS);
    });
    try {
      const reply = await Promise.race([bus.call(msg), noReply]);
      return reply?.body ?? [];
    } finally {
      clearTimeout(timer);
    }
  };
  if (isBus)
    await raw("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", [
      `type='signal',sender='${DEST}',interface='${MANAGER}',member='JobRemoved'`,
    ]);
  // Subscribe: systemd sends job signals only to subscribed clients.
  await raw(DEST, PATH, MANAGER, "Subscribe", "", []);
  const call = (member: string, signature: string, body: unknown[], iface = MANAGER) =>
    raw(isBus ? DEST : undefined, PATH, iface, member, signature, body);
  return {
    via,
    call,
    async job(member, signature, body, timeoutMs = JOB_TIMEOUT_MS) {
      const [job] = await call(member, signature, body);
      const path = String(job);
      const done = finished.get(path);
      if (done !== undefined) {
        finished.delete(path);
        return done;
      }
      return await new Promise<string>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(path);
          resolve("timeout (no JobRemoved signal from systemd)");
        }, timeoutMs);
        waiting.set(path, (r) => {
          clearTimeout(timer);
          waiting.delete(path);
          resolve(r);
        });
      });
    },
    close: () => bus.disconnect(),
  };
}

/** dbus-next's error: { type: "org.freedesktop.systemd1.UnitExists", text: "..." }. */
function asSystemdError(method: string, unit: string, err: unknown, props: readonly UnitProperty[] = []): SystemdError {
  const e = err as { type?: string; text?: string; message?: string };
  const text = e.text ?? e.message ?? String(err);
  // systemd names the refused property in its message ("Cannot set property MemoryMax, or unknown property.").
  const prop = props.find((p) => p.field && new RegExp(`\\b${p.name}\\b`).test(text));
  return new SystemdError(method, unit, e.type ?? "", text, prop?.field);
}

/** [name, variant] pairs, a(sv). */
function encodeProps(lib: Pick<DbusNext, "Variant"> | undefined, props: readonly UnitProperty[]): unknown[] {
  return props.map((p) => [
    p.name,
    lib
      ? new lib.Variant(p.signature, p.signature === "ay" ? Buffer.from(p.value as Uint8Array) : p.value)
      : { signature: p.signature, value: p.value },
  ]);
}

/** What the driver needs of dbus-next to build variants; a fake bus passes none. */
export interface SystemdSession {
  bus: SystemdBus;
  /** Wraps values as D-Bus variants (dbus-next's Variant); undefined: plain {signature, value}. */
  variant?: Pick<DbusNext, "Variant">;
}

export async function openSystemdSession(opts: ConnectOptions = {}): Promise<SystemdSession> {
  const bus = await connectSystemd(opts);
  return { bus, variant: loadDbusNext() };
}

export interface StartUnitRequest {
  unit: string;
  slice: string;
  id: string;
  pid: number;
  mode: CgroupLayout["mode"];
  resources?: Resources;
  /** What systemd cannot be told (device rules it has no syntax for). */
  warn?: (msg: string) => void;
  /** Host facts for systemd < 240 (default: this host's /proc/devices and files). */
  deviceHost?: Omit<DeviceHost, "systemdVersion">;
}

/** "252.38-1~deb12u1", "v239", "239 (239-41.el8)" -> the major version; 0 when unreadable. */
export function parseSystemdVersion(text: unknown): number {
  const m = /^v?(\d+)/.exec(String(text ?? "").trim());
  return m ? Number(m[1]) : 0;
}

const versions = new WeakMap<SystemdSession, number>();
/**
 * systemd's version (the Manager's Version property), once per session. Unreadable counts as
 * 0: the pre-240 DeviceAllow syntax, which later versions still accept.
 */
export async function systemdVersion(s: SystemdSession): Promise<number> {
  const known = versions.get(s);
  if (known !== undefined) return known;
  let v = 0;
  try {
    const [variant] = await s.bus.call("Get", "ss", [MANAGER, "Version"], PROPERTIES);
    v = parseSystemdVersion((variant as { value?: unknown } | undefined)?.value ?? variant);
  } catch {
    /* an old or odd systemd: the old syntax */
  }
  versions.set(s, v);
  return v;
}

const hostDevices: Omit<DeviceHost, "systemdVersion"> = {
  procDevices: () => readFileSync("/proc/devices", "utf8"),
  exists: (p) => existsSync(p),
};

/**
 * StartTransientUnit(name, "replace", properties, aux=[]) and wait for its job. A unit of that
 * name left behind failed is reset and the start tried once more (runc does the same).
 * Returns what of linux.resources is left for the fs driver.
 */
export async function startUnit(s: SystemdSession, req: StartUnitRequest): Promise<Resources | undefined> {
  const { props: resProps, rest } = unitResourceProperties(req.resources, req.mode);
  const devices = unitDeviceProperties(req.resources?.devices, req.mode, {
    ...(req.deviceHost ?? hostDevices),
    systemdVersion: await systemdVersion(s),
  });
  for (const w of devices.warnings) req.warn?.(w);
  const props = [...baseUnitProperties(req), ...resProps, ...devices.props];
  const body = () => [req.unit, "replace", encodeProps(s.variant, props), []];
  let result: string;
  try {
    result = await s.bus.job("StartTransientUnit", "ssa(sv)a(sa(sv))", body());
  } catch (err) {
    const e = asSystemdError("StartTransientUnit", req.unit, err, props);
    if (e.dbusName !== "org.freedesktop.systemd1.UnitExists") throw e;
    await s.bus.call("ResetFailedUnit", "s", [req.unit]).catch(() => undefined);
    try {
      result = await s.bus.job("StartTransientUnit", "ssa(sv)a(sa(sv))", body());
    } catch (err2) {
      throw asSystemdError("StartTransientUnit", req.unit, err2, props);
    }
  }
  if (result !== "done") {
    await s.bus.call("ResetFailedUnit", "s", [req.unit]).catch(() => undefined);
    throw new SystemdError("StartTransientUnit", req.unit, "", `the job finished "${result}" (see journalctl -u ${req.unit})`);
  }
  return rest;
}

/** SetUnitProperties(name, runtime=true, properties) for update; returns what is left for files. */
export async function setUnitResources(
  s: SystemdSession,
  unit: string,
  res: Resources,
  mode: CgroupLayout["mode"],
): Promise<Resources | undefined> {
  const { props, rest } = unitResourceProperties(res, mode);
  if (props.length) {
    try {
      await s.bus.call("SetUnitProperties", "sba(sv)", [unit, true, encodeProps(s.variant, props)]);
    } catch (err) {
      throw asSystemdError("SetUnitProperties", unit, err, props);
    }
  }
  return rest;
}

/**
 * StopUnit(name, "replace") and wait (systemd kills what is left in the scope and removes its
 * cgroup), then ResetFailedUnit so a failed unit does not linger. A unit already gone is fine.
 */
export async function stopUnit(s: SystemdSession, unit: string): Promise<void> {
  try {
    const result = await s.bus.job("StopUnit", "ss", [unit, "replace"]);
    if (result !== "done") throw new SystemdError("StopUnit", unit, "", `the job finished "${result}"`);
  } catch (err) {
    if (err instanceof SystemdError) throw err;
    const e = asSystemdError("StopUnit", unit, err);
    if (e.dbusName !== "org.freedesktop.systemd1.NoSuchUnit") throw e;
  }
  await s.bus.call("ResetFailedUnit", "s", [unit]).catch(() => undefined);
}

/**
 * The v1 hierarchies systemd realizes a unit's cgroup in (so it also removes them): those whose
 * controllers are all ones systemd manages on v1, and its own name=systemd. berth keeps making
 * and removing the others (cpuset, freezer, net_cls, hugetlb, ...).
 */
const SYSTEMD_V1 = new Set(["cpu", "cpuacct", "blkio", "memory", "devices", "pids", "name=systemd"]);
export function systemdOwnsHierarchy(data: string): boolean {
  const opts = data.split(",").filter((o) => o && o !== "none" && o !== "xattr");
  return opts.length > 0 && opts.every((o) => SYSTEMD_V1.has(o));
}
