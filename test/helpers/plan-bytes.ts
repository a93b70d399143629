/**
 * Reading and splicing an encoded plan (the wire format of src/plan/abi.ts), for fault
 * injection: a test wraps the native surface's `launch` and puts an op that is sure to fail at
 * index N of the real plan, so the failure happens in berth-init, exactly where op N would
 * run, and create's own code maps it back to op N's config origin.
 *
 * Only the op framing is parsed (u16 tag | u16 argCount | u32 argBytes | args); arguments
 * are carried as bytes.
 */
import { encodePlan, opTable, type OpName, type PlanOp } from "../../src/plan";

const HEADER = 16;
const tagNames = new Map<number, OpName>(Object.entries(opTable).map(([name, [tag]]) => [tag, name as OpName]));

interface Frame {
  tag: number;
  start: number;
  end: number;
}

function frames(plan: Uint8Array): Frame[] {
  const buf = Buffer.from(plan.buffer, plan.byteOffset, plan.byteLength);
  const count = buf.readUInt32LE(8);
  if (buf.readUInt32LE(12) !== buf.length) throw new Error(`plan: totalLength ${buf.readUInt32LE(12)} but ${buf.length} bytes`);
  const out: Frame[] = [];
  let off = HEADER;
  for (let i = 0; i < count; i++) {
    const tag = buf.readUInt16LE(off);
    const argBytes = buf.readUInt32LE(off + 4);
    out.push({ tag, start: off, end: off + 8 + argBytes });
    off += 8 + argBytes;
  }
  if (off !== buf.length) throw new Error(`plan: ${buf.length - off} bytes after the last op`);
  return out;
}

/** The op names of an encoded plan, in order. */
export function planOpNames(plan: Uint8Array): OpName[] {
  return frames(plan).map((f) => {
    const name = tagNames.get(f.tag);
    if (!name) throw new Error(`plan: unknown tag ${f.tag}`);
    return name;
  });
}

/**
 * The plan with `op` inserted at `index`, before the op that was there: it runs exactly
 * where op `index` would, after every op before it, so a failure reported at `index` is
 * mapped by create to its real op `index`. Inserting rather than replacing keeps the plan's
 * meaning otherwise: berth-init resolves every "in root" path against the plan's pivotRoot
 * (native/init/cmd-run.cc find_rootfs), and a plan with that op replaced would run its mounts
 * against "/" instead.
 */
export function insertPlanOp(plan: Uint8Array, index: number, op: Omit<PlanOp, "origin">): Buffer {
  const buf = Buffer.from(plan.buffer, plan.byteOffset, plan.byteLength);
  const f = frames(plan)[index];
  if (!f) throw new Error(`plan: no op ${index}`);
  const inserted = encodePlan([{ ...op, origin: "(fault injection)" }]).subarray(HEADER);
  const out = Buffer.concat([buf.subarray(0, f.start), inserted, buf.subarray(f.start)]);
  out.writeUInt32LE(buf.readUInt32LE(8) + 1, 8);
  out.writeUInt32LE(out.length, 12);
  return out;
}
