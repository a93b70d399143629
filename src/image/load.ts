/**
 * `image load`: an OCI image layout (a directory, or a tar of one) or a `docker save` archive
 * (manifest.json; layers plain or gzip). Everything is verified and staged under tmp/ first --
 * every blob against its digest, every layer against the config's diff_ids, every tar entry
 * against path traversal -- and only then moved into the store; a refusal leaves the store as
 * it was and names the image, the layer digest and the entry.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { BerthError } from "../errors";
import { DIGEST_RE, hex, sha256, sha256File, shortId } from "./digest";
import { fsyncFile, writeDurable, type ImageStore } from "./store";
import { MEDIA, type Descriptor, type ImageConfig, type Manifest } from "./types";
import { ArchiveError, badPath, compressionOf, unpackArchive, unpackLayer } from "./unpack";

interface Candidate {
  names: string[];
  /** The manifest as bytes (kept verbatim from an OCI layout, so its digest is unchanged). */
  manifest: Buffer;
  /** Where each blob the manifest names is, in the input. */
  files: Map<string, string>;
}

const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** How far `image load` is, for a progress display (each call replaces the previous state). */
export interface LoadProgress {
  /** "archive": reading the input archive (a tar); "layer": checking and unpacking one layer. */
  phase: "archive" | "layer";
  /** The image the layer belongs to (its first name, or its short id). */
  image?: string;
  /** The layer's digest. */
  layer?: string;
  /** The layer's place in its image, 1-based, of `count`. */
  index?: number;
  count?: number;
  /** Bytes read of `total` (a layer's are its blob's: compressed, when it is). */
  bytes: number;
  total: number;
  /** This archive or layer is finished. */
  done: boolean;
  /** The layer was in the store already: nothing to unpack. */
  existing?: boolean;
}

export interface LoadOptions {
  /** Called as the archive is read and as each layer is checked and unpacked. */
  onProgress?: (p: LoadProgress) => void;
  /** Stops the load (between two chunks read): it rejects with an AbortError and the store is left as it was. */
  signal?: AbortSignal;
}

