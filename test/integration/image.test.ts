/**
 * The layer model, as root, with real containers: images built here (a busybox base layer, a
 * layer of files, and a layer that changes, deletes -- a whiteout -- and replaces a directory --
 * an opaque one), in both archive formats; load, bundle, run, write, diff, commit, export, save
 * and load back; corrupt archives refused with the store unchanged; nothing left mounted.
 * Every test has its own --image-root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import * as tar from "tar";
import { berth, berthBin, repoRoot, runCaptured } from "../helpers/cli";
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
  const mid = tarOf(
    tree({
      "etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home:/bin/sh\n",
      "etc/group": "root:x:0:\napp:x:1000:\n",
      "etc/motd": "old\n",
      "etc/keep.txt": "keep\n",
      "rmme.txt": "bye\n",
      "opq/a": "a\n",
      "opq/b": "b\n",
      "work/": null,
    }),
  );
  const top =
    extraTop ?? tarOf(tree({ "etc/motd": "new\n", "added.txt": "added\n", ".wh.rmme.txt": "", "opq/.wh..wh..opq": "", "opq/c": "c\n" }));
  const raw = [baseRaw, mid, top];
  const diffIds = raw.map(sha);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2024-01-01T00:00:00Z",
      config: {
        Cmd: ["/bin/sh", "-c", "id -u; id -g; pwd; echo $FOO"],
        Env: ["PATH=/bin", "FOO=bar"],
        WorkingDir: "/work",
        User: "app",
        ExposedPorts: { "80/tcp": {}, "53/udp": {} },
      },
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
      layers: img.layers.map((l, i) => ({
        mediaType: i === 0 ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar",
        ...blob(l),
      })),
    }),
  );
  const m = blob(manifest);
  writeFileSync(join(d, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(d, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, annotations: { "org.opencontainers.image.ref.name": name } },
      ],
    }),
  );
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
  expect(ok(["image", "ls"])).toMatch(/^test\/img:v1\s+[0-9a-f]{12}\s+\d+ (months|years) ago\s+\d+(\.\d+)?MB$/m);
  const dir = bundleFor("test/img:v1");
  const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  expect(c.process).toMatchObject({
    args: ["/bin/sh", "-c", "id -u; id -g; pwd; echo $FOO"],
    env: ["PATH=/bin", "FOO=bar"],
    cwd: "/work",
    user: { uid: 1000, gid: 1000 },
  });
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
  const dir = bundleFor(
    "test/oci:v1",
    "echo hi > /new.txt; echo newer > /etc/motd; rm /etc/keep.txt; rm -r /opq; mkdir /opq; echo d > /opq/d",
    true,
  );
  ok(["run", "--keep", "--bundle", dir, id]);
  expect(ok(["diff", id])).toBe(
    ["C /etc", "D /etc/keep.txt", "C /etc/motd", "A /new.txt", "C /opq", "D /opq/c", "A /opq/d", ""].join("\n"),
  );
  // image rm refuses while the container's writable layer sits on the image.
  const rm = cli(["image", "rm", "test/oci:v1"]);
  expect(rm.exitCode).toBe(1);
  expect(rm.stderr).toMatch(/in use by container/);

  const newId = ok(["commit", id, "test/oci:v2"]).trim();
  expect(newId).toMatch(/^sha256:[0-9a-f]{64}$/);
  const hist = ok(["image", "history", "test/oci:v2"]).split("\n");
  expect(hist[0]).toMatch(/^CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  expect(hist[1]).toMatch(new RegExp(`^(Less than a second|\\d+ seconds) ago\\s+berth commit ${id}\\s+\\d+(\\.\\d+)?kB$`));
  // The base image's history entries carry no time: N/A, as Docker prints a missing one.
  expect(hist.slice(2, 5).map((l) => l.split(/\s{2,}/).slice(0, 2))).toEqual([
    ["N/A", "change, delete, replace"],
    ["N/A", "add files"],
    ["N/A", "busybox base"],
  ]);
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
  expect({ Id: after.Id, Digest: after.Digest, Layers: after.Layers }).toEqual({
    Id: before.Id,
    Digest: before.Digest,
    Layers: before.Layers,
  });
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
    refused(
      dockerSave(img, "test/evil:v2"),
      /image test\/evil:v2: layer sha256:[0-9a-f]{64}: escape\/passwd: path through the symbolic link "escape"/,
    );
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

/** `docker save` as Docker >= 25 writes it: an OCI layout tar with manifest.json, two names. */
function dockerSave25(img: Built, familiar: string, full: string, file: string): void {
  const d = ociLayout(img, "latest");
  const index = JSON.parse(readFileSync(join(d, "index.json"), "utf8"));
  index.manifests[0].annotations = { "io.containerd.image.name": full, "org.opencontainers.image.ref.name": "latest" };
  writeFileSync(join(d, "index.json"), JSON.stringify(index));
  writeFileSync(
    join(d, "manifest.json"),
    JSON.stringify([
      {
        Config: `blobs/sha256/${sha(img.config).slice(7)}`,
        RepoTags: [familiar],
        Layers: img.layers.map((l) => `blobs/sha256/${sha(l).slice(7)}`),
      },
    ]),
  );
  tar.c({ file, cwd: d, sync: true }, readdirSync(d));
}

