/**
 * The layer model, as root, with real containers: images built here (a busybox base layer, a
 * layer of files, and a layer that changes, deletes -- a whiteout -- and replaces a directory --
 * an opaque one), in both archive formats; load, bundle, run, write, diff, commit, export, save
 * and load back; corrupt archives refused with the store unchanged; nothing left mounted.
 * Every test has its own --image-root.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar";
import { berth } from "../helpers/cli";
import { busyboxRootfs } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
let work: string;
let imageRoot: string;
let stateRoot: string;
const ids = testIds("img");
const uniq = ids.uniq;
const cli = (args: string[]) => berth(["--root", stateRoot, "--image-root", imageRoot, ...args], { timeoutMs: 60_000 });
const ok = (args: string[]) => {
  const r = cli(args);
  expect({ args, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ args, exitCode: 0, stderr: "" });
  return r.stdout;
};

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "berth-img-"));
  imageRoot = join(work, "store");
  stateRoot = join(work, "state");
  mkdirSync(stateRoot);
});
afterEach(() => {
  ids.deleteAll((id) => cli(["delete", "--force", id]));
  const mounted = readFileSync("/proc/self/mountinfo", "utf8").includes(work);
  rmSync(work, { recursive: true, force: true });
  expect(mounted).toBe(false);
});

/** A tar of the directory's contents. */
function tarOf(dir: string): Buffer {
  const out = join(work, `t-${Math.random()}.tar`);
  tar.c({ file: out, cwd: dir, sync: true, portable: false }, readdirSync(dir));
  const b = readFileSync(out);
  rmSync(out);
  return b;
}

function tree(files: Record<string, string | null>): string {
  const d = mkdtempSync(join(work, "layer-"));
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(d, p, content === null ? "" : ".."), { recursive: true });
    if (content !== null) writeFileSync(join(d, p), content);
  }
  return d;
}

/** One raw ustar entry (for entries node-tar would not write: "..", absolute paths). */
function rawEntry(name: string, type: "0" | "2" | "5", body = "", linkname = ""): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, "latin1");
  const oct = (n: number, off: number, len: number) => put(n.toString(8).padStart(len - 1, "0") + "\0", off, len);
  put(name, 0, 100);
  oct(type === "5" ? 0o755 : 0o644, 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(Buffer.byteLength(body), 124, 12);
  oct(0, 136, 12);
  h.write("        ", 148, "latin1");
  put(type, 156, 1);
  put(linkname, 157, 100);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const x of h) sum += x;
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
  data.write(body);
  return Buffer.concat([h, data]);
}
const rawTar = (...entries: Buffer[]) => Buffer.concat([...entries, Buffer.alloc(1024)]);

interface Built {
  layers: Buffer[]; // as stored (the first gzip-compressed)
  diffIds: string[];
  config: Buffer;
}

/** busybox; + files (passwd with a user, a dir to make opaque, files to change and delete); + changes. */
function buildImage(extraTop?: Buffer): Built {
  const baseRaw = tarOf(busyboxRootfs());
  const base = gzipSync(baseRaw);
  const mid = tarOf(tree({ "etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home:/bin/sh\n", "etc/group": "root:x:0:\napp:x:1000:\n", "etc/motd": "old\n", "etc/keep.txt": "keep\n", "rmme.txt": "bye\n", "opq/a": "a\n", "opq/b": "b\n", "work/": null }));
  const top = extraTop ?? tarOf(tree({ "etc/motd": "new\n", "added.txt": "added\n", ".wh.rmme.txt": "", "opq/.wh..wh..opq": "", "opq/c": "c\n" }));
  const raw = [baseRaw, mid, top];
  const diffIds = raw.map(sha);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2024-01-01T00:00:00Z",
      config: { Cmd: ["/bin/sh", "-c", "id -u; id -g; pwd; echo $FOO"], Env: ["PATH=/bin", "FOO=bar"], WorkingDir: "/work", User: "app", ExposedPorts: { "80/tcp": {}, "53/udp": {} } },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: [{ created_by: "busybox base" }, { created_by: "add files" }, { created_by: "change, delete, replace" }],
    }),
  );
  return { layers: [base, mid, top], diffIds, config };
}

/** An OCI image layout directory. */
function ociLayout(img: Built, name: string): string {
  const d = mkdtempSync(join(work, "oci-"));
  mkdirSync(join(d, "blobs/sha256"), { recursive: true });
  const blob = (b: Buffer) => {
    writeFileSync(join(d, "blobs/sha256", sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...blob(img.config) },
      layers: img.layers.map((l, i) => ({ mediaType: i === 0 ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar", ...blob(l) })),
    }),
  );
  const m = blob(manifest);
  writeFileSync(join(d, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(d, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, annotations: { "org.opencontainers.image.ref.name": name } }] }));
  return d;
}

