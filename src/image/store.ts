/**
 * The local image store (docs/architecture.md, "Layer model"), under /var/lib/berth or --image-root:
 *
 *   blobs/sha256/<hex>       content-addressed blobs: manifests, configs, layer tars as loaded
 *   layers/<diff-id hex>/    each layer extracted once, in overlayfs form (whiteouts, opaque)
 *   layer-sizes/<hex>        the size of that layer's uncompressed tar, in decimal (what
 *                            `image ls` adds up, as Docker does; layers loaded before it was
 *                            recorded count their blob's size)
 *   images.json              the names: [{name, manifest, config, loaded}]
 *   containers/<id>/         a container's writable layer: upper/, work/, container.json
 *   tmp/                     staging; what is here is never listed, and is removed on failure
 *
 * Crash safety: every file is written to tmp/, fsynced, then renamed into place; a layer is
 * extracted into tmp/ and its directory renamed into layers/ when complete; images.json is
 * replaced atomically last, so an image is listed only once everything it names is in place.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { BerthError } from "../errors";
import { writeFileAtomic } from "../state";
import { DIGEST_RE, hex, sha256, shortId } from "./digest";
import type { LayerFs } from "./layer-fs";
import type { ImageConfig, ImageRecord, Manifest } from "./types";

export const DEFAULT_IMAGE_ROOT = "/var/lib/berth";

/** "busybox" -> "busybox:latest"; a name with a tag or digest is kept. */
export function normalizeName(name: string): string {
  if (name.includes("@")) return name;
  const slash = name.lastIndexOf("/");
  return name.slice(slash + 1).includes(":") ? name : `${name}:latest`;
}

/**
 * The full names a short reference stands for (none when it names its registry: a first
 * component with "." or ":", or "localhost"): "busybox" -> docker.io/library/busybox:latest,
 * docker.io/busybox:latest, localhost/busybox:latest.
 */
export function shortNameCandidates(ref: string): string[] {
  if (ref.includes("@")) return [];
  const first = ref.split("/")[0]!;
  if (ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) return [];
  const full = normalizeName(ref);
  return [...(ref.includes("/") ? [] : [`docker.io/library/${full}`]), `docker.io/${full}`, `localhost/${full}`];
}

export interface ResolvedImage {
  record: ImageRecord;
  manifest: Manifest;
  config: ImageConfig;
}

export class ImageStore {
  constructor(
    readonly root: string,
    readonly fs: LayerFs,
  ) {
    // Layer paths go into overlay's option string, where "," and ":" are separators.
    if (/[,:]/.test(root))
      throw new BerthError({
        op: "image",
        field: "--image-root",
        value: root,
        reason: 'must not contain "," or ":" (overlayfs option separators)',
      });
  }

  blobPath(digest: string): string {
    return join(this.root, "blobs/sha256", hex(digest));
  }
  layerDir(diffId: string): string {
    return join(this.root, "layers", hex(diffId));
  }
  layerSizeFile(diffId: string): string {
    return join(this.root, "layer-sizes", hex(diffId));
  }
  containerDir(id: string): string {
    return join(this.root, "containers", id);
  }