test("the README's image walkthrough, line by line as written (an unchanged container commits to an image with an empty layer)", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Images and layers"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const lines = block
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter(Boolean);
  // The one line that needs Docker: its output is made here, as Docker >= 25 writes it.
  expect(lines[0]).toBe("docker save busybox:latest -o busybox.tar");
  const busybox = buildImage(tarOf(tree({ "etc/hostname.txt": "x\n" })));
  const config = JSON.parse(busybox.config.toString());
  // The image's own program only reads: c1 changes nothing in its writable layer.
  config.config = { Cmd: ["/bin/sh", "-c", "cat /etc/motd"], Env: ["PATH=/bin"] };
  busybox.config = Buffer.from(JSON.stringify(config));
  dockerSave25(busybox, "busybox:latest", "docker.io/library/busybox:latest", join(work, "busybox.tar"));
  // `berth` on PATH, with this test's state and image roots.
  const bin = join(work, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "berth"), `#!/bin/sh\nexec ${berthBin} --root ${stateRoot} --image-root ${imageRoot} "$@"\n`);
  chmodSync(join(bin, "berth"), 0o755);
  ids.push("c1", "c2");
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const seen: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const r = runCaptured("bash", ["-e", "-c", line], { cwd: work, env, timeoutMs: 60_000 });
    expect({ line, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ line, exitCode: 0, stderr: "" });
    seen[line] = r.stdout;
  }
  expect(seen["berth image load busybox.tar"]).toBe("Loaded image: busybox:latest\n");
  expect(seen["berth run --keep --bundle ./bb c1"]).toBe("old\n");
  expect(seen["berth diff c1"]).toBe("");
  expect(seen["berth commit c1 mybox:v2"]).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  expect(existsSync(join(work, "c1.tar")) && existsSync(join(work, "mybox.tar"))).toBe(true);
  // mybox.tar's top layer is the empty tar (two zero blocks), as Docker and podman commit an
  // unchanged container; it loads, and runs, in another store.
  imageRoot = join(work, "store2");
  expect(ok(["image", "load", join(work, "mybox.tar")])).toBe("Loaded image: mybox:v2\n");
  const layers = JSON.parse(ok(["image", "inspect", "mybox:v2"])).Layers as { digest: string; size: number }[];
  expect(layers.at(-1)).toMatchObject({ digest: sha(Buffer.alloc(1024)), size: 1024 });
  expect(cli(["run", "--bundle", bundleFor("mybox:v2"), uniq("mybox")]).stdout).toBe("old\n");
});

