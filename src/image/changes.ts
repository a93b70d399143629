/**
 * What a container's writable layer holds, read three ways: `diff` (A/C/D against the image,
 * overlay whiteouts read as deletions, an opaque directory as the deletion of what the image had
 * there), `commit` (the upper directory as a new layer on top of the image, in OCI form), and
 * `export` (the merged filesystem as one flat tar).
 */
import { execFileSync } from "node:child_process";
import { lstatSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create as tarCreate } from "tar";
import { BerthError } from "../errors";
import { readContainerLayer, imageByManifest } from "./container-layer";
import { sha256File } from "./digest";
import { OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX } from "./layer-fs";
import { isWhiteout, LowerView } from "./lower";
import { normalizeName, type ImageStore } from "./store";
import { MEDIA, type ImageConfig, type Manifest } from "./types";
import { unpackLayer } from "./unpack";

export interface Change {
  kind: "A" | "C" | "D";
  path: string;
}

export function containerDiff(store: ImageStore, id: string): Change[] {
  const layer = readContainerLayer(store, "diff", id);
  const img = imageByManifest(store, "diff", id, layer.image);
  const lower = new LowerView(store.layerDirs(img).reverse(), store.fs);
  const out: Change[] = [];
  const walk = (rel: string) => {
    const abs = rel ? join(layer.upper, rel) : layer.upper;
    const names = readdirSync(abs);
    if (rel && store.fs.lgetxattr(abs, OPAQUE_XATTR) === "y") {
      // Overlayfs made this directory opaque (removed, then made again): what the image had in
      // it and the upper does not have is gone.
      for (const n of lower.list(rel)) if (!names.includes(n)) out.push({ kind: "D", path: `/${rel}/${n}` });
    }
    for (const n of names.sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(join(abs, n));
      if (isWhiteout(st)) {
        if (lower.exists(r)) out.push({ kind: "D", path: `/${r}` });
        continue;
      }
      out.push({ kind: lower.exists(r) ? "C" : "A", path: `/${r}` });
      if (st.isDirectory()) walk(r);
    }
  };
  walk("");
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Tar `entries` of `cwd` into `file` (owners, modes and times kept; device nodes are skipped). */
async function tarDir(cwd: string, file: string): Promise<void> {
  const entries = readdirSync(cwd).sort();
  if (entries.length === 0) {
    // An empty layer: the two zero blocks that end a tar archive.
    writeFileSync(file, Buffer.alloc(1024));
    return;
  }
  await tarCreate(
    { file, cwd, portable: false, noMtime: false, onwarn: () => undefined } as Parameters<typeof tarCreate>[0] & { file: string },
    entries,
  );
}

export async function commitContainer(
  store: ImageStore,
  id: string,
  name: string,
  opts: { message?: string; author?: string } = {},
): Promise<{ name: string; id: string; layer: string }> {
  const layer = readContainerLayer(store, "commit", id);
  const img = imageByManifest(store, "commit", id, layer.image);
  const stage = store.tempDir("commit");
  try {
    // A copy of the upper directory (cp -a keeps owners, modes, times, links), turned into the
    // OCI layer form: a whiteout device becomes an empty `.wh.NAME`, an opaque directory gets
    // `.wh..wh..opq`.
    const tree = join(stage, "tree");
    execFileSync("cp", ["-a", "--", layer.upper, tree]);
    const convert = (rel: string) => {
      const abs = rel ? join(tree, rel) : tree;
      if (rel && store.fs.lgetxattr(join(layer.upper, rel), OPAQUE_XATTR) === "y") writeFileSync(join(abs, OPAQUE_MARKER), "");
      for (const n of readdirSync(abs)) {
        if (n === OPAQUE_MARKER && rel) continue;
        const st = lstatSync(join(abs, n));
        if (isWhiteout(st)) {
          unlinkSync(join(abs, n));
          writeFileSync(join(abs, WHITEOUT_PREFIX + n), "");
        } else if (st.isDirectory()) convert(rel ? `${rel}/${n}` : n);
      }
    };
    convert("");
    const tarFile = join(stage, "layer.tar");
    await tarDir(tree, tarFile);
    const { digest, size } = await sha256File(tarFile);
    const layerDir = join(stage, "unpacked");
    execFileSync("mkdir", ["--", layerDir]);
    const { diffId, size: tarSize } = await unpackLayer(tarFile, layerDir, store.fs);
    if (diffId !== digest)
      throw new BerthError({ op: "commit", id, reason: `internal: layer ${digest} unpacked as ${diffId}`, internal: true });

    const now = new Date().toISOString();
    const config: ImageConfig = JSON.parse(JSON.stringify(img.config)) as ImageConfig;
    config.created = now;
    config.rootfs = { type: "layers", diff_ids: [...img.config.rootfs.diff_ids, diffId] };
    config.history = [
      ...(img.config.history ?? []),
      { created: now, created_by: `berth commit ${id}`, ...(opts.message ? { comment: opts.message } : {}) },
    ];
    const configBlob = store.putBytes(JSON.stringify(config));
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: { mediaType: MEDIA.config, digest: configBlob.digest, size: configBlob.size },
      layers: [...img.manifest.layers, { mediaType: MEDIA.layer, digest, size }],
    };
    // The layer first, the manifest naming it after, the name last.
    store.commitBlob(tarFile, digest);
    store.commitLayer(layerDir, diffId, tarSize);
    const manifestBlob = store.putBytes(JSON.stringify(manifest));
    const full = normalizeName(name);
    store.addImage({ name: full, manifest: manifestBlob.digest, config: configBlob.digest, loaded: now });
    return { name: full, id: configBlob.digest, layer: digest };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** The merged filesystem (the mounted rootfs) as one flat tar at `out` (temp, then rename). */
export async function exportContainer(store: ImageStore, id: string, out: string): Promise<void> {
  const layer = readContainerLayer(store, "export", id);
  try {
    if (!statSync(layer.rootfs).isDirectory()) throw new Error("not a directory");
  } catch (err) {
    throw new BerthError({ op: "export", id, reason: `rootfs ${layer.rootfs}: ${(err as Error).message}` });
  }
  const tmp = `${out}.berth-tmp-${process.pid}`;
  try {
    await tarDir(layer.rootfs, tmp);
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new BerthError({ op: "export", id, field: "--output", value: out, reason: `write: ${(err as Error).message}` });
  }
}