/** A docker save archive (the pre-25 form: <id>.json, <n>/layer.tar, manifest.json). */
function dockerSave(img: Built, name: string): string {
  const d = mkdtempSync(join(work, "docker-"));
  const configName = `${sha(img.config).slice(7)}.json`;
  writeFileSync(join(d, configName), img.config);
  const layers = img.layers.map((l, i) => {
    mkdirSync(join(d, `l${i}`));
    writeFileSync(join(d, `l${i}/layer.tar`), l);
    return `l${i}/layer.tar`;
  });
  writeFileSync(join(d, "manifest.json"), JSON.stringify([{ Config: configName, RepoTags: [name], Layers: layers }]));
  const file = join(work, `docker-${Math.random()}.tar`);
  tar.c({ file, cwd: d, sync: true }, readdirSync(d));
  return file;
}

/** Every path under the store (to prove a refused load changed nothing). */
function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(join(dir, rel))) {
      const r = rel ? `${rel}/${n}` : n;
      out.push(r);
      if (lstatSync(join(dir, r)).isDirectory()) walk(r);
    }
  };
  walk("");
  return out.filter((p) => !p.startsWith("tmp/")).sort();
}

/** A bundle for `image`, its process replaced by `script` (as root when asked). */
function bundleFor(image: string, script?: string, root = false): string {
  const dir = join(work, `bundle-${Math.random().toString(36).slice(2)}`);
  ok(["bundle", image, dir]);
  if (script || root) {
    const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    if (script) c.process.args = ["/bin/sh", "-c", script];
    if (root) c.process.user = { uid: 0, gid: 0 };
    writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  }
  return dir;
}

test("a docker save archive: load, ls, bundle (args, env, cwd, user, ports), run sees the merged layers", () => {
  const img = buildImage();
  expect(ok(["image", "load", dockerSave(img, "test/img:v1")])).toBe("Loaded image: test/img:v1\n");
  expect(ok(["image", "ls"])).toMatch(/test\/img:v1\s+[0-9a-f]{12}\s+2024-01-01T00:00:00Z/);
  const dir = bundleFor("test/img:v1");
  const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  expect(c.process).toMatchObject({ args: ["/bin/sh", "-c", "id -u; id -g; pwd; echo $FOO"], env: ["PATH=/bin", "FOO=bar"], cwd: "/work", user: { uid: 1000, gid: 1000 } });
  expect(c.annotations["org.opencontainers.image.exposedPorts"]).toBe("80/tcp,53/udp");
  expect(c.annotations["org.berth.image"]).toMatch(/^sha256:/);
  const id = uniq("run");
  const r = berth(["--root", stateRoot, "--image-root", imageRoot, "run", "--bundle", dir, id]);
  expect(r).toEqual({ exitCode: 0, stdout: "1000\n1000\n/work\nbar\n", stderr: "" });
  const dir2 = bundleFor("test/img:v1", "cat /etc/motd /added.txt; ls /opq; ls /rmme.txt 2>&1; cat /etc/keep.txt");
  const r2 = cli(["run", "--bundle", dir2, uniq("view")]);
  expect(r2.stdout).toBe("new\nadded\nc\nls: /rmme.txt: No such file or directory\nkeep\n");
  expect(existsSync(join(imageRoot, "containers"))).toBe(true);
  expect(readdirSync(join(imageRoot, "containers"))).toEqual([]); // run without --keep deleted both
});

test("an OCI layout (dir and tar): write inside, diff, commit (the new image sees it), export, history", async () => {
  const img = buildImage();
  const layout = ociLayout(img, "test/oci:v1");
  expect(ok(["image", "load", layout])).toBe("Loaded image: test/oci:v1\n");
  const asTar = join(work, "oci.tar");
  tar.c({ file: asTar, cwd: layout, sync: true }, readdirSync(layout));
  ok(["image", "load", asTar]);
  const id = uniq("write");
  const dir = bundleFor("test/oci:v1", "echo hi > /new.txt; echo newer > /etc/motd; rm /etc/keep.txt; rm -r /opq; mkdir /opq; echo d > /opq/d", true);
  ok(["run", "--keep", "--bundle", dir, id]);
  expect(ok(["diff", id])).toBe(["C /etc", "D /etc/keep.txt", "C /etc/motd", "A /new.txt", "C /opq", "D /opq/c", "A /opq/d", ""].join("\n"));
  // image rm refuses while the container's writable layer sits on the image.
  const rm = cli(["image", "rm", "test/oci:v1"]);
  expect(rm.exitCode).toBe(1);
  expect(rm.stderr).toMatch(/in use by container/);

  const newId = ok(["commit", id, "test/oci:v2"]).trim();
  expect(newId).toMatch(/^sha256:[0-9a-f]{64}$/);
  const hist = ok(["image", "history", "test/oci:v2"]).split("\n");
  expect(hist[1]).toMatch(new RegExp(`^berth commit ${id}\\s+\\d+$`));
  expect(hist.slice(2, 5).map((l) => l.split(/\s{2,}/)[0])).toEqual(["change, delete, replace", "add files", "busybox base"]);
  const dir2 = bundleFor("test/oci:v2", "cat /new.txt /etc/motd; ls /opq; ls /etc/keep.txt 2>&1", true);
  expect(cli(["run", "--bundle", dir2, uniq("v2")]).stdout).toBe("hi\nnewer\nd\nls: /etc/keep.txt: No such file or directory\n");

  const out = join(work, "export.tar");
  ok(["export", "-o", out, id]);
  const entries: string[] = [];
  await tar.t({ file: out, onReadEntry: (e) => entries.push(e.path.replace(/\/$/, "")) });
  const rootfs = join(dir, "rootfs");
  const merged = snapshot(rootfs).filter((p) => !lstatSync(join(rootfs, p)).isCharacterDevice());
  expect(entries.sort()).toEqual(merged);
  expect(entries).toEqual(expect.arrayContaining(["new.txt", "opq/d", "bin/busybox"]));
  expect(entries).not.toContain("etc/keep.txt");
  ok(["delete", id]);
  expect(existsSync(join(imageRoot, "containers", id))).toBe(false);
});

