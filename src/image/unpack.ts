/**
 * Extracting tar archives safely (node-tar): an image layer into its own directory, with the
 * OCI whiteouts turned into overlayfs' forms, and an image archive (docker save, OCI layout tar)
 * into a staging directory. Every entry is checked before node-tar sees it; the first bad entry
 * stops the extraction and is reported by path. The caller extracts into a fresh temporary
 * directory and removes it on failure, so nothing half-written reaches the store.
 */
import { createHash } from "node:crypto";
import { createReadStream, lchownSync, mkdirSync, chmodSync } from "node:fs";
import { posix } from "node:path";
import { createGunzip } from "node:zlib";
import { Decompress as ZstdDecompress } from "fzstd";
import { Unpack, type ReadEntry } from "tar";
import { OPAQUE_MARKER, OPAQUE_XATTR, S_IFBLK, S_IFCHR, S_IFIFO, WHITEOUT_PREFIX, type LayerFs } from "./layer-fs";

/** A refused archive: what was wrong, and at which entry. */
export class ArchiveError extends Error {
  constructor(
    readonly reason: string,
    readonly entry?: string,
  ) {
    super(entry === undefined ? reason : `${entry}: ${reason}`);
  }
}

/** "./a/b/" -> "a/b"; "" for the archive's root. */
export function normalizeEntryPath(p: string): string {
  let s = p.replace(/\/+$/, "");
  while (s.startsWith("./")) s = s.slice(2);
  return s === "." ? "" : s;
}

/** Why an entry's path is refused (absolute, or climbing out with ".."), or undefined. */
export function badPath(p: string): string | undefined {
  if (p.startsWith("/")) return "absolute path in archive";
  if (p.split("/").includes("..")) return 'path traversal ("..") in archive';
  return undefined;
}

export type Compression = "gzip" | "zstd" | "none";

/** A layer's compression, from its first bytes (gzip 1f 8b; zstd's frame magic 28 b5 2f fd). */
export function compressionOf(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

export async function fileCompression(path: string): Promise<Compression> {
  for await (const chunk of createReadStream(path, { start: 0, end: 3 })) return compressionOf(chunk as Buffer);
  return "none";
}

/**
 * zstd-compressed chunks in, uncompressed chunks out (fzstd: Node 20's zlib has no zstd). Its
 * output may be a view of the decoder's window, which later input overwrites: each chunk is
 * copied before it is handed on.
 */
async function* zstdDecode(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  let ended = false;
  const decoder = new ZstdDecompress((data, final) => {
    if (data.length) out.push(Buffer.from(data));
    if (final) ended = true;
  });
  for await (const chunk of input) {
    decoder.push(chunk);
    while (out.length) yield out.shift()!;
  }
  decoder.push(new Uint8Array(0), true);
  while (out.length) yield out.shift()!;
  if (!ended) throw new Error("unexpected end of the zstd stream");
}

interface Special {
  path: string;
  kind: "whiteout" | "opaque" | "device";
  mode?: number;
  major?: number;
  minor?: number;
  uid?: number;
  gid?: number;
}

/**
 * Is this the empty tar archive, only zero blocks (at least the two that end an archive)? It is
 * what Docker and podman write for a layer that changes nothing (1024 zero bytes, diff id
 * sha256:5f70bf18...), and what `commit` writes for an unchanged container. node-tar calls it
 * "Unrecognized archive format", as it saw no entry; it is a valid archive of no entries.
 */
function zeroBlocks(size: number, sawNonZero: boolean): boolean {
  return !sawNonZero && size >= 1024 && size % 512 === 0;
}

/** What a caller watches an extraction with: the bytes read as they are, and an abort. */
export interface ReadWatch {
  onRead?: (bytes: number) => void;
  /** Stops the extraction between two chunks: it rejects with the signal's reason (an AbortError). */
  signal?: AbortSignal;
}

/** A layer as extracted: its diff id and size, both of the uncompressed tar. */
export interface Unpacked {
  diffId: string;
  size: number;
}

/**
 * Feed a file (plain, gzip or zstd) through an Unpack, hashing and counting the uncompressed
 * bytes. Resolves with the diff id and size once node-tar has written everything.
 */
async function runUnpack(
  file: string,
  unpack: Unpack,
  firstError: () => ArchiveError | undefined,
  watch: ReadWatch = {},
): Promise<Unpacked> {
  const { onRead, signal } = watch;
  signal?.throwIfAborted();
  const hash = createHash("sha256");
  let size = 0;
  let sawNonZero = false;
  const compression = await fileCompression(file);
  const done = new Promise<void>((resolveDone, reject) => {
    unpack.on("error", (e: Error) => reject(e));
    unpack.on("close", () => resolveDone());
  });
  const raw = createReadStream(file);
  // Progress counts the file's bytes (compressed, when it is), as they are read.
  if (onRead) raw.on("data", (chunk) => onRead(chunk.length));
  const source: AsyncIterable<Buffer> = compression === "gzip" ? raw.pipe(createGunzip()) : compression === "zstd" ? zstdDecode(raw) : raw;
  try {
    for await (const chunk of source) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (!sawNonZero && (chunk as Buffer).some((b) => b !== 0)) sawNonZero = true;
      // On a refusal or an abort, stop feeding node-tar, but let it finish what it is writing
      // (below) before the caller removes the directory.
      if (firstError() || signal?.aborted) break;
      if (!unpack.write(chunk as Buffer)) await new Promise((r) => unpack.once("drain", r));
    }
  } catch (err) {
    throw new ArchiveError(`${compression === "none" ? "read" : compression}: ${(err as Error).message} (truncated or corrupt archive)`);
  }
  unpack.end();
  try {
    await done;
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    // node-tar reports an archive without entries as an unrecoverable TAR_BAD_ARCHIVE.
    const empty = (err as { tarCode?: string }).tarCode === "TAR_BAD_ARCHIVE" && zeroBlocks(size, sawNonZero) && !firstError();
    if (!empty) throw firstError() ?? new ArchiveError(`tar: ${(err as Error).message}`);
  }
  if (signal?.aborted) throw signal.reason;
  const bad = firstError();
  if (bad) throw bad;
  return { diffId: `sha256:${hash.digest("hex")}`, size };
}