  /** A fresh staging directory under tmp/ (same filesystem as the store: renames are atomic). */
  tempDir(prefix: string): string {
    mkdirSync(join(this.root, "tmp"), { recursive: true, mode: 0o700 });
    return mkdtempSync(join(this.root, "tmp", `${prefix}-`));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  readBlob(digest: string): Buffer {
    return readFileSync(this.blobPath(digest));
  }

  readJson<T>(digest: string): T {
    return JSON.parse(this.readBlob(digest).toString("utf8")) as T;
  }

  /** Move a verified file into blobs/ (it is in tmp/ on the same filesystem, already fsynced). */
  commitBlob(file: string, digest: string): void {
    if (!DIGEST_RE.test(digest)) throw new Error(`bad digest ${digest}`);
    if (this.hasBlob(digest)) return;
    mkdirSync(join(this.root, "blobs/sha256"), { recursive: true });
    renameSync(file, this.blobPath(digest));
  }

  /** Write bytes as a blob (temp, fsync, rename); returns its digest. */
  putBytes(data: Buffer | string): { digest: string; size: number } {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    const digest = sha256(buf);
    if (!this.hasBlob(digest)) {
      const tmp = join(this.tempDir("blob"), "data");
      writeDurable(tmp, buf);
      this.commitBlob(tmp, digest);
      rmSync(join(tmp, ".."), { recursive: true, force: true });
    }
    return { digest, size: buf.length };
  }

  layerDirExists(diffId: string): boolean {
    return existsSync(this.layerDir(diffId));
  }

  /**
   * Move an extracted layer directory into layers/ (a concurrent load may have won), its size
   * (of the uncompressed tar) recorded first.
   */
  commitLayer(dir: string, diffId: string, size?: number): void {
    mkdirSync(join(this.root, "layers"), { recursive: true });
    if (size !== undefined && !existsSync(this.layerSizeFile(diffId))) {
      mkdirSync(join(this.root, "layer-sizes"), { recursive: true });
      writeFileAtomic(this.layerSizeFile(diffId), `${size}\n`, 0o644);
    }
    if (existsSync(this.layerDir(diffId))) {
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    renameSync(dir, this.layerDir(diffId));
  }

  images(): ImageRecord[] {
    try {
      return (JSON.parse(readFileSync(join(this.root, "images.json"), "utf8")) as { images: ImageRecord[] }).images;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  writeImages(images: ImageRecord[]): void {
    mkdirSync(this.root, { recursive: true });
    writeFileAtomic(join(this.root, "images.json"), JSON.stringify({ images }, null, 2) + "\n", 0o644);
  }

  /** Add (or re-point) a name; an unnamed image is listed by its id. */
  addImage(rec: ImageRecord): void {
    const images = this.images().filter((i) => (rec.name ? i.name !== rec.name : i.manifest !== rec.manifest || i.name !== undefined));
    images.push(rec);
    this.writeImages(images);
  }

  /** An image by name[:tag], by id (config digest, or a prefix of its hex), or by manifest digest. */
  find(ref: string): ImageRecord | undefined {
    const images = this.images();
    const byName = images.find((i) => i.name === normalizeName(ref) || i.name === ref);
    if (byName) return byName;
    // A short name, as Docker and podman take one: "busybox" finds what `docker save` (>= 25)
    // records as docker.io/library/busybox:latest, or podman as localhost/busybox:latest. Only
    // when exactly one image answers to it.
    const short = shortNameCandidates(ref);
    const named = new Set(images.filter((i) => i.name !== undefined && short.includes(i.name)).map((i) => i.name));
    if (named.size === 1) return images.find((i) => i.name === [...named][0]);
    const h = ref.replace(/^sha256:/, "");
    if (/^[0-9a-f]{4,64}$/.test(h)) {
      const matches = images.filter((i) => hex(i.config).startsWith(h) || hex(i.manifest).startsWith(h));
      if (new Set(matches.map((m) => m.manifest)).size === 1) return matches[0];
    }
    return undefined;
  }

  resolve(op: string, ref: string): ResolvedImage {
    const record = this.find(ref);
    if (!record) throw new BerthError({ code: "image-not-found", op, id: ref, reason: `no such image in ${this.root}` });
    return this.resolveRecord(record);
  }

  resolveRecord(record: ImageRecord): ResolvedImage {
    const manifest = this.readJson<Manifest>(record.manifest);
    const config = this.readJson<ImageConfig>(manifest.config.digest);
    return { record, manifest, config };
  }

  /** The unpacked layer directories of an image, bottom first. */
  layerDirs(img: ResolvedImage): string[] {
    return img.config.rootfs.diff_ids.map((d) => this.layerDir(d));
  }

  /** Ids of containers whose writable layer sits on this manifest. */
  containersUsing(manifest: string): string[] {
    const dir = join(this.root, "containers");
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((id) => {
      try {
        return (JSON.parse(readFileSync(join(dir, id, "container.json"), "utf8")) as { image: string }).image === manifest;
      } catch {
        return false;
      }
    });
  }

  /**
   * Remove a name (or, given an id, every name of that image); then drop blobs and layers no
   * image references any more. Refused while a container's writable layer uses the image.
   */
  remove(ref: string): string[] {
    const rec = this.find(ref);
    if (!rec) throw new BerthError({ code: "image-not-found", op: "image rm", id: ref, reason: `no such image in ${this.root}` });
    const byName =
      rec.name !== undefined && (rec.name === ref || rec.name === normalizeName(ref) || shortNameCandidates(ref).includes(rec.name));
    const doomed = this.images().filter((i) => (byName ? i === rec || i.name === rec.name : i.manifest === rec.manifest));
    const rest = this.images().filter((i) => !doomed.some((d) => d.name === i.name && d.manifest === i.manifest));
    if (!rest.some((i) => i.manifest === rec.manifest)) {
      const users = this.containersUsing(rec.manifest);
      if (users.length)
        throw new BerthError({ code: "image-in-use", op: "image rm", id: ref, reason: `image is in use by container ${users.join(", ")}` });
    }
    this.writeImages(rest);
    this.collectGarbage();
    return doomed.map((d) => d.name ?? shortId(d.config));
  }

  collectGarbage(): void {
    const blobs = new Set<string>();
    const layers = new Set<string>();
    for (const rec of this.images()) {
      const img = this.resolveRecord(rec);
      blobs.add(hex(rec.manifest));
      blobs.add(hex(img.manifest.config.digest));
      for (const l of img.manifest.layers) blobs.add(hex(l.digest));
      for (const d of img.config.rootfs.diff_ids) layers.add(hex(d));
    }
    const sweep = (dir: string, keep: Set<string>) => {
      if (!existsSync(dir)) return;
      for (const name of readdirSync(dir)) if (!keep.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
    };
    sweep(join(this.root, "blobs/sha256"), blobs);
    sweep(join(this.root, "layers"), layers);
    sweep(join(this.root, "layer-sizes"), layers);
  }

  /** The uncompressed size of layer `i` of the image (its blob's size when none was recorded). */
  layerSize(img: ResolvedImage, i: number): number {
    const diffId = img.config.rootfs.diff_ids[i];
    if (diffId) {
      try {
        const n = Number(readFileSync(this.layerSizeFile(diffId), "utf8").trim());
        if (Number.isSafeInteger(n) && n >= 0) return n;
      } catch {
        /* not recorded */
      }
    }
    const l = img.manifest.layers[i];
    return l ? (l.size ?? (this.hasBlob(l.digest) ? statSync(this.blobPath(l.digest)).size : 0)) : 0;
  }

  /** The image's size as Docker reports it: the sum of its layers' uncompressed sizes. */
  size(img: ResolvedImage): number {
    return img.manifest.layers.reduce((n, _, i) => n + this.layerSize(img, i), 0);
  }
}

/** Write a file and fsync it before it is renamed anywhere. */
export function writeDurable(path: string, data: Buffer): void {
  const fd = openSync(path, "w", 0o644);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync a file already written (a copied blob). */
export function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