test("save, then load into another store: the same digests; rm removes the image", () => {
  ok(["image", "load", dockerSave(buildImage(), "test/rt:v1")]);
  const before = JSON.parse(ok(["image", "inspect", "test/rt:v1"]));
  const out = join(work, "saved.tar");
  ok(["image", "save", "test/rt:v1", "-o", out]);
  imageRoot = join(work, "store2");
  expect(ok(["image", "load", out])).toBe("Loaded image: test/rt:v1\n");
  const after = JSON.parse(ok(["image", "inspect", "test/rt:v1"]));
  expect({ Id: after.Id, Digest: after.Digest, Layers: after.Layers }).toEqual({ Id: before.Id, Digest: before.Digest, Layers: before.Layers });
  expect(ok(["image", "rm", "test/rt:v1"])).toBe("Untagged: test/rt:v1\n");
  expect(ok(["image", "ls"])).toBe("IMAGE   ID   CREATED   SIZE\n");
  expect(readdirSync(join(imageRoot, "layers"))).toEqual([]);
});

describe("refused archives leave the store unchanged", () => {
  const refused = (input: string, pattern: RegExp) => {
    ok(["image", "load", dockerSave(buildImage(), "test/good:v1")]);
    const before = snapshot(imageRoot);
    const r = cli(["image", "load", input]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(pattern);
    expect(snapshot(imageRoot)).toEqual(before);
  };
  test("path traversal in a layer", () => {
    const img = buildImage(rawTar(rawEntry("ok.txt", "0", "ok\n"), rawEntry("../../etc/passwd", "0", "evil\n")));
    const layer = sha(img.layers[2]!);
    refused(dockerSave(img, "test/evil:v1"), new RegExp(`image test/evil:v1: layer ${layer}: \\.\\./\\.\\./etc/passwd: path traversal`));
  });
  test("writing through a symlink to /etc", () => {
    const img = buildImage(rawTar(rawEntry("escape", "2", "", "/etc"), rawEntry("escape/passwd", "0", "evil\n")));
    refused(dockerSave(img, "test/evil:v2"), /image test\/evil:v2: layer sha256:[0-9a-f]{64}: escape\/passwd: path through the symbolic link "escape"/);
  });
  test("a truncated archive", () => {
    const full = readFileSync(dockerSave(buildImage(), "test/trunc:v1"));
    const cut = join(work, "cut.tar");
    writeFileSync(cut, full.subarray(0, Math.floor(full.length / 2)));
    refused(cut, /image load .*cut\.tar: .*(truncated|missing from the archive|wrong digest)/i);
  });
  test("a blob whose digest is wrong", () => {
    const img = buildImage();
    const layout = ociLayout(img, "test/bad:v1");
    const victim = join(layout, "blobs/sha256", sha(img.layers[1]!).slice(7));
    const bytes = readFileSync(victim);
    bytes[600] = bytes[600]! ^ 0xff;
    writeFileSync(victim, bytes);
    refused(layout, new RegExp(`layer ${sha(img.layers[1]!)}: blobs/sha256/[0-9a-f]+: wrong digest`));
  });
});

test("a failed create removes the overlay mount and the writable layer; absolute symlinks in a layer are kept", () => {
  const top = rawTar(rawEntry("abs", "2", "", "/etc/motd"), rawEntry("etc/", "5"), rawEntry("etc/motd", "0", "new\n"));
  ok(["image", "load", dockerSave(buildImage(top), "test/fail:v1")]);
  const dir = bundleFor("test/fail:v1", "readlink /abs; cat /abs", true);
  const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  c.mounts.push({ destination: "/data", type: "bind", source: join(work, "missing"), options: ["bind"] });
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  const r = cli(["create", "--bundle", dir, uniq("fail")]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(/mounts\[\d+\]\.source .*stat: no such file or directory/);
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(dir, "rootfs"));
  expect(readdirSync(join(imageRoot, "containers"))).toEqual([]);
  c.mounts.pop();
  writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  expect(cli(["run", "--bundle", dir, uniq("abs")]).stdout).toBe("/etc/motd\nnew\n");
});
