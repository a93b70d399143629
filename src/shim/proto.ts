/**
 * The protobuf messages the shim speaks, written for berth from containerd's published API
 * (runtime v2 task service, task events, the cgroup v1 metrics type) and ttrpc's request and
 * response envelopes. Only the fields berth reads or writes are declared: protobuf skips unknown
 * fields when decoding, and a field left out is simply never sent. Field numbers and types are
 * the wire contract and must match containerd's.
 *
 * The definitions are parsed once, at load, by protobufjs (no generated code to keep in step).
 */
import * as protobuf from "protobufjs";

// One package per block (a .proto file declares one package); all are parsed into one root.
const blocks: string[] = [
  `syntax = "proto3";
package ttrpc;
message KeyValue { string key = 1; string value = 2; }
message Request { string service = 1; string method = 2; bytes payload = 3; int64 timeout_nano = 4; repeated KeyValue metadata = 5; }
message Status { int32 code = 1; string message = 2; }
message Response { Status status = 1; bytes payload = 2; }`,
  `syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message Empty {}`,
  `syntax = "proto3";
package containerd.types;
// A filesystem to mount for the container's rootfs, as the snapshotter describes it.
message Mount { string type = 1; string source = 2; string target = 3; repeated string options = 4; }`,
  `syntax = "proto3";
package containerd.v1.types;
enum Status { UNKNOWN = 0; CREATED = 1; RUNNING = 2; STOPPED = 3; PAUSED = 4; PAUSING = 5; }
message ProcessInfo { uint32 pid = 1; google.protobuf.Any info = 2; }`,
  `syntax = "proto3";
package containerd.task.v2;
message CreateTaskRequest {
  string id = 1; string bundle = 2; repeated containerd.types.Mount rootfs = 3; bool terminal = 4;
  string stdin = 5; string stdout = 6; string stderr = 7; string checkpoint = 8; string parent_checkpoint = 9;
  google.protobuf.Any options = 10;
}
message CreateTaskResponse { uint32 pid = 1; }
message DeleteRequest { string id = 1; string exec_id = 2; }
message DeleteResponse { uint32 pid = 1; uint32 exit_status = 2; google.protobuf.Timestamp exited_at = 3; }
message ExecProcessRequest { string id = 1; string exec_id = 2; bool terminal = 3; string stdin = 4; string stdout = 5; string stderr = 6; google.protobuf.Any spec = 7; }
message ResizePtyRequest { string id = 1; string exec_id = 2; uint32 width = 3; uint32 height = 4; }
message StateRequest { string id = 1; string exec_id = 2; }
message StateResponse {
  string id = 1; string bundle = 2; uint32 pid = 3; containerd.v1.types.Status status = 4;
  string stdin = 5; string stdout = 6; string stderr = 7; bool terminal = 8; uint32 exit_status = 9;
  google.protobuf.Timestamp exited_at = 10;
}
message KillRequest { string id = 1; string exec_id = 2; uint32 signal = 3; bool all = 4; }
message CloseIORequest { string id = 1; string exec_id = 2; bool stdin = 3; }
message PidsRequest { string id = 1; }
message PidsResponse { repeated containerd.v1.types.ProcessInfo processes = 1; }
message CheckpointTaskRequest { string id = 1; string path = 2; google.protobuf.Any options = 3; }
message UpdateTaskRequest { string id = 1; google.protobuf.Any resources = 2; }
message StartRequest { string id = 1; string exec_id = 2; }
message StartResponse { uint32 pid = 1; }
message WaitRequest { string id = 1; string exec_id = 2; }
message WaitResponse { uint32 exit_status = 1; google.protobuf.Timestamp exited_at = 2; }
message StatsRequest { string id = 1; }
message StatsResponse { google.protobuf.Any stats = 1; }
message ConnectRequest { string id = 1; }
message ConnectResponse { uint32 shim_pid = 1; uint32 task_pid = 2; string version = 3; }
message ShutdownRequest { string id = 1; bool now = 2; }
message PauseRequest { string id = 1; }
message ResumeRequest { string id = 1; }`,
  `syntax = "proto3";
package containerd.events;
message TaskIO { string stdin = 1; string stdout = 2; string stderr = 3; bool terminal = 4; }
message TaskCreate { string container_id = 1; string bundle = 2; repeated containerd.types.Mount rootfs = 3; TaskIO io = 4; string checkpoint = 5; uint32 pid = 6; }
message TaskStart { string container_id = 1; uint32 pid = 2; }
message TaskDelete { string container_id = 1; uint32 pid = 2; uint32 exit_status = 3; google.protobuf.Timestamp exited_at = 4; string id = 5; }
message TaskExit { string container_id = 1; string id = 2; uint32 pid = 3; uint32 exit_status = 4; google.protobuf.Timestamp exited_at = 5; }
message TaskOOM { string container_id = 1; }
message TaskExecAdded { string container_id = 1; string exec_id = 2; }
message TaskExecStarted { string container_id = 1; string exec_id = 2; uint32 pid = 3; }
message TaskPaused { string container_id = 1; }
message TaskResumed { string container_id = 1; }`,
  `syntax = "proto3";
package containerd.services.events.ttrpc.v1;
// containerd's event service on its ttrpc socket (TTRPC_ADDRESS): what a shim forwards its events to.
message Envelope { google.protobuf.Timestamp timestamp = 1; string namespace = 2; string topic = 3; google.protobuf.Any event = 4; }
message ForwardRequest { Envelope envelope = 1; }`,
  `syntax = "proto3";
package io.containerd.cgroups.v1;
message Metrics { PidsStat pids = 2; CPUStat cpu = 3; MemoryStat memory = 4; }
message PidsStat { uint64 current = 1; uint64 limit = 2; }
message CPUStat { CPUUsage usage = 1; Throttle throttling = 2; }
message CPUUsage { uint64 total = 1; uint64 kernel = 2; uint64 user = 3; repeated uint64 per_cpu = 4; }
message Throttle { uint64 periods = 1; uint64 throttled_periods = 2; uint64 throttled_time = 3; }
message MemoryStat { uint64 cache = 1; uint64 rss = 2; MemoryEntry usage = 33; MemoryEntry swap = 34; MemoryEntry kernel = 35; MemoryEntry kernel_tcp = 36; }
message MemoryEntry { uint64 limit = 1; uint64 usage = 2; uint64 max = 3; uint64 failcnt = 4; }`,
];