export async function loadImages(store: ImageStore, input: string, opts: LoadOptions = {}): Promise<string[]> {
  const { onProgress, signal } = opts;
  signal?.throwIfAborted();
  const fail = (reason: string): never => {
    throw new BerthError({ op: "image load", id: input, reason });
  };
  let isDir: boolean;
  try {
    isDir = statSync(input).isDirectory();
  } catch (err) {
    return fail(`stat: ${(err as NodeJS.ErrnoException).code ?? "EIO"}`);
  }
  const stage = store.tempDir("load");
  try {
    let dir = input;
    if (!isDir) {
      dir = join(stage, "archive");
      mkdirSync(dir);
      const total = statSync(input).size;
      let bytes = 0;
      try {
        await unpackArchive(input, dir, {
          signal,
          onRead: onProgress && ((n) => onProgress({ phase: "archive", bytes: (bytes += n), total, done: false })),
        });
        onProgress?.({ phase: "archive", bytes: total, total, done: true });
      } catch (err) {
        if (err instanceof ArchiveError) fail(`archive: ${err.message}`);
        throw err;
      }
    }
    const candidates =
      existsSync(join(dir, "oci-layout")) && existsSync(join(dir, "index.json"))
        ? ociCandidates(dir, fail)
        : existsSync(join(dir, "manifest.json"))
          ? dockerCandidates(dir, fail)
          : fail("neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)");
    if (candidates.length === 0) fail("the archive names no image");

    const staged = new Map<string, string>(); // digest -> staged file
    const layers = new Map<string, { dir: string; size: number }>(); // diff id -> staged dir, uncompressed size
    const loaded: string[] = [];
    for (const c of candidates) {
      const manifestDigest = sha256(c.manifest);
      let manifest: Manifest;
      try {
        manifest = JSON.parse(c.manifest.toString("utf8")) as Manifest;
      } catch {
        return fail(`manifest ${manifestDigest}: not JSON`);
      }
      const label = c.names[0] ?? shortId(manifest.config?.digest ?? manifestDigest);
      const imgFail = (reason: string): never => fail(`image ${label}: ${reason}`);
      if (!manifest.config || !Array.isArray(manifest.layers)) imgFail(`manifest ${manifestDigest}: not an image manifest`);
      const stageBlob = async (digest: string, what: string): Promise<string> => {
        if (!DIGEST_RE.test(digest)) imgFail(`${what}: bad digest "${digest}"`);
        const have = staged.get(digest);
        if (have) return have;
        const from = c.files.get(digest);
        if (!from || !existsSync(from)) imgFail(`${what} ${digest}: missing from the archive`);
        const to = join(stage, `blob-${hex(digest)}`);
        copyFileSync(from!, to);
        const got = await sha256File(to);
        if (got.digest !== digest)
          imgFail(
            `${what} ${digest}: ${posix.relative(dir, from!) || from}: wrong digest (content is ${got.digest}); the archive is truncated or corrupt`,
          );
        fsyncFile(to);
        staged.set(digest, to);
        return to;
      };
      const manifestFile = join(stage, `manifest-${hex(manifestDigest)}`);
      if (!staged.has(manifestDigest)) {
        writeDurable(manifestFile, c.manifest);
        staged.set(manifestDigest, manifestFile);
      }
      const configFile = await stageBlob(manifest.config.digest, "config");
      let config: ImageConfig;
      try {
        config = JSON.parse(readFileSync(configFile, "utf8")) as ImageConfig;
      } catch {
        return imgFail(`config ${manifest.config.digest}: not JSON`);
      }
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== manifest.layers.length)
        imgFail(`config ${manifest.config.digest}: ${diffIds.length} diff_ids for ${manifest.layers.length} layers`);
      for (const [i, layer] of manifest.layers.entries()) {
        signal?.throwIfAborted();
        const file = await stageBlob(layer.digest, "layer");
        const diffId = diffIds[i]!;
        const total = statSync(file).size;
        const at = { phase: "layer", image: label, layer: layer.digest, index: i + 1, count: manifest.layers.length, total } as const;
        if (store.layerDirExists(diffId) || layers.has(diffId)) {
          onProgress?.({ ...at, bytes: total, done: true, existing: true });
          continue;
        }
        const into = join(stage, `layer-${i}-${hex(layer.digest).slice(0, 12)}`);
        mkdirSync(into);
        let got: { diffId: string; size: number };
        let bytes = 0;
        onProgress?.({ ...at, bytes, done: false });
        try {
          got = await unpackLayer(file, into, store.fs, {
            signal,
            onRead: onProgress && ((n) => onProgress({ ...at, bytes: (bytes += n), done: false })),
          });
        } catch (err) {
          if (err instanceof ArchiveError) return imgFail(`layer ${layer.digest}: ${err.message}`);
          throw err;
        }
        if (got.diffId !== diffId) imgFail(`layer ${layer.digest}: uncompressed content is ${got.diffId}, the config says ${diffId}`);
        layers.set(diffId, { dir: into, size: got.size });
        onProgress?.({ ...at, bytes: total, done: true });
      }
      loaded.push(...(c.names.length ? c.names : [shortId(manifest.config.digest)]));
    }

    // Everything verified: into the store, the names last. An abort from here on is too late.
    signal?.throwIfAborted();
    for (const [digest, file] of staged) store.commitBlob(file, digest);
    for (const [diffId, l] of layers) store.commitLayer(l.dir, diffId, l.size);
    for (const c of candidates) {
      const manifestDigest = sha256(c.manifest);
      const configDigest = (JSON.parse(c.manifest.toString("utf8")) as Manifest).config.digest;
      const when = new Date().toISOString();
      if (c.names.length === 0) store.addImage({ manifest: manifestDigest, config: configDigest, loaded: when });
      for (const name of c.names) store.addImage({ name, manifest: manifestDigest, config: configDigest, loaded: when });
    }
    return loaded;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function readJsonFile<T>(path: string, fail: (r: string) => never): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (err) {
    return fail(`${posix.basename(path)}: ${(err as NodeJS.ErrnoException).code ?? "not JSON"}`);
  }
}

