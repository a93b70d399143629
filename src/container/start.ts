/**
 * start: let berth-init exec the user's program, by writing one byte to the exec fifo it is
 * blocked reading (runtime.md "start"). O_NONBLOCK: with no reader left (berth-init died) the
 * open fails with ENXIO at once instead of blocking forever.
 */
import { closeSync, constants, openSync, unlinkSync, writeSync } from "node:fs";
import { BerthError } from "../errors";
import type { Runtime } from "./runtime";
import { liveStatus } from "./status";

export function start(rt: Runtime, id: string): void {
  rt.store.withLock("start", id, () => {
    const record = rt.store.read("start", id);
    const status = liveStatus(rt.store, record);
    if (status === "stopped") throw new BerthError({ op: "start", id, reason: "cannot start a container that has stopped" });
    if (status !== "created") throw new BerthError({ op: "start", id, reason: `cannot start an already ${status} container` });
    const fifo = rt.store.fifoPath(id);
    let fd: number;
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "EIO";
      if (code === "ENXIO") throw new BerthError({ op: "start", id, reason: "container not running: its init process is gone" });
      throw new BerthError({ op: "start", id, field: fifo, reason: "open", errno: code });
    }
    try {
      writeSync(fd, Buffer.from([0]));
    } finally {
      closeSync(fd);
    }
    // Once the fifo is gone the container reads as running; berth-init already holds its fd.
    unlinkSync(fifo);
    rt.store.write({ ...record, status: "running" });
  });
}
