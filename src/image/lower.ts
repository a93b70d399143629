/**
 * Reading an image's layers as overlayfs would merge them, without mounting: does a path exist
 * in the image (a whiteout hides it, an opaque directory hides everything below it)? Every
 * component is looked up with lstat in the layer's own directory and a symlink is never
 * followed, so a layer's `etc -> /etc` can never make berth read the host's files.
 */
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { OPAQUE_XATTR, type LayerFs } from "./layer-fs";

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

export class LowerView {
  /** `layers`: the layer directories, top first. */
  constructor(
    readonly layers: string[],
    readonly fs: LayerFs,
  ) {}

  isOpaque(path: string): boolean {
    return this.fs.lgetxattr(path, OPAQUE_XATTR) === "y";
  }

  /** The layer directory holding `rel` ("a/b", no leading slash) and its lstat, or undefined. */
  find(rel: string): { layer: string; stat: Stats } | undefined {
    const parts = rel.split("/").filter(Boolean);
    for (const layer of this.layers) {
      let opaqueHere = false;
      let complete = true;
      for (let i = 1; i < parts.length; i++) {
        const p = `${layer}/${parts.slice(0, i).join("/")}`;
        const st = lstatOrNull(p);
        if (!st) {
          complete = false;
          break;
        }
        if (isWhiteout(st) || !st.isDirectory()) return undefined; // deleted, or shadowed by a non-directory
        if (this.isOpaque(p)) opaqueHere = true;
      }
      if (complete) {
        const st = lstatOrNull(`${layer}/${parts.join("/")}`);
        if (st) return isWhiteout(st) ? undefined : { layer, stat: st };
      }
      if (opaqueHere) return undefined;
    }
    return undefined;
  }

  exists(rel: string): boolean {
    return this.find(rel) !== undefined;
  }

  /** The names in directory `rel` of the merged image. */
  list(rel: string): string[] {
    const names = new Set<string>();
    for (const layer of this.layers) {
      try {
        for (const n of readdirSync(`${layer}/${rel}`)) names.add(n);
      } catch {
        /* not in this layer */
      }
    }
    return [...names].filter((n) => this.exists(rel ? `${rel}/${n}` : n)).sort();
  }
}
