/**
 * A container's writable layer: upper/ and work/ under containers/<id>/, and the overlay mount
 * of the image's layers plus that upper at the bundle's rootfs (made before berth-init
 * pivot_roots into it, removed at delete). container.json records what delete, diff, commit and
 * export need: the image's manifest and where the merged view is mounted.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../errors";
import { writeFileAtomic } from "../state";
import { DIGEST_RE } from "./digest";
import type { ImageStore, ResolvedImage } from "./store";
import type { ImageConfig, Manifest } from "./types";

export const IMAGE_ANNOTATION = "org.berth.image";
export const IMAGE_ROOT_ANNOTATION = "org.berth.image.root";
export const IMAGE_NAME_ANNOTATION = "org.berth.image.name";

export interface ContainerLayer {
  id: string;
  image: string;
  imageName?: string;
  rootfs: string;
  upper: string;
  work: string;
  created: string;
}

export function imageByManifest(store: ImageStore, op: string, id: string, digest: string): ResolvedImage {
  if (!DIGEST_RE.test(digest) || !store.hasBlob(digest)) {
    throw new BerthError({ op, id, field: `annotations["${IMAGE_ANNOTATION}"]`, value: digest, reason: `no such image in ${store.root}` });
  }
  const manifest = store.readJson<Manifest>(digest);
  const config = store.readJson<ImageConfig>(manifest.config.digest);
  const record = store.images().find((i) => i.manifest === digest) ?? { manifest: digest, config: manifest.config.digest, loaded: "" };
  return { record, manifest, config };
}

/** Make the writable layer and mount the merged rootfs at `rootfs` (an existing empty dir). */
export function mountContainerLayer(store: ImageStore, id: string, manifest: string, rootfs: string, imageName?: string): ContainerLayer {
  const img = imageByManifest(store, "create", id, manifest);
  const lowers = store.layerDirs(img).reverse(); // overlayfs: the top layer first
  for (const l of lowers)
    if (!existsSync(l))
      throw new BerthError({
        op: "create",
        id,
        field: `annotations["${IMAGE_ANNOTATION}"]`,
        value: manifest,
        reason: `layer ${l} is missing from the store`,
      });
  const dir = store.containerDir(id);
  if (existsSync(dir)) throw new BerthError({ op: "create", id, reason: `a writable layer for this container already exists: ${dir}` });
  const layer: ContainerLayer = {
    id,
    image: manifest,
    imageName,
    rootfs,
    upper: join(dir, "upper"),
    work: join(dir, "work"),
    created: new Date().toISOString(),
  };
  mkdirSync(layer.upper, { recursive: true, mode: 0o755 });
  mkdirSync(layer.work, { recursive: true, mode: 0o700 });
  try {
    writeFileAtomic(join(dir, "container.json"), JSON.stringify(layer, null, 2) + "\n");
    // An image of one layer still works: overlayfs takes a single lowerdir with an upperdir.
    store.fs.mountOverlay(rootfs, `lowerdir=${lowers.join(":")},upperdir=${layer.upper},workdir=${layer.work}`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException;
    throw new BerthError({
      op: "create",
      id,
      field: "root.path",
      value: rootfs,
      reason: `mount the image's overlay rootfs`,
      errno: e.code ?? "EIO",
      cause: err,
    });
  }
  return layer;
}

export function readContainerLayer(store: ImageStore, op: string, id: string): ContainerLayer {
  try {
    return JSON.parse(readFileSync(join(store.containerDir(id), "container.json"), "utf8")) as ContainerLayer;
  } catch {
    throw new BerthError({ op, id, reason: `container has no writable layer in ${store.root} (was it created from \`berth bundle\`?)` });
  }
}

/** Is the mount at layer.rootfs our overlay (its upperdir is this layer's)? Never unmount another's. */
function ourMount(layer: ContainerLayer): boolean {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const mountPoint = unescape(line.split(" ")[4] ?? "");
    const [fstype, , superOpts] = line.slice(sep + 3).split(" ");
    if (mountPoint === layer.rootfs && fstype === "overlay" && (superOpts ?? "").split(",").includes(`upperdir=${layer.upper}`))
      return true;
  }
  return false;
}

/** Unmount the merged rootfs and remove the writable layer (a missing one is not an error). */
export function removeContainerLayer(store: ImageStore, id: string): void {
  const dir = store.containerDir(id);
  if (!existsSync(dir)) return;
  let layer: ContainerLayer | undefined;
  try {
    layer = JSON.parse(readFileSync(join(dir, "container.json"), "utf8")) as ContainerLayer;
  } catch {
    layer = undefined; // made but never mounted
  }
  if (layer && ourMount(layer)) {
    try {
      store.fs.umount(layer.rootfs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // EINVAL: not mounted there (any more). EBUSY: something on the host still has it open;
      // detach it, so the writable layer can go.
      if (code === "EBUSY") store.fs.umount(layer.rootfs, true);
      else if (code !== "EINVAL" && code !== "ENOENT") throw err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
