/**
 * `berth bundle IMAGE DIR`: an OCI bundle whose config.json comes from the image's config (the
 * image-spec's conversion.md: Entrypoint + Cmd -> process.args, Env, WorkingDir -> cwd, User ->
 * uid/gid, ExposedPorts and StopSignal -> annotations) over berth's default spec, with an empty
 * rootfs/ that create mounts the image's layers on. The image is recorded in annotations (its
 * manifest digest, its name, and the store), so create and delete need no flag.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { BerthError } from "../errors";
import { defaultSpec, type Spec } from "../spec";
import { writeFileAtomic } from "../state";
import { IMAGE_ANNOTATION, IMAGE_NAME_ANNOTATION, IMAGE_ROOT_ANNOTATION } from "./container-layer";
import { LowerView } from "./lower";
import type { ImageStore, ResolvedImage } from "./store";

/** A file of the image (e.g. etc/passwd), read without following any symlink in it. */
function imageFile(store: ImageStore, img: ResolvedImage, rel: string): string | undefined {
  const found = new LowerView(store.layerDirs(img).reverse(), store.fs).find(rel);
  if (!found || !found.stat.isFile()) return undefined;
  return readFileSync(join(found.layer, rel), "utf8");
}

/** User "name", "uid", "uid:gid", "name:group" -> numeric ids, from the image's passwd and group. */
export function resolveUser(store: ImageStore, img: ResolvedImage, user: string, op = "bundle"): { uid: number; gid: number } {
  const [u, g] = user.split(":", 2) as [string, string | undefined];
  const fail = (reason: string): never => {
    throw new BerthError({ op, id: img.record.name ?? img.record.config, field: "config.User", value: user, reason });
  };
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const entry = (imageFile(store, img, "etc/passwd") ?? "")
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => f[2] === u);
    if (entry) gid = Number(entry[3]);
  } else {
    const passwd = imageFile(store, img, "etc/passwd") ?? fail("the image has no /etc/passwd to resolve the user name");
    const entry =
      passwd
        .split("\n")
        .map((l) => l.split(":"))
        .find((f) => f[0] === u) ?? fail(`no such user in the image's /etc/passwd`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (g !== undefined && g !== "") {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const group = imageFile(store, img, "etc/group") ?? fail("the image has no /etc/group to resolve the group name");
      const entry =
        group
          .split("\n")
          .map((l) => l.split(":"))
          .find((f) => f[0] === g) ?? fail(`no such group in the image's /etc/group`);
      gid = Number(entry[2]);
    }
  }
  return { uid, gid: gid ?? 0 };
}

export function imageSpec(store: ImageStore, img: ResolvedImage): Spec {
  const c = img.config.config ?? {};
  const spec = defaultSpec();
  const args = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  const label = img.record.name ?? img.record.config;
  if (args.length === 0)
    throw new BerthError({ op: "bundle", id: label, reason: "the image has neither Entrypoint nor Cmd: nothing to run" });
  spec.root = { path: "rootfs", readonly: false };
  const proc = spec.process!;
  proc.terminal = false;
  proc.args = args;
  if (c.Env?.length) proc.env = [...c.Env];
  proc.cwd = c.WorkingDir || "/";
  if (c.User) {
    const { uid, gid } = resolveUser(store, img, c.User);
    proc.user = { uid, gid };
  }
  const annotations: Record<string, string> = { ...(spec.annotations ?? {}) };
  annotations[IMAGE_ANNOTATION] = img.record.manifest;
  annotations[IMAGE_ROOT_ANNOTATION] = resolve(store.root);
  if (img.record.name) annotations[IMAGE_NAME_ANNOTATION] = img.record.name;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length)
    annotations["org.opencontainers.image.exposedPorts"] = Object.keys(c.ExposedPorts).join(",");
  if (c.StopSignal) annotations["org.opencontainers.image.stopSignal"] = c.StopSignal;
  if (img.config.os) annotations["org.opencontainers.image.os"] = img.config.os;
  if (img.config.architecture) annotations["org.opencontainers.image.architecture"] = img.config.architecture;
  spec.annotations = annotations;
  return spec;
}

export function writeImageBundle(store: ImageStore, ref: string, dir: string): string {
  const img = store.resolve("bundle", ref);
  const spec = imageSpec(store, img);
  const bundle = resolve(dir);
  const configPath = join(bundle, "config.json");
  if (existsSync(configPath))
    throw new BerthError({ op: "bundle", id: ref, field: "DIR", value: dir, reason: "config.json exists already: remove it first" });
  mkdirSync(join(bundle, "rootfs"), { recursive: true, mode: 0o755 });
  writeFileAtomic(configPath, JSON.stringify(spec, null, 2) + "\n", 0o644);
  return configPath;
}
