/**
 * The shim's ttrpc framing (src/shim/ttrpc.ts) and protobuf messages (src/shim/proto.ts): bytes
 * checked by hand against the wire format, frames cut at every possible point, and a real
 * server on a unix socket answering known, unknown, failing and malformed calls.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { any, decode, encode, timestamp } from "../../src/shim/proto";
import {
  Code,
  encodeFrame,
  encodeRequest,
  FrameDecoder,
  FrameType,
  HEADER_LENGTH,
  MAX_DATA_LENGTH,
  TtrpcError,
  TtrpcServer,
  ttrpcCall,
  type Handler,
} from "../../src/shim/ttrpc";
import { parseFlags, socketPath } from "../../src/shim/flags";
import { killedDeleteResponse } from "../../src/shim/entry";

describe("ttrpc frames", () => {
  test("header: length and stream id big-endian, then type and flags", () => {
    const f = encodeFrame(0x01020305, FrameType.request, 0x02, Buffer.from("abc"));
    expect([...f]).toEqual([0, 0, 0, 3, 1, 2, 3, 5, 1, 2, 0x61, 0x62, 0x63]);
    expect(f.length).toBe(HEADER_LENGTH + 3);
  });

  test("an empty frame is the header alone", () => {
    expect([...encodeFrame(1, FrameType.response, 0, Buffer.alloc(0))]).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 2, 0]);
  });

  test("decoder: every split of two frames gives the same two frames", () => {
    const bytes = Buffer.concat([encodeFrame(1, 1, 0, Buffer.from("first")), encodeFrame(3, 2, 1, Buffer.from("second!"))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      expect(frames.map((f) => [f.streamId, f.type, f.flags, f.data.toString()])).toEqual([
        [1, 1, 0, "first"],
        [3, 2, 1, "second!"],
      ]);
      expect(d.buffered).toBe(0);
    }
  });

  test("decoder: byte by byte", () => {
    const bytes = encodeFrame(7, 3, 1, Buffer.from("xyz"));
    const d = new FrameDecoder();
    const frames = [];
    for (const b of bytes) frames.push(...d.push(Buffer.from([b])));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data.toString()).toBe("xyz");
  });

  test("decoder: a length over 4 MiB is refused", () => {
    const head = Buffer.alloc(HEADER_LENGTH);
    head.writeUInt32BE(MAX_DATA_LENGTH + 1, 0);
    expect(() => new FrameDecoder().push(head)).toThrow(/exceeds/);
    expect(() => encodeFrame(1, 1, 0, Buffer.alloc(MAX_DATA_LENGTH + 1))).toThrow(TtrpcError);
  });
});

describe("protobuf messages", () => {
  test("ttrpc.Request: service (1), method (2), payload (3) as length-delimited fields", () => {
    const bytes = encodeRequest("s", "m", Buffer.from([9]));
    expect([...bytes]).toEqual([0x0a, 1, 0x73, 0x12, 1, 0x6d, 0x1a, 1, 9]);
    expect(decode("ttrpc.Request", bytes)).toMatchObject({ service: "s", method: "m", payload: Buffer.from([9]) });
  });

  test("ttrpc.Response with a status: field 1 holds code (1) and message (2)", () => {
    const bytes = encode("ttrpc.Response", { status: { code: 5, message: "no" } });
    expect([...bytes]).toEqual([0x0a, 6, 0x08, 5, 0x12, 2, 0x6e, 0x6f]);
  });

  test("CreateTaskRequest round trip, with rootfs mounts and an Any", () => {
    const req = {
      id: "c1",
      bundle: "/b",
      rootfs: [{ type: "overlay", source: "overlay", target: "", options: ["lowerdir=/l", "upperdir=/u"] }],
      terminal: false,
      stdin: "",
      stdout: "/f/1",
      stderr: "/f/2",
      checkpoint: "",
      parent_checkpoint: "",
      options: { type_url: "x", value: Buffer.from([1]) },
    };
    expect(decode("containerd.task.v2.CreateTaskRequest", encode("containerd.task.v2.CreateTaskRequest", req))).toEqual(req);
  });

  test("WaitResponse: exit_status (1) as a varint and exited_at (2) as a Timestamp", () => {
    const at = new Date(1_700_000_000_123);
    const bytes = encode("containerd.task.v2.WaitResponse", { exit_status: 137, exited_at: timestamp(at) });
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0x08, 0x89, 0x01]));
    const back = decode<{ exit_status: number; exited_at: { seconds: string; nanos: number } }>("containerd.task.v2.WaitResponse", bytes);
    expect(back).toEqual({ exit_status: 137, exited_at: { seconds: "1700000000", nanos: 123_000_000 } });
  });

  test("an event as an Any: the type url is the message's full name", () => {
    const a = any("containerd.events.TaskExit", { container_id: "c", id: "c", pid: 42, exit_status: 3 });
    expect(a.type_url).toBe("containerd.events.TaskExit");
    const outer = decode<{ type_url: string; value: Buffer }>("google.protobuf.Any", encode("google.protobuf.Any", a));
    expect(decode("containerd.events.TaskExit", outer.value)).toMatchObject({ container_id: "c", pid: 42, exit_status: 3 });
  });

  test("unknown fields are skipped (a newer containerd's extra fields)", () => {
    const withExtra = Buffer.concat([encode("containerd.task.v2.StateRequest", { id: "c" }), Buffer.from([0x9a, 0x06, 1, 0x41])]); // field 99, "A"
    expect(decode("containerd.task.v2.StateRequest", withExtra)).toEqual({ id: "c", exec_id: "" });
  });
});

describe("ttrpc server", () => {
  let dir: string;
  let server: TtrpcServer;
  let path: string;
  const logged: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-ttrpc-"));
    path = join(dir, "s.sock");
    const handlers = new Map<string, Handler>([
      ["svc/Echo", async (p) => p],
      ["svc/Fail", async () => Promise.reject(new TtrpcError(Code.notFound, "nothing here"))],
      ["svc/Crash", async () => Promise.reject(new Error("boom"))],
      ["svc/Slow", async (p) => new Promise((r) => setTimeout(() => r(p), 50))],
    ]);
    server = new TtrpcServer(handlers, (m) => logged.push(m));
    await server.listen(path);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a known method answers with its payload", async () => {
    expect((await ttrpcCall(path, "svc", "Echo", Buffer.from("hi"))).toString()).toBe("hi");
  });

  test("an unknown method or service: status Unimplemented, and the server goes on", async () => {
    await expect(ttrpcCall(path, "svc", "Nope", Buffer.alloc(0))).rejects.toMatchObject({ code: Code.unimplemented });
    await expect(ttrpcCall(path, "other", "Echo", Buffer.alloc(0))).rejects.toMatchObject({ code: Code.unimplemented });
    expect((await ttrpcCall(path, "svc", "Echo", Buffer.from("after"))).toString()).toBe("after");
  });

  test("a handler's TtrpcError keeps its code; any other error is Unknown with its message", async () => {
    await expect(ttrpcCall(path, "svc", "Fail", Buffer.alloc(0))).rejects.toMatchObject({ code: Code.notFound, message: "nothing here" });
    await expect(ttrpcCall(path, "svc", "Crash", Buffer.alloc(0))).rejects.toMatchObject({ code: Code.unknown, message: "boom" });
  });

  test("calls on one connection are answered by stream id, in any order", async () => {
    const sock = createConnection(path);
    await new Promise((r) => sock.once("connect", r));
    const d = new FrameDecoder();
    const got: [number, string][] = [];
    const done = new Promise<void>((resolve) =>
      sock.on("data", (c: Buffer) => {
        for (const f of d.push(c)) got.push([f.streamId, decode<{ payload: Buffer }>("ttrpc.Response", f.data).payload.toString()]);
        if (got.length === 2) resolve();
      }),
    );
    // Both requests in one write: the slow one first.
    sock.write(
      Buffer.concat([
        encodeFrame(1, FrameType.request, 0, encodeRequest("svc", "Slow", Buffer.from("slow"))),
        encodeFrame(3, FrameType.request, 0, encodeRequest("svc", "Echo", Buffer.from("fast"))),
      ]),
    );
    await done;
    sock.destroy();
    expect(got).toEqual([
      [3, "fast"],
      [1, "slow"],
    ]);
  });

  test("a request that is not a ttrpc.Request: InvalidArgument on that stream", async () => {
    const sock = createConnection(path);
    await new Promise((r) => sock.once("connect", r));
    const reply = new Promise<Buffer>((resolve) => {
      const d = new FrameDecoder();
      sock.on("data", (c: Buffer) => {
        const f = d.push(c)[0];
        if (f) resolve(f.data);
      });
    });
    sock.write(encodeFrame(5, FrameType.request, 0, Buffer.from([0xff, 0xff, 0xff])));
    const res = decode<{ status: { code: number } }>("ttrpc.Response", await reply);
    sock.destroy();
    expect(res.status.code).toBe(Code.invalidArgument);
  });
});

describe("shim command line", () => {
  test("containerd's flags in Go's syntax, then the action", () => {
    expect(
      parseFlags([
        "-namespace",
        "k8s.io",
        "-address",
        "/run/c.sock",
        "-publish-binary",
        "/usr/bin/containerd",
        "-id",
        "c1",
        "-debug",
        "start",
      ]),
    ).toMatchObject({
      namespace: "k8s.io",
      address: "/run/c.sock",
      publishBinary: "/usr/bin/containerd",
      id: "c1",
      debug: true,
      action: "start",
    });
    expect(parseFlags(["--namespace=ns", "-id=x", "-bundle", "/b", "delete"])).toMatchObject({
      namespace: "ns",
      id: "x",
      bundle: "/b",
      action: "delete",
    });
    expect(parseFlags(["-namespace", "ns", "-id", "x"]).action).toBe("");
    expect(() => parseFlags(["-nope"])).toThrow(/not defined/);
    expect(() => parseFlags(["-id"])).toThrow(/needs an argument/);
  });

  test("delete's DeleteResponse, encoded by hand in the entry, is what protobufjs makes", () => {
    const now = new Date(1_765_000_000_987);
    const byLibrary = encode("containerd.task.v2.DeleteResponse", { pid: 0, exit_status: 137, exited_at: timestamp(now) });
    expect(killedDeleteResponse(now)).toEqual(byLibrary);
  });

  test("one socket per (containerd, namespace, group), short enough for sun_path", () => {
    const a = socketPath("/run/containerd/containerd.sock", "default", "pod1");
    expect(a).toMatch(/^\/run\/containerd\/s\/[0-9a-f]{64}$/);
    expect(a.length).toBeLessThan(108);
    expect(socketPath("/run/containerd/containerd.sock", "default", "pod1")).toBe(a);
    expect(socketPath("/run/containerd/containerd.sock", "other", "pod1")).not.toBe(a);
  });
});