/** busybox with its top layer compressed by the zstd CLI, as an OCI layout (tar+zstd). */
function zstdLayout(name: string, created: string): { dir: string; top: Buffer; tarSizes: number[] } {
  const img = buildImage();
  // The layers' uncompressed tars (the first is gzip-compressed, the top is about to be zstd's).
  const tarSizes = [gunzipSync(img.layers[0]!).length, img.layers[1]!.length, img.layers[2]!.length];
  const raw = join(work, "top.tar");
  writeFileSync(raw, img.layers[2]!);
  execFileSync("zstd", ["-q", "-19", "-f", raw, "-o", `${raw}.zst`]);
  const top = readFileSync(`${raw}.zst`);
  img.layers[2] = top;
  const config = JSON.parse(img.config.toString());
  config.created = created;
  config.history = [
    { created_by: "busybox base", created },
    { created_by: "add files", created },
    { created_by: "change, delete, replace", created, comment: "zstd" },
  ];
  img.config = Buffer.from(JSON.stringify(config));
  const dir = ociLayout(img, name);
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const manifestFile = join(dir, "blobs/sha256", index.manifests[0].digest.slice(7));
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
  manifest.layers[2].mediaType = "application/vnd.oci.image.layer.v1.tar+zstd";
  const bytes = Buffer.from(JSON.stringify(manifest));
  rmSync(manifestFile);
  writeFileSync(join(dir, "blobs/sha256", sha(bytes).slice(7)), bytes);
  index.manifests[0] = { ...index.manifests[0], digest: sha(bytes), size: bytes.length };
  writeFileSync(join(dir, "index.json"), JSON.stringify(index));
  return { dir, top, tarSizes };
}

