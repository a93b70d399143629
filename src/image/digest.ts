/** sha256 digests ("sha256:<64 hex>") of files, buffers and streams. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export async function sha256File(path: string): Promise<{ digest: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${h.digest("hex")}`, size };
}

export function hex(digest: string): string {
  return digest.slice("sha256:".length);
}

export function shortId(digest: string): string {
  return hex(digest).slice(0, 12);
}