/** An OCI layout: index.json -> manifests (through nested indexes, this host's platform). */
function ociCandidates(dir: string, fail: (r: string) => never): Candidate[] {
  const blob = (d: string) => join(dir, "blobs/sha256", hex(d));
  const files = new Map<string, string>();
  const out: Candidate[] = [];
  const dockerTags = new Map<string, string[]>(); // config digest -> RepoTags (Docker >= 25 writes both)
  if (existsSync(join(dir, "manifest.json"))) {
    for (const e of readJsonFile<{ Config: string; RepoTags?: string[] }[]>(join(dir, "manifest.json"), fail)) {
      const m = /([0-9a-f]{64})(\.json)?$/.exec(e.Config ?? "");
      if (m) dockerTags.set(`sha256:${m[1]}`, e.RepoTags ?? []);
    }
  }
  const visit = (descs: Descriptor[], depth: number) => {
    if (depth > 4) fail("index.json: indexes nested too deeply");
    const linux = descs.filter(
      (d) => !d.platform || (d.platform.os === "linux" && d.platform.architecture === (ARCH[process.arch] ?? process.arch)),
    );
    for (const d of linux) {
      if (!DIGEST_RE.test(d.digest ?? "")) fail(`index.json: bad digest "${d.digest}"`);
      if (!existsSync(blob(d.digest))) fail(`index.json: ${d.digest}: missing from the archive`);
      const bytes = readFileSync(blob(d.digest));
      if (sha256(bytes) !== d.digest)
        fail(`${d.mediaType ?? "manifest"} ${d.digest}: wrong digest (content is ${sha256(bytes)}); the archive is truncated or corrupt`);
      const doc = JSON.parse(bytes.toString("utf8")) as {
        mediaType?: string;
        manifests?: Descriptor[];
        config?: Descriptor;
        layers?: Descriptor[];
      };
      if (d.mediaType === MEDIA.index || d.mediaType === MEDIA.dockerList || doc.manifests) {
        visit(doc.manifests ?? [], depth + 1);
        continue;
      }
      const names: string[] = [];
      const full = d.annotations?.["io.containerd.image.name"];
      const ref = d.annotations?.["org.opencontainers.image.ref.name"];
      // Docker >= 25 names the image twice: RepoTags in manifest.json ("busybox:latest", what
      // `docker load` prints) and io.containerd.image.name (docker.io/library/busybox:latest).
      // The familiar name is kept; a short name finds either (ImageStore.find).
      if (doc.config && dockerTags.get(doc.config.digest)?.length) names.push(...dockerTags.get(doc.config.digest)!);
      else if (full) names.push(full);
      else if (ref && /[:/]/.test(ref)) names.push(ref);
      for (const x of [doc.config, ...(doc.layers ?? [])]) if (x && DIGEST_RE.test(x.digest)) files.set(x.digest, blob(x.digest));
      const same = out.find((c) => sha256(c.manifest) === d.digest);
      if (same) same.names.push(...names.filter((n) => !same.names.includes(n)));
      else out.push({ names, manifest: bytes, files });
    }
  };
  visit(readJsonFile<{ manifests?: Descriptor[] }>(join(dir, "index.json"), fail).manifests ?? [], 0);
  return out;
}

/** A docker save archive: manifest.json [{Config, RepoTags, Layers}]; the manifest is made here. */
function dockerCandidates(dir: string, fail: (r: string) => never): Candidate[] {
  const entries = readJsonFile<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(join(dir, "manifest.json"), fail);
  if (!Array.isArray(entries)) fail("manifest.json: not a list");
  return entries.map((e) => {
    const inside = (p: string, what: string): string => {
      const why = typeof p === "string" ? badPath(posix.normalize(p)) : "not a string";
      if (why) fail(`manifest.json: ${what} "${p}": ${why}`);
      const f = join(dir, p);
      if (!existsSync(f)) fail(`manifest.json: ${what} "${p}": missing from the archive`);
      return f;
    };
    const configFile = inside(e.Config, "Config");
    const configBytes = readFileSync(configFile);
    const configDigest = sha256(configBytes);
    // The config's file name is its digest: a mismatch is a corrupt archive.
    const named = /([0-9a-f]{64})(\.json)?$/.exec(e.Config);
    if (named && `sha256:${named[1]}` !== configDigest)
      fail(`image ${e.RepoTags?.[0] ?? e.Config}: config ${e.Config}: wrong digest (content is ${configDigest})`);
    const files = new Map<string, string>([[configDigest, configFile]]);
    const layers: Descriptor[] = [];
    for (const l of e.Layers ?? []) {
      const f = inside(l, "layer");
      // Hashed synchronously here: the manifest is built from these digests (sizes are small
      // relative to the extraction that follows).
      const data = readFileSync(f);
      const digest = sha256(data);
      files.set(digest, f);
      const compression = compressionOf(data);
      layers.push({
        mediaType: compression === "gzip" ? MEDIA.layerGzip : compression === "zstd" ? MEDIA.layerZstd : MEDIA.layer,
        digest,
        size: data.length,
      });
    }
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: { mediaType: MEDIA.config, digest: configDigest, size: configBytes.length },
      layers,
    };
    return { names: (e.RepoTags ?? []).filter((t) => t && t !== "<none>:<none>"), manifest: Buffer.from(JSON.stringify(manifest)), files };
  });
}
