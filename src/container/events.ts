/**
 * events: the container's resource usage in runc's event shape, once (--stats) or every
 * --interval until the container stops, with an {"type":"oom"} event when the kernel's OOM
 * killer has struck in the container's memory cgroup since the last look (the counter in
 * memory.events on v2, memory.oom_control on v1: an eventfd would need native help, and a
 * missed wake-up here only delays the event to the next tick).
 */
import { oomKills, statsJson, type ContainerStats } from "../cgroups";
import { BerthError } from "../errors";
import type { ContainerSummary } from "../state";
import { cgroupDriverOf } from "./cgroup-driver";
import { cgroupSetOf } from "./cgroup-of";
import { openInit } from "./kill";
import type { Runtime } from "./runtime";
import { liveStatus } from "./status";

export { statsJson };

export interface ContainerEvent {
  type: "stats" | "oom";
  id: string;
  data?: ContainerStats;
}

function running(rt: Runtime, id: string): ContainerSummary {
  const record = rt.store.readSummary("events", id);
  if (liveStatus(rt.store, record) === "stopped")
    throw new BerthError({ op: "events", id, code: "container-not-running", reason: `container with id ${id} is not running` });
  return record;
}

export function stats(rt: Runtime, id: string): ContainerEvent {
  const record = running(rt, id);
  return { type: "stats", id, data: cgroupDriverOf(rt, record).stats(cgroupSetOf(record)) };
}

/** How many times the kernel's OOM killer has struck in the container's memory cgroup. */
export function oomCount(rt: Runtime, id: string): bigint {
  return oomKills(cgroupSetOf(rt.store.readSummary("events", id)));
}

/** Go's time.ParseDuration for the units a user gives: "5s", "100ms", "1m30s", "1.5s". */
export function parseInterval(id: string, text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) break;
    ms += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  if (text === "" || pos !== text.length || ms <= 0)
    throw new BerthError({ op: "events", id, field: "--interval", value: text, reason: "must be a positive duration such as 5s or 500ms" });
  return ms;
}

/**
 * Emit stats every `intervalMs` (the first at once) and OOM events, until the container's
 * init exits (its pidfd says so, no polling of /proc) or `signal` aborts.
 *
 * Without `signal` (the CLI, which ends with the process) the exit is awaited on the pidfd,
 * which holds a threadpool thread until then. With one (the library, in a process that lives
 * on), an abort must not leave that thread behind, so the pidfd is polled without blocking,
 * every 100 ms at most.
 */
export async function events(
  rt: Runtime,
  id: string,
  intervalMs: number,
  emit: (e: ContainerEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const record = running(rt, id);
  const set = cgroupSetOf(record);
  const cgroups = cgroupDriverOf(rt, record);
  const pidfd = openInit(rt, record);
  if (pidfd === undefined)
    throw new BerthError({ op: "events", id, code: "container-not-running", reason: `container with id ${id} is not running` });
  let exited = false;
  const poll = signal ? rt.native.pidfdWait?.bind(rt.native) : undefined;
  let stopped = false; // the loop below is over: the poller must not touch the pidfd again
  const exit = poll
    ? (async () => {
        while (!stopped && !signal!.aborted && !poll(pidfd, 0)) await new Promise((r) => setTimeout(r, Math.min(100, intervalMs)));
        if (!stopped && !signal!.aborted) exited = true;
      })()
    : rt.native.pidfdPollExit(pidfd).then(() => {
        exited = true;
      });
  let ooms = oomKills(set);
  const checkOom = () => {
    const now = oomKills(set);
    if (now > ooms) emit({ type: "oom", id });
    ooms = now;
  };
  try {
    while (!exited && !signal?.aborted) {
      checkOom();
      emit({ type: "stats", id, data: cgroups.stats(set) });
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      await Promise.race([
        exit,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, intervalMs);
          onAbort = resolve;
          signal?.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
    // An OOM kill of the init itself is what ended the loop: say so before ending.
    checkOom();
  } finally {
    stopped = true;
    if (poll) await exit;
    rt.native.closeFd(pidfd);
  }
}
