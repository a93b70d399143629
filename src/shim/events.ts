/**
 * Events for containerd, sent through the publish binary containerd names with -publish-binary
 * (containerd itself): `<binary> --address <containerd> publish --topic T --namespace N`, with
 * the event as an encoded google.protobuf.Any on its stdin. One at a time, in the order the shim
 * emitted them, so that containerd never sees a task's exit before its start. A failed publish
 * is logged and dropped: the task service's answers are what containerd relies on.
 */
import { spawn } from "node:child_process";
import { any, encode } from "./proto";

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
    const payload = encode("google.protobuf.Any", any(`containerd.events.${name}`, event));
    const next = this.queue.then(() => this.send(topics[name], payload));
    this.queue = next;
    return next;
  }

  /** Resolves once every queued event has been sent. */
  drain(): Promise<void> {
    return this.queue;
  }

  private send(topic: string, payload: Buffer): Promise<void> {
    const { binary, address, namespace, log } = this.opts;
    if (!binary) return Promise.resolve();
    return new Promise((resolve) => {
      const child = spawn(binary, ["--address", address, "publish", "--topic", topic, "--namespace", namespace], { stdio: ["pipe", "ignore", "pipe"] });
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
