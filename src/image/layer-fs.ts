/**
 * The filesystem calls the layer model needs and Node does not have (native/addon/layer-fs.cc).
 * The image room receives them as an argument (it may not import src/native): container/
 * passes the real native surface, a test may pass a fake.
 */
export interface LayerFs {
  mountOverlay(target: string, data: string): void;
  umount(target: string, detach?: boolean): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: string): void;
  lgetxattr(path: string, name: string): string | null;
}

export const OPAQUE_XATTR = "trusted.overlay.opaque";
export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
