/**
 * LaunchPlan -> bytes, in the format of abi.ts / native/abi/plan-abi.h. Pure.
 */
import { ArgKind, opTable, PLAN_MAGIC, PLAN_VERSION, type KindLetter, type OpName } from "./abi";

export type ArgValue = number | bigint | string | string[] | Uint8Array | number[];

/** One step of a plan: the op, its arguments, and the config field it came from. */
export interface PlanOp {
  op: OpName;
  args: ArgValue[];
  /** Config origin: "mounts[3]", "process.capabilities.bounding", "(runtime)" ... */
  origin: string;
}

class Writer {
  private chunks: Buffer[] = [];
  private size = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
  }
  u8(v: number): void {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    this.push(b);
  }
  u16(v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    this.push(b);
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(v));
    this.push(b);
  }
  str(s: string, where: string): void {
    const b = Buffer.from(s, "utf8");
    if (b.includes(0)) throw new Error(`${where}: a NUL byte cannot be passed to the kernel`);
    this.u32(b.length);
    this.push(b);
  }
  get length(): number {
    return this.size;
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

function encodeArg(w: Writer, kind: KindLetter, value: ArgValue, where: string): void {
  w.u8(ArgKind[kind]);
  switch (kind) {
    case "i":
      if (typeof value !== "number" && typeof value !== "bigint") throw new Error(`${where}: expected an int`);
      w.i64(value);
      return;
    case "s":
      if (typeof value !== "string") throw new Error(`${where}: expected a string`);
      w.str(value, where);
      return;
    case "S":
      if (!Array.isArray(value)) throw new Error(`${where}: expected strings`);
      w.u32(value.length);
      for (const s of value) w.str(String(s), where);
      return;
    case "b":
      if (!(value instanceof Uint8Array)) throw new Error(`${where}: expected bytes`);
      w.u32(value.length);
      w.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      return;
    case "I":
      if (!Array.isArray(value)) throw new Error(`${where}: expected ints`);
      w.u32(value.length);
      for (const n of value) w.i64(n as number);
      return;
  }
}

export function encodePlan(ops: readonly PlanOp[]): Buffer {
  const body = new Writer();
  ops.forEach((op, index) => {
    const [tag, signature] = opTable[op.op];
    const where = `plan op ${index} (${op.op}, from ${op.origin})`;
    if (op.args.length !== signature.length) throw new Error(`${where}: ${op.args.length} arguments, signature "${signature}"`);
    const args = new Writer();
    op.args.forEach((a, i) => encodeArg(args, signature[i] as KindLetter, a, where));
    body.u16(tag);
    body.u16(op.args.length);
    body.u32(args.length);
    body.push(args.concat());
  });
  const header = Buffer.alloc(16);
  header.writeUInt32LE(PLAN_MAGIC, 0);
  header.writeUInt16LE(PLAN_VERSION, 4);
  header.writeUInt16LE(0, 6);
  header.writeUInt32LE(ops.length, 8);
  header.writeUInt32LE(16 + body.length, 12);
  return Buffer.concat([header, body.concat()]);
}
