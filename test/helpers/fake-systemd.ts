/**
 * A recording stand-in for systemd's Manager on D-Bus (the SystemdBus the driver talks to), for
 * unit tests without systemd: every method call and job is recorded with its exact member,
 * D-Bus signature and body; answers (a reply body, a job result, or a thrown D-Bus error) are
 * set per member. The session has no dbus-next variant builder, so unit properties arrive as
 * plain {signature, value} pairs: what the test asserts is what would be marshalled.
 */
import type { SystemdBus, SystemdSession } from "../../src/cgroups";

export interface BusCall {
  kind: "call" | "job";
  member: string;
  signature: string;
  body: unknown[];
  /** Only when not the Manager's interface (org.freedesktop.DBus.Properties for Get). */
  iface?: string;
}

/** A D-Bus error as dbus-next throws it: { type: "org.freedesktop.systemd1.NoSuchUnit", text }. */
export function dbusError(type: string, text: string): Error {
  return Object.assign(new Error(text), { type, text });
}

export class FakeSystemdBus implements SystemdBus {
  readonly via = "fake bus";
  calls: BusCall[] = [];
  closed = 0;
  /** Per member: a reply body (call) or job result (job); a function may also throw. */
  answers = new Map<string, (body: unknown[], nth: number) => unknown>();
  /** Called with "systemd.<member>" on each call (to interleave with a rollback Recorder). */
  onCall?: (name: string) => void;
  /** What the Manager's Version property says. */
  version = "252.38-1~deb12u1";

  private answer(member: string, body: unknown[]): unknown {
    const nth = this.calls.filter((c) => c.member === member).length - 1;
    const a = this.answers.get(member);
    return a ? a(body, nth) : undefined;
  }

  async call(member: string, signature: string, body: unknown[], iface?: string): Promise<unknown[]> {
    this.calls.push({ kind: "call", member, signature, body, ...(iface ? { iface } : {}) });
    this.onCall?.(`systemd.${member}`);
    if (member === "Get" && !this.answers.has("Get")) return [{ signature: "s", value: this.version }];
    return (this.answer(member, body) as unknown[] | undefined) ?? [];
  }

  async job(member: string, signature: string, body: unknown[]): Promise<string> {
    this.calls.push({ kind: "job", member, signature, body });
    this.onCall?.(`systemd.${member}`);
    return (this.answer(member, body) as string | undefined) ?? "done";
  }

  close(): void {
    this.closed++;
    this.onCall?.("systemd.close");
  }

  session(): SystemdSession {
    return { bus: this };
  }

  /** Calls other than the version query, as "kind member signature". */
  summary(): string[] {
    return this.calls.filter((c) => c.member !== "Get").map((c) => `${c.kind} ${c.member} ${c.signature}`);
  }
}

/** The a(sv) properties of a recorded StartTransientUnit / SetUnitProperties, as [name, signature, value]. */
export function propsOf(call: BusCall): [string, string, unknown][] {
  const list = call.body[2] as [string, { signature: string; value: unknown }][];
  return list.map(([name, v]) => [name, v.signature, v.value]);
}
