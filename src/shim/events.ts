/**
 * Events for containerd, one at a time, in the order the shim emitted them, so that containerd
 * never sees a task's exit before its start. Two ways, as containerd 1.6 offers both:
 *
 *   - containerd's event service on its ttrpc socket (the TTRPC_ADDRESS containerd puts in the
 *     shim's environment): Events.Forward with the event in an envelope. No process per event.
 *   - the publish binary containerd names with -publish-binary (containerd itself):
 *     `<binary> --address <containerd> publish --topic T --namespace N`, the event as an encoded
 *     google.protobuf.Any on its stdin. Used without TTRPC_ADDRESS, or when Forward fails.
 *
 * A publish that fails both ways is logged and dropped: the task service's answers are what
 * containerd relies on.
 */
import { spawn } from "node:child_process";
import { any, encode, timestamp } from "./proto";
import { ttrpcCall } from "./ttrpc";

/** Topic of each event type (containerd's names). */
export const topics = {
  TaskCreate: "/tasks/create",
  TaskStart: "/tasks/start",
  TaskExit: "/tasks/exit",
  TaskDelete: "/tasks/delete",
  TaskExecAdded: "/tasks/exec-added",
  TaskExecStarted: "/tasks/exec-started",
  TaskPaused: "/tasks/paused",
  TaskResumed: "/tasks/resumed",
  TaskOOM: "/tasks/oom",
} as const;
export type EventName = keyof typeof topics;

export interface PublisherOptions {
  /** containerd's ttrpc socket (TTRPC_ADDRESS), or "" */
  ttrpcAddress: string;
  binary: string;
  address: string;
  namespace: string;
  log: (message: string) => void;
}

export class Publisher {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PublisherOptions) {}

  /** Queue one event; resolves when it has been handed to containerd (or given up on). */
  publish(name: EventName, event: Record<string, unknown>): Promise<void> {
    const wrapped = any(`containerd.events.${name}`, event);
    const at = new Date();
    const next = this.queue
      .then(() => this.forward(topics[name], wrapped, at))
      .then((sent) => (sent ? undefined : this.send(topics[name], encode("google.protobuf.Any", wrapped))));
    this.queue = next;
    return next;
  }

  /** Resolves once every queued event has been sent. */
  drain(): Promise<void> {
    return this.queue;
  }

  /** Events.Forward on containerd's ttrpc socket; false when it could not be done. */
  private async forward(topic: string, event: { type_url: string; value: Buffer }, at: Date): Promise<boolean> {
    const { ttrpcAddress, namespace, log } = this.opts;
    if (!ttrpcAddress) return false;
    const req = encode("containerd.services.events.ttrpc.v1.ForwardRequest", {
      envelope: { timestamp: timestamp(at), namespace, topic, event },
    });
    try {
      await ttrpcCall(ttrpcAddress.replace(/^unix:\/\//, ""), "containerd.services.events.ttrpc.v1.Events", "Forward", req, 5000);
      return true;
    } catch (err) {
      log(`forward ${topic} to ${ttrpcAddress}: ${(err as Error).message}; trying the publish binary`);
      return false;
    }
  }

  private send(topic: string, payload: Buffer): Promise<void> {
    const { binary, address, namespace, log } = this.opts;
    if (!binary) return Promise.resolve();
    return new Promise((resolve) => {
      const child = spawn(binary, ["--address", address, "publish", "--topic", topic, "--namespace", namespace], {
        stdio: ["pipe", "ignore", "pipe"],
      });
      let err = "";
      child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      child.on("error", (e) => {
        log(`publish ${topic}: ${e.message}`);
        resolve();
      });
      child.on("close", (code) => {
        if (code !== 0) log(`publish ${topic}: exit ${code}: ${err.trim()}`);
        resolve();
      });
      child.stdin!.on("error", () => undefined);
      child.stdin!.end(payload);
    });
  }
}
