/** The image room: the layer store, overlay rootfs assembly, diff, commit, export, save/load. */
export type { LayerFs } from "./layer-fs";
export { ImageStore, DEFAULT_IMAGE_ROOT, normalizeName, type ResolvedImage } from "./store";
export { loadImages, type LoadProgress, type LoadOptions } from "./load";
export { saveImage } from "./save";
export { writeImageBundle, imageSpec, resolveUser } from "./bundle-config";
export {
  mountContainerLayer,
  removeContainerLayer,
  readContainerLayer,
  IMAGE_ANNOTATION,
  IMAGE_ROOT_ANNOTATION,
  IMAGE_NAME_ANNOTATION,
  type ContainerLayer,
} from "./container-layer";
export { containerDiff, commitContainer, exportContainer, type Change } from "./changes";
export { shortId } from "./digest";
export type { ImageConfig, Manifest, ImageRecord } from "./types";
