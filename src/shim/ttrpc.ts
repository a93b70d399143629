/**
 * ttrpc, the small RPC protocol containerd speaks to its shims, over a unix stream socket.
 *
 * A frame is a 10-byte header and its data:
 *
 *   bytes 0-3  data length, big-endian (at most 4 MiB, so byte 0 is always 0)
 *   bytes 4-7  stream id, big-endian (odd: opened by the client)
 *   byte  8    type: 1 request, 2 response, 3 data (streams; berth serves unary calls only)
 *   byte  9    flags (for requests: 1 remote closed, 2 remote open; none on a unary call)
 *
 * A unary call is one request frame (a ttrpc.Request: service, method, payload) and one response
 * frame on the same stream id (a ttrpc.Response: a status, or the payload on success). Calls on
 * one connection may be answered in any order. The status codes are gRPC's.
 *
 * Both ends are here: `TtrpcServer` (the shim's Task service) and `ttrpcCall` (a one-shot
 * client: the shim's `start` probing a shared shim, and the tests).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { decode, encode } from "./proto";

export const HEADER_LENGTH = 10;
export const MAX_DATA_LENGTH = 4 << 20;
export const FrameType = { request: 1, response: 2, data: 3 } as const;

/** gRPC status codes the shim answers with. */
export const Code = {
  ok: 0,
  unknown: 2,
  invalidArgument: 3,
  notFound: 5,
  alreadyExists: 6,
  failedPrecondition: 9,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
} as const;

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  data: Buffer;
}

/** One frame's bytes. */
export function encodeFrame(streamId: number, type: number, flags: number, data: Uint8Array): Buffer {
  if (data.length > MAX_DATA_LENGTH)
    throw new TtrpcError(Code.invalidArgument, `ttrpc: message of ${data.length} bytes exceeds the ${MAX_DATA_LENGTH}-byte limit`);
  const out = Buffer.allocUnsafe(HEADER_LENGTH + data.length);
  out.writeUInt32BE(data.length, 0);
  out.writeUInt32BE(streamId >>> 0, 4);
  out.writeUInt8(type, 8);
  out.writeUInt8(flags, 9);
  out.set(data, HEADER_LENGTH);
  return out;
}

/**
 * Cuts a byte stream into frames. `push` takes whatever the socket delivered (a frame may come
 * in pieces, or several in one chunk) and returns the frames completed so far. A length over
 * the limit throws: the peer is not speaking ttrpc and the connection must be dropped.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.size += chunk.length;
    const frames: Frame[] = [];
    while (this.size >= HEADER_LENGTH) {
      const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.size);
      this.pending = [buf];
      const length = buf.readUInt32BE(0);
      if (length > MAX_DATA_LENGTH)
        throw new TtrpcError(Code.invalidArgument, `ttrpc: frame of ${length} bytes exceeds the ${MAX_DATA_LENGTH}-byte limit`);
      if (buf.length < HEADER_LENGTH + length) break;
      frames.push({
        streamId: buf.readUInt32BE(4),
        type: buf.readUInt8(8),
        flags: buf.readUInt8(9),
        data: Buffer.from(buf.subarray(HEADER_LENGTH, HEADER_LENGTH + length)),
      });
      const rest = buf.subarray(HEADER_LENGTH + length);
      this.pending = rest.length ? [rest] : [];
      this.size = rest.length;
    }
    return frames;
  }

  /** Bytes received that do not yet make a whole frame. */
  get buffered(): number {
    return this.size;
  }
}

/** An error with a gRPC status code; what a handler throws to choose the code the caller sees. */
export class TtrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestMessage {
  service: string;
  method: string;
  payload: Buffer;
}

export function encodeRequest(service: string, method: string, payload: Uint8Array): Buffer {
  return encode("ttrpc.Request", { service, method, payload });
}

export function encodeResponse(result: { payload: Uint8Array } | { code: number; message: string }): Buffer {
  if ("payload" in result) return encode("ttrpc.Response", { payload: result.payload });
  return encode("ttrpc.Response", { status: { code: result.code, message: result.message } });
}

/** A unary method: the request's payload in, the response's payload out (or a throw). */
export type Handler = (payload: Buffer) => Promise<Uint8Array>;

/**
 * A ttrpc server for unary calls. `handlers` is keyed by "service/method", e.g.
 * "containerd.task.v2.Task/Create". An unknown method, a malformed request and a throwing
 * handler all become error statuses on that stream; none ends the server or the connection,
 * except bytes that cannot be framed at all.
 */
export class TtrpcServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly handlers: Map<string, Handler>,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /** Listen on a unix socket path, or on a listening socket this process was given ({fd}). */
  listen(path: string | { fd: number }): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  /** Stop accepting, and end the connections. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", (err) => this.log(`ttrpc: connection: ${err.message}`));
    const decoder = new FrameDecoder();
    socket.on("data", (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        this.log(`ttrpc: dropping a connection: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      for (const f of frames) void this.dispatch(socket, f);
    });
  }

  private async dispatch(socket: Socket, frame: Frame): Promise<void> {
    if (frame.type !== FrameType.request) {
      // Data frames belong to streaming calls, which no method here has: ignore them.
      if (frame.type !== FrameType.data) this.log(`ttrpc: ignoring a frame of type ${frame.type} on stream ${frame.streamId}`);
      return;
    }
    let reply: Buffer;
    try {
      let req: RequestMessage;
      try {
        req = decode<RequestMessage>("ttrpc.Request", frame.data);
      } catch (err) {
        throw new TtrpcError(Code.invalidArgument, `ttrpc: malformed request: ${(err as Error).message}`);
      }
      this.log(`debug: ttrpc: stream ${frame.streamId}: ${req.service}/${req.method}`);
      const handler = this.handlers.get(`${req.service}/${req.method}`);
      if (!handler) throw new TtrpcError(Code.unimplemented, `ttrpc: no method ${req.method} in service ${req.service}`);
      reply = encodeResponse({ payload: await handler(req.payload) });
    } catch (err) {
      const code = err instanceof TtrpcError ? err.code : Code.unknown;
      const message = err instanceof Error ? err.message : String(err);
      if (!(err instanceof TtrpcError)) this.log(`ttrpc: handler failed: ${err instanceof Error ? (err.stack ?? message) : message}`);
      reply = encodeResponse({ code, message });
    }
    if (!socket.destroyed) socket.write(encodeFrame(frame.streamId, FrameType.response, 0, reply));
  }
}

/**
 * One unary call on a new connection to `path`: resolves with the response payload, or rejects
 * with a TtrpcError carrying the status. Used where one call is all that is needed.
 */
export function ttrpcCall(path: string, service: string, method: string, payload: Uint8Array, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const decoder = new FrameDecoder();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TtrpcError(Code.unavailable, `ttrpc: no answer from ${path} in ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (err: Error | undefined, value?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    socket.on("error", (err) => done(err));
    socket.on("connect", () => socket.write(encodeFrame(1, FrameType.request, 0, encodeRequest(service, method, payload))));
    socket.on("data", (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        done(err as Error);
        return;
      }
      const f = frames.find((x) => x.streamId === 1 && x.type === FrameType.response);
      if (!f) return;
      const res = decode<{ status?: { code: number; message: string } | null; payload: Buffer }>("ttrpc.Response", f.data);
      if (res.status && res.status.code !== Code.ok) done(new TtrpcError(res.status.code, res.status.message));
      else done(undefined, res.payload);
    });
    socket.on("close", () => done(new TtrpcError(Code.unavailable, `ttrpc: ${path} closed the connection without an answer`)));
  });
}