const root = new protobuf.Root();
for (const text of blocks) protobuf.parse(text, root, { keepCase: true });
root.resolveAll();

/** A message type by its full name, e.g. "containerd.task.v2.CreateTaskRequest". */
export function type(name: string): protobuf.Type {
  return root.lookupType(name);
}

/** Encode a plain object as `name` (fields by their proto names, snake_case). */
export function encode(name: string, value: Record<string, unknown>): Buffer {
  const t = type(name);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}

/** Decode `name` into a plain object: 64-bit integers as strings, enums as numbers, defaults filled in. */
export function decode<T = Record<string, unknown>>(name: string, bytes: Uint8Array): T {
  const t = type(name);
  return t.toObject(t.decode(bytes), { longs: String, defaults: true, arrays: true, bytes: Buffer }) as T;
}

/** google.protobuf.Timestamp of a Date (milliseconds precision, as Date has). */
export function timestamp(d: Date | undefined): { seconds: number; nanos: number } | undefined {
  if (!d) return undefined;
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/** An Any wrapping `name` encoded from `value`; type_url is the bare full name, as containerd's typeurl registers them. */
export function any(name: string, value: Record<string, unknown>): { type_url: string; value: Buffer } {
  return { type_url: name, value: encode(name, value) };
}

/** The task status enum (containerd.v1.types.Status). */
export const TaskStatus = { UNKNOWN: 0, CREATED: 1, RUNNING: 2, STOPPED: 3, PAUSED: 4, PAUSING: 5 } as const;