test("a zstd-compressed layer (application/vnd.oci.image.layer.v1.tar+zstd) loads, unpacks and runs; a truncated one is refused", () => {
  const { dir, top } = zstdLayout("test/zstd:v1", "2024-01-01T00:00:00Z");
  expect(top.subarray(0, 4).toString("hex")).toBe("28b52ffd");
  expect(ok(["image", "load", dir])).toBe("Loaded image: test/zstd:v1\n");
  const run = bundleFor("test/zstd:v1", "cat /etc/motd /added.txt; ls /opq; ls /rmme.txt 2>&1", true);
  expect(cli(["run", "--bundle", run, uniq("zstd")]).stdout).toBe("new\nadded\nc\nls: /rmme.txt: No such file or directory\n");

  const bad = zstdLayout("test/zstdcut:v1", "2024-01-01T00:00:00Z");
  const blob = join(bad.dir, "blobs/sha256", sha(bad.top).slice(7));
  const cut = bad.top.subarray(0, Math.floor(bad.top.length / 2));
  // A truncated blob whose digest is made to match: the decoder itself must notice.
  rmSync(blob);
  writeFileSync(join(bad.dir, "blobs/sha256", sha(cut).slice(7)), cut);
  const index = JSON.parse(readFileSync(join(bad.dir, "index.json"), "utf8"));
  const mPath = join(bad.dir, "blobs/sha256", index.manifests[0].digest.slice(7));
  const manifest = JSON.parse(readFileSync(mPath, "utf8"));
  manifest.layers[2] = { ...manifest.layers[2], digest: sha(cut), size: cut.length };
  const mBytes = Buffer.from(JSON.stringify(manifest));
  writeFileSync(join(bad.dir, "blobs/sha256", sha(mBytes).slice(7)), mBytes);
  index.manifests[0] = { ...index.manifests[0], digest: sha(mBytes), size: mBytes.length };
  writeFileSync(join(bad.dir, "index.json"), JSON.stringify(index));
  const r = cli(["image", "load", bad.dir]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(
    new RegExp(`^berth: image load .*: image test/zstdcut:v1: layer ${sha(cut)}: zstd: .*\\(truncated or corrupt archive\\)\n$`),
  );
});

test("image ls and history: CREATED from the image config as an age, sizes as Docker prints them (of the uncompressed layers, as podman counts); ls -q prints the ids", () => {
  const threeDays = new Date(Date.now() - 3 * 24 * 3600_000 - 60_000).toISOString();
  const { dir, tarSizes } = zstdLayout("test/ages:v1", threeDays);
  ok(["image", "load", dir]);
  ok(["image", "load", dockerSave(buildImage(), "test/img:v1")]);
  const inspect = JSON.parse(ok(["image", "inspect", "test/ages:v1"]));
  const size = tarSizes.reduce((a, n) => a + n, 0);
  // Not the blobs' sizes: two of the three layers are compressed.
  expect((inspect.Layers as { size: number }[]).reduce((n, l) => n + l.size, 0)).toBeLessThan(size);
  expect(inspect.Size).toBe(size);
  const listed = JSON.parse(ok(["image", "ls", "--format", "json"]));
  expect(listed.find((i: { name: string }) => i.name === "test/ages:v1")).toMatchObject({ size, created: threeDays });
  expect(size).toBeGreaterThan(1_000_000); // busybox: the size is in MB, three digits
  const mb = (size / 1e6).toPrecision(3);
  const ls = ok(["image", "ls"]).split("\n");
  expect(ls[0]).toMatch(/^IMAGE\s+ID\s+CREATED\s+SIZE$/);
  expect(ls.find((l) => l.startsWith("test/ages:v1"))).toMatch(
    new RegExp(`^test/ages:v1\\s+${inspect.Id.slice(7, 19)}\\s+3 days ago\\s+${Number(mb)}MB$`),
  );
  const ids = JSON.parse(ok(["image", "ls", "--format", "json"])).map((i: { id: string }) => i.id);
  expect(ok(["image", "ls", "-q"])).toBe(ids.map((i: string) => `${i}\n`).join(""));
  expect(ok(["image", "ls", "--quiet"]).split("\n").filter(Boolean)).toHaveLength(2);
  const hist = ok(["image", "history", "test/ages:v1"]).split("\n");
  expect(hist[1]).toMatch(/^3 days ago\s+change, delete, replace\s+\d+(\.\d+)?kB\s+zstd$/);
  expect(hist[3]).toMatch(/^3 days ago\s+busybox base\s+\d+(\.\d+)?MB$/);
  expect(JSON.parse(ok(["image", "history", "--format", "json", "test/ages:v1"])).map((r: { size: number }) => r.size)).toEqual(
    [...tarSizes].reverse(),
  );
});

test("image load shows per-layer progress on stderr when it is a terminal, and nothing when it is not", () => {
  const archive = dockerSave(buildImage(), "test/progress:v1");
  // stderr on a pseudo-terminal, stdout to a pipe.
  const py = [
    "import json, os, pty, subprocess, sys, tty",
    "m, s = pty.openpty()",
    "tty.setraw(s)",
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=s)",
    "os.close(s)",
    "err = b''",
    "while True:",
    "    try:",
    "        b = os.read(m, 65536)",
    "    except OSError:",
    "        break",
    "    if not b: break",
    "    err += b",
    "out = p.stdout.read(); p.wait()",
    "sys.stdout.write(json.dumps([p.returncode, out.decode(), err.decode()]))",
  ].join("\n");
  const r = spawnSync("python3", ["-c", py, berthBin, "--root", stateRoot, "--image-root", imageRoot, "image", "load", archive], {
    encoding: "utf8",
    timeout: 60_000,
  });
  const [code, out, err] = JSON.parse(r.stdout);
  expect({ code, out }).toEqual({ code: 0, out: "Loaded image: test/progress:v1\n" });
  // What stays on the terminal once each line is done (a carriage return rewrites the line).
  const screen = (err as string)
    .split("\n")
    .map((l) =>
      l
        .split("\r")
        .pop()!
        .replace(/\u001b\[K/g, ""),
    )
    .filter(Boolean);
  expect(screen).toEqual([
    expect.stringMatching(/^Reading archive: \d+(\.\d+)?MB$/),
    expect.stringMatching(/^Layer 1\/3 [0-9a-f]{12}: \d+(\.\d+)?(k|M)B unpacked$/),
    expect.stringMatching(/^Layer 2\/3 [0-9a-f]{12}: \d+(\.\d+)?kB unpacked$/),
    expect.stringMatching(/^Layer 3\/3 [0-9a-f]{12}: \d+(\.\d+)?kB unpacked$/),
  ]);
  expect(err).toMatch(/Layer 1\/3 [0-9a-f]{12}: [\d.]+[kM]?B \/ [\d.]+[kM]B \(\d+%\)/);
  // Into another store, stderr not a terminal (a file): nothing on stderr.
  imageRoot = join(work, "store2");
  expect(cli(["image", "load", archive])).toEqual({ exitCode: 0, stdout: "Loaded image: test/progress:v1\n", stderr: "" });
});
