/**
 * `image save`: an OCI image layout as a tar (oci-layout, index.json, blobs/sha256/*), with a
 * docker-style manifest.json beside it (as Docker >= 25 writes), so both OCI tools and
 * `docker load` read it. Blobs are copied verbatim: loading the archive again gives the same
 * digests.
 */
import { copyFileSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create as tarCreate } from "tar";
import { BerthError } from "../errors";
import { hex, sha256 } from "./digest";
import type { ImageStore } from "./store";
import { MEDIA } from "./types";

export async function saveImage(store: ImageStore, ref: string, out: string): Promise<void> {
  const img = store.resolve("image save", ref);
  const stage = store.tempDir("save");
  try {
    mkdirSync(join(stage, "blobs/sha256"), { recursive: true });
    const digests = [img.record.manifest, img.manifest.config.digest, ...img.manifest.layers.map((l) => l.digest)];
    for (const d of new Set(digests)) {
      const to = join(stage, "blobs/sha256", hex(d));
      try {
        linkSync(store.blobPath(d), to);
      } catch {
        copyFileSync(store.blobPath(d), to);
      }
    }
    const manifestBytes = store.readBlob(img.record.manifest);
    const name = img.record.name;
    const annotations: Record<string, string> = {};
    if (name) {
      annotations["io.containerd.image.name"] = name;
      annotations["org.opencontainers.image.ref.name"] = name.slice(name.lastIndexOf(":") + 1);
    }
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: [
        { mediaType: MEDIA.manifest, digest: sha256(manifestBytes), size: manifestBytes.length, ...(name ? { annotations } : {}) },
      ],
    };
    writeFileSync(join(stage, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(join(stage, "index.json"), JSON.stringify(index));
    const docker = [
      {
        Config: `blobs/sha256/${hex(img.manifest.config.digest)}`,
        RepoTags: name ? [name] : [],
        Layers: img.manifest.layers.map((l) => `blobs/sha256/${hex(l.digest)}`),
      },
    ];
    writeFileSync(join(stage, "manifest.json"), JSON.stringify(docker));
    const tmp = `${out}.berth-tmp-${process.pid}`;
    try {
      await tarCreate({ file: tmp, cwd: stage, portable: true }, ["oci-layout", "index.json", "manifest.json", "blobs"]);
      renameSync(tmp, out);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new BerthError({ op: "image save", id: ref, field: "--output", value: out, reason: `write: ${(err as Error).message}` });
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