/** Options shared by both kinds of extraction: strict, modes and owners as in the archive. */
function unpackOptions(cwd: string, filter: (path: string, entry: ReadEntry) => boolean, onBad: (e: ArchiveError) => void) {
  return {
    cwd,
    // Not strict: node-tar's strict mode throws from inside its stream on harmless notes; every
    // warning but TAR_ENTRY_INFO is a refusal through onwarn instead.
    strict: false,
    // Keep absolute symlink targets (`sh -> /bin/busybox`: resolved inside the container's
    // root). node-tar's own path checks are off with it; ours (in the filter) refuse absolute
    // and ".." paths and any path through a symlink this archive made.
    preservePaths: true,
    preserveOwner: true,
    umask: 0,
    processUmask: 0,
    filter: (path: string, entry: unknown) => filter(path, entry as ReadEntry),
    onwarn: (code: string, message: string | Error) => {
      // TAR_ENTRY_INFO etc. are informational; everything else (with strict) is a refusal.
      if (code !== "TAR_ENTRY_INFO") onBad(new ArchiveError(`tar: ${typeof message === "string" ? message : message.message}`));
    },
  };
}

/**
 * Extract a layer blob into `dir` (empty, made by the caller). Whiteouts become overlayfs
 * whiteouts (`.wh.NAME` -> a 0:0 character device NAME; `.wh..wh..opq` -> the
 * trusted.overlay.opaque="y" xattr on its directory). Returns the diff id (sha256 of the
 * uncompressed tar) and the uncompressed tar's size.
 */
