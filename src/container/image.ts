/**
 * The lifecycle's side of the layer model (src/image): the image store over the Runtime's native
 * filesystem calls (default-runtime.ts: the addon's), the overlay rootfs made at create and removed at delete for a bundle made by
 * `berth bundle`, and the image and writable-layer verbs the CLI calls.
 */
import { BerthError } from "../errors";
import type * as ImageRoom from "../image";
import type { Change, LayerFs } from "../image";
import type { Spec } from "../spec";
import type { LifecycleNative, Runtime } from "./runtime";

/**
 * The image room, required on first use: it brings tar, zlib and crypto, which `create` and
 * `delete` of a plain bundle (no image annotation) never need (start-up cost, bench/results.md).
 */
const room = (): typeof ImageRoom => require("../image") as typeof ImageRoom;

/** The image room's IMAGE_ANNOTATION (test/unit checks they agree), so that a plain bundle does not load the room. */
export const IMAGE_ANNOTATION = "org.berth.image";

function layerFsOf(n: Partial<LayerFs>, op: string, id?: string): LayerFs {
  const { mountOverlay, umount, mknod, lsetxattr, lgetxattr } = n;
  if (!mountOverlay || !umount || !mknod || !lsetxattr || !lgetxattr)
    throw new BerthError({ op, id, reason: "image layers are not available in this build of berth" });
  return { mountOverlay, umount, mknod, lsetxattr, lgetxattr };
}

/** The image verbs take the Runtime for its native calls only; `root` is the image root (--image-root), not the state root. */
type ImageRuntime = Pick<Runtime, "native">;

export function imageStore(rt: ImageRuntime, root: string | undefined, op = "image"): ImageRoom.ImageStore {
  return new (room().ImageStore)(root ?? room().DEFAULT_IMAGE_ROOT, layerFsOf(rt.native as Partial<LayerFs>, op));
}

/**
 * create: a bundle from an image (annotation org.berth.image) gets its rootfs assembled here,
 * before the plan is built: the image's layers plus a new writable layer, mounted at root.path.
 * Returns the undo step (unmount, remove the writable layer), or undefined for a plain bundle.
 */
export function mountImageRootfs(n: LifecycleNative, id: string, spec: Spec, rootfs: string): (() => void) | undefined {
  const manifest = spec.annotations?.[IMAGE_ANNOTATION];
  if (!manifest) return undefined;
  const store = new (room().ImageStore)(
    spec.annotations?.[room().IMAGE_ROOT_ANNOTATION] ?? room().DEFAULT_IMAGE_ROOT,
    layerFsOf(n as Partial<LayerFs>, "create", id),
  );
  room().mountContainerLayer(store, id, manifest, rootfs, spec.annotations?.[room().IMAGE_NAME_ANNOTATION]);
  return () => room().removeContainerLayer(store, id);
}

/** delete: unmount the image rootfs and remove the writable layer (if the container has one). */
export function unmountImageRootfs(n: LifecycleNative, id: string, spec: Spec | undefined): void {
  if (!spec?.annotations?.[IMAGE_ANNOTATION]) return;
  const store = new (room().ImageStore)(
    spec.annotations[room().IMAGE_ROOT_ANNOTATION] ?? room().DEFAULT_IMAGE_ROOT,
    layerFsOf(n as Partial<LayerFs>, "delete", id),
  );
  try {
    room().removeContainerLayer(store, id);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BerthError({
      op: "delete",
      id,
      field: "root.path",
      reason: "unmount the image's overlay rootfs",
      errno: e.code ?? "EIO",
      cause: err,
    });
  }
}

export type { LoadProgress } from "../image";
export const imageLoad = (rt: ImageRuntime, root: string | undefined, input: string, opts?: ImageRoom.LoadOptions): Promise<string[]> =>
  room().loadImages(imageStore(rt, root, "image load"), input, opts);
export const imageSave = (rt: ImageRuntime, root: string | undefined, ref: string, out: string): Promise<void> =>
  room().saveImage(imageStore(rt, root, "image save"), ref, out);
export const imageRemove = (rt: ImageRuntime, root: string | undefined, ref: string): string[] =>
  imageStore(rt, root, "image rm").remove(ref);
export const imageBundle = (rt: ImageRuntime, root: string | undefined, ref: string, dir: string): string =>
  room().writeImageBundle(imageStore(rt, root, "bundle"), ref, dir);
export const layerDiff = (rt: ImageRuntime, root: string | undefined, id: string): Change[] =>
  room().containerDiff(imageStore(rt, root, "diff"), id);
export const layerCommit = (rt: ImageRuntime, root: string | undefined, id: string, name: string, message?: string) =>
  room().commitContainer(imageStore(rt, root, "commit"), id, name, { message });
export const layerExport = (rt: ImageRuntime, root: string | undefined, id: string, out: string): Promise<void> =>
  room().exportContainer(imageStore(rt, root, "export"), id, out);

export interface ImageSummary {
  name: string;
  id: string;
  created: string;
  size: number;
}

export function imageList(rt: ImageRuntime, root: string | undefined): ImageSummary[] {
  const store = imageStore(rt, root, "image ls");
  return store.images().map((rec) => {
    const img = store.resolveRecord(rec);
    return { name: rec.name ?? "<none>", id: room().shortId(rec.config), created: img.config.created ?? "", size: store.size(img) };
  });
}

export function imageInspect(rt: ImageRuntime, root: string | undefined, ref: string): Record<string, unknown> {
  const store = imageStore(rt, root, "image inspect");
  const img = store.resolve("image inspect", ref);
  return {
    Id: img.record.config,
    RepoTags: store
      .images()
      .filter((i) => i.manifest === img.record.manifest && i.name)
      .map((i) => i.name),
    Digest: img.record.manifest,
    Created: img.config.created,
    Architecture: img.config.architecture,
    Os: img.config.os,
    Config: img.config.config ?? {},
    RootFS: img.config.rootfs,
    Layers: img.manifest.layers,
    Size: store.size(img),
    History: img.config.history ?? [],
  };
}

/** One line per history entry, top first: created-by and the size of its layer (uncompressed). */
export interface HistoryRow {
  createdBy: string;
  /** The layer's size in bytes (0 for a history entry without a layer). */
  size: number;
  /** RFC 3339, or "" when the entry has none. */
  created: string;
  comment?: string;
  /** The layer's digest. */
  layer?: string;
}

export function imageHistory(rt: ImageRuntime, root: string | undefined, ref: string): HistoryRow[] {
  const store = imageStore(rt, root, "image history");
  const img = store.resolve("image history", ref);
  const layers = [...img.manifest.layers];
  const history = img.config.history?.length
    ? img.config.history
    : layers.map(() => ({}) as { created_by?: string; empty_layer?: boolean; created?: string; comment?: string });
  let li = 0;
  const rows = history.map((h): HistoryRow => {
    const i = h.empty_layer ? -1 : li++;
    const layer = layers[i];
    return {
      createdBy: h.created_by ?? "",
      created: h.created ?? "",
      size: layer ? store.layerSize(img, i) : 0,
      ...(h.comment ? { comment: h.comment } : {}),
      layer: layer?.digest,
    };
  });
  return rows.reverse();
}