export async function unpackLayer(file: string, dir: string, fs: LayerFs, watch?: ReadWatch): Promise<Unpacked> {
  let bad: ArchiveError | undefined;
  const specials: Special[] = [];
  const symlinks = new Set<string>();
  const filter = (raw: string, entry: ReadEntry): boolean => {
    if (bad) return false;
    const p = normalizeEntryPath(entry.path ?? raw);
    const refuse = (reason: string) => {
      bad ??= new ArchiveError(reason, entry.path ?? raw);
      return false;
    };
    const why = badPath(p);
    if (why) return refuse(why);
    // Writing through a symlink this layer made (`etc -> /etc`, then `etc/passwd`) would write
    // outside the layer directory: refused, whatever the link points to.
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      if (symlinks.has(parts.slice(0, i).join("/"))) return refuse(`path through the symbolic link "${parts.slice(0, i).join("/")}"`);
    }
    if (entry.type === "Link") {
      const target = normalizeEntryPath(entry.linkpath ?? "");
      const whyLink = badPath(target);
      if (whyLink) return refuse(`hard link target "${entry.linkpath}": ${whyLink}`);
      if (symlinks.has(target)) symlinks.add(p); // a hard link to a symlink is a symlink
    }
    if (entry.type === "SymbolicLink") {
      const target = entry.linkpath ?? "";
      // Relative targets are resolved from the link's directory: one that climbs above the
      // layer's root is refused (absolute targets resolve inside the container's root).
      if (!target.startsWith("/") && posix.normalize(posix.join(posix.dirname(p), target)).startsWith("..")) {
        return refuse(`symbolic link target "${target}" escapes the root`);
      }
      symlinks.add(p);
    }
    const base = posix.basename(p);
    if (base === OPAQUE_MARKER) {
      specials.push({ path: posix.dirname(p), kind: "opaque" });
      return false;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      specials.push({ path: posix.join(posix.dirname(p), base.slice(WHITEOUT_PREFIX.length)), kind: "whiteout" });
      return false;
    }
    if (entry.type === "CharacterDevice" || entry.type === "BlockDevice" || entry.type === "FIFO") {
      const typeBits = entry.type === "CharacterDevice" ? S_IFCHR : entry.type === "BlockDevice" ? S_IFBLK : S_IFIFO;
      const h = entry.header as unknown as { devmaj?: number; devmin?: number };
      specials.push({
        path: p,
        kind: "device",
        mode: typeBits | ((entry.mode ?? 0o600) & 0o7777),
        major: h.devmaj ?? 0,
        minor: h.devmin ?? 0,
        uid: entry.uid,
        gid: entry.gid,
      });
      return false;
    }
    if (!["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"].includes(entry.type)) return false;
    return true;
  };
  const unpack = new Unpack(unpackOptions(dir, filter, (e) => (bad ??= e)));
  const unpacked = await runUnpack(file, unpack, () => bad, watch);
  for (const s of specials) {
    const at = s.path === "." || s.path === "" ? dir : `${dir}/${s.path}`;
    if (s.kind === "opaque") {
      mkdirSync(at, { recursive: true });
      fs.lsetxattr(at, OPAQUE_XATTR, "y");
      continue;
    }
    mkdirSync(posix.dirname(at), { recursive: true });
    if (s.kind === "whiteout") {
      fs.mknod(at, S_IFCHR, 0, 0);
    } else {
      fs.mknod(at, s.mode!, s.major!, s.minor!);
      lchownSync(at, s.uid ?? 0, s.gid ?? 0);
      chmodSync(at, s.mode! & 0o7777);
    }
  }
  return unpacked;
}

/**
 * Extract an image archive (docker save, or an OCI layout as a tar) into `dir`: plain files and
 * directories only, no path leaves `dir`.
 */
export async function unpackArchive(file: string, dir: string, watch?: ReadWatch): Promise<void> {
  let bad: ArchiveError | undefined;
  const filter = (raw: string, entry: ReadEntry): boolean => {
    if (bad) return false;
    const p = normalizeEntryPath(entry.path ?? raw);
    const why = badPath(p);
    if (why) {
      bad = new ArchiveError(why, entry.path ?? raw);
      return false;
    }
    // docker save archives of old (<= 24) Dockers hold a symlink per repeated layer.
    if (entry.type === "SymbolicLink") {
      const target = entry.linkpath ?? "";
      if (target.startsWith("/") || posix.normalize(posix.join(posix.dirname(p), target)).startsWith("..")) {
        bad = new ArchiveError(`symbolic link target "${target}" leaves the archive`, entry.path ?? raw);
        return false;
      }
      return true;
    }
    return entry.type === "File" || entry.type === "OldFile" || entry.type === "Directory";
  };
  // node-tar's own path protections stay on here: an image archive needs no absolute links.
  const unpack = new Unpack({ ...unpackOptions(dir, filter, (e) => (bad ??= e)), preserveOwner: false, preservePaths: false });
  await runUnpack(file, unpack, () => bad, watch);
}
