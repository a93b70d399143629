/**
 * berth as a Node library (src/index.ts): the lifecycle as async functions in one process, as
 * a program embedding berth would use it, observed through what the container wrote and what
 * the host is left with.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as tar from "tar";
import * as berth from "../../src/index";
import { busyboxRootfs, cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";

let b: TestBundle;
afterEach(() => b?.cleanup());

function outputFile(name: string): { fd: number; read: () => string; close: () => void } {
  const path = join(b.dir, name);
  const fd = openSync(path, "w+");
  return { fd, read: () => readFileSync(path, "utf8"), close: () => closeSync(fd) };
}

test("create, state, start, wait, delete in one process: the exit status and output reach the caller", async () => {
  b = makeBundle(["sh", "-c", "echo hello from $(hostname); exit 3"]);
  const out = outputFile("out");
  const id = `t-lib-${process.pid}`;
  const created = await berth.create(id, { root: b.root, bundle: b.dir, stdio: [out.fd, out.fd, out.fd] });
  expect(created).toMatchObject({ id, status: "created", bundle: b.dir });
  expect((await berth.list({ root: b.root })).map((s) => [s.id, s.status])).toEqual([[id, "created"]]);
  await berth.start(id, { root: b.root });
  expect(await berth.wait(id, { root: b.root })).toEqual({ exitCode: 3, signal: null });
  expect((await berth.state(id, { root: b.root })).status).toBe("stopped");
  await berth.delete(id, { root: b.root });
  out.close();
  expect(out.read()).toBe("hello from berth\n");
  expect(existsSync(join(b.root, id))).toBe(false);
  expect(cgroupDirsFor(`/berth/${id}`)).toEqual([]);
  await expect(berth.state(id, { root: b.root })).rejects.toThrow(`berth: state ${id}: container does not exist`);
});

test("run: many containers in sequence from one process, each cleaned up", async () => {
  b = makeBundle(["sh", "-c", "exit $(cat /proc/sys/kernel/hostname | wc -c)"]);
  const out = outputFile("out");
  for (let i = 0; i < 20; i++) {
    const id = `t-librun-${process.pid}-${i}`;
    // "berth\n" is six bytes.
    expect(await berth.run(id, { root: b.root, bundle: b.dir, stdio: [out.fd, out.fd, out.fd] })).toBe(6);
    expect(existsSync(join(b.root, id))).toBe(false);
  }
  out.close();
  expect(out.read()).toBe("");
});

test("errors are BerthErrors with the op, the container and the field", async () => {
  b = makeBundle(["true"], (c) => (c.process.cwd = "relative"));
  const err = await berth.create("t-libbad", { root: b.root, bundle: b.dir }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(berth.BerthError);
  expect((err as Error).message).toBe('berth: create t-libbad: process.cwd "relative": must be an absolute path');
  expect(existsSync(join(b.root, "t-libbad"))).toBe(false);
});

test("BerthError.code tells the errors a program must tell apart, and the messages stay runc's", async () => {
  b = makeBundle(["sleep", "30"]);
  const root = b.root;
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => "resolved",
      (e: unknown) => (e instanceof berth.BerthError ? [e.code, e.message] : String(e)),
    );

  expect(await codeOf(berth.state("t-nope", { root }))).toEqual(["container-not-found", "berth: state t-nope: container does not exist"]);
  expect(await codeOf(berth.kill("t-nope", "KILL", { root }))).toEqual([
    "container-not-found",
    "berth: kill t-nope: container does not exist",
  ]);
  expect(await codeOf(berth.state("bad/id", { root }))).toEqual(["invalid-argument", expect.stringContaining("invalid container id")]);

  await berth.create("t-codes", { root, bundle: b.dir });
  try {
    expect(await codeOf(berth.create("t-codes", { root, bundle: b.dir }))).toEqual([
      "container-exists",
      "berth: create t-codes: container with id exists: t-codes",
    ]);
    expect(await codeOf(berth.kill("t-codes", "NOSUCHSIG", { root }))).toEqual([
      "invalid-argument",
      expect.stringContaining("unknown signal"),
    ]);
    await berth.start("t-codes", { root });
    expect(await codeOf(berth.start("t-codes", { root }))).toEqual([
      "container-state",
      "berth: start t-codes: cannot start an already running container",
    ]);
    expect(await codeOf(berth.delete("t-codes", { root }))).toEqual([
      "container-state",
      expect.stringContaining("that is not stopped: running"),
    ]);
    await berth.kill("t-codes", "KILL", { root });
    await berth.wait("t-codes", { root });
    expect(await codeOf(berth.kill("t-codes", "KILL", { root }))).toEqual([
      "container-not-running",
      "berth: kill t-codes: container not running",
    ]);
    expect(await codeOf(berth.start("t-codes", { root }))).toEqual([
      "container-state",
      "berth: start t-codes: cannot start a container that has stopped",
    ]);
  } finally {
    await berth.delete("t-codes", { root, force: true });
  }

  b.config.process.cwd = "relative";
  b.write();
  expect(await codeOf(berth.create("t-codes2", { root, bundle: b.dir }))).toEqual([
    "invalid-config",
    'berth: create t-codes2: process.cwd "relative": must be an absolute path',
  ]);
});

test("wait with an AbortSignal: an abort rejects with an AbortError at once, the container keeps running, a later wait works", async () => {
  b = makeBundle(["sleep", "30"]);
  const root = b.root;
  const id = "t-waitabort";
  await berth.create(id, { root, bundle: b.dir });
  try {
    await berth.start(id, { root });
    const ac = new AbortController();
    const t0 = Date.now();
    const waiting = berth.wait(id, { root, signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    const err = await waiting.catch((e: unknown) => e);
    expect((err as Error).name).toBe("AbortError");
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await berth.state(id, { root })).status).toBe("running");

    // An already aborted signal rejects before anything is waited for.
    const pre = AbortSignal.abort();
    expect(((await berth.wait(id, { root, signal: pre }).catch((e: unknown) => e)) as Error).name).toBe("AbortError");

    // The pidfd is still this process's: a later wait (with a live signal) reaps the status.
    await berth.kill(id, "KILL", { root });
    expect(await berth.wait(id, { root, signal: new AbortController().signal })).toEqual({ exitCode: null, signal: 9 });
    expect((await berth.state(id, { root })).status).toBe("stopped");
  } finally {
    await berth.delete(id, { root, force: true });
  }
});

test("run with an AbortSignal: an abort kills the running container and removes it; an aborted signal creates nothing", async () => {
  b = makeBundle(["sleep", "30"]);
  const root = b.root;
  const id = `t-runabort-${process.pid}`;
  const ac = new AbortController();
  const t0 = Date.now();
  const running = berth.run(id, { root, bundle: b.dir, signal: ac.signal });
  await until(
    "the container to run",
    () => existsSync(join(root, id)) && readFileSync(join(root, id, "state.json"), "utf8").includes('"running"'),
  );
  ac.abort();
  const err = await running.catch((e: unknown) => e);
  expect((err as Error).name).toBe("AbortError");
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(await codeOf(berth.state(id, { root }))).toEqual(["container-not-found", `berth: state ${id}: container does not exist`]);
  expect(existsSync(join(root, id))).toBe(false);
  expect(cgroupDirsFor(`/berth/${id}`)).toEqual([]);

  const pre = await berth.run(`${id}-pre`, { root, bundle: b.dir, signal: AbortSignal.abort() }).catch((e: unknown) => e);
  expect((pre as Error).name).toBe("AbortError");
  expect(readdirSync(root)).toEqual([]);
});

test("exec with an AbortSignal: an abort kills the exec'd process only; the container runs on", async () => {
  b = makeBundle(["sleep", "30"]);
  const root = b.root;
  const id = `t-execabort-${process.pid}`;
  await berth.create(id, { root, bundle: b.dir });
  try {
    await berth.start(id, { root });
    const init = (await berth.state(id, { root })).pid;
    const proc = { args: ["sleep", "30"], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] };
    const ac = new AbortController();
    const t0 = Date.now();
    const execing = berth.exec(id, { root, process: proc, signal: ac.signal });
    for (let i = 0; (await berth.ps(id, { root })).length < 2; i++) {
      if (i > 500) throw new Error("timed out waiting for the exec'd process");
      await sleep(20);
    }
    ac.abort();
    const err = await execing.catch((e: unknown) => e);
    expect((err as Error).name).toBe("AbortError");
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await berth.state(id, { root })).status).toBe("running");
    expect(await berth.ps(id, { root })).toEqual([init]);

    const pre = await berth.exec(id, { root, process: proc, signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((pre as Error).name).toBe("AbortError");
    expect(await berth.ps(id, { root })).toEqual([init]);
  } finally {
    await berth.delete(id, { root, force: true });
  }
});

/** Resolve once `check` holds (polled every 20 ms), or fail with `what` after 10 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: unknown) => (e instanceof berth.BerthError ? [e.code, e.message] : String(e)),
  );

test("pause and resume: the container's processes stop and go on; state says paused; resume of a running one is refused with a code", async () => {
  b = makeBundle(["sh", "-c", "while true; do echo tick; sleep 0.05; done"]);
  const root = b.root;
  const id = "t-libpause";
  const out = outputFile("ticks");
  await berth.create(id, { root, bundle: b.dir, stdio: [out.fd, out.fd, out.fd] });
  out.close();
  try {
    await berth.start(id, { root });
    const count = () => out.read().split("\n").length - 1;
    await until("the counter to run", () => count() > 2);
    await berth.pause(id, { root });
    expect((await berth.state(id, { root })).status).toBe("paused");
    const frozenAt = count();
    await sleep(400);
    expect(count()).toBe(frozenAt);
    expect(await codeOf(berth.pause(id, { root }))).toEqual(["container-not-running", `berth: pause ${id}: container not running`]);
    await berth.resume(id, { root });
    expect((await berth.state(id, { root })).status).toBe("running");
    await until("the counter to go on", () => count() > frozenAt + 2);
    expect(await codeOf(berth.resume(id, { root }))).toEqual(["container-state", `berth: resume ${id}: container not paused`]);
  } finally {
    await berth.delete(id, { root, force: true });
  }
});

test("update: a limit reaches the container's cgroup and its record; a wrong request names the field and changes nothing", async () => {
  b = makeBundle(["sleep", "30"]);
  const root = b.root;
  const id = "t-libupdate";
  await berth.create(id, { root, bundle: b.dir });
  try {
    const pidsMax = () =>
      cgroupDirsFor(`/berth/${id}`)
        .map((d) => join(d, "pids.max"))
        .filter(existsSync)
        .map((f) => readFileSync(f, "utf8").trim());
    expect(pidsMax().length).toBeGreaterThan(0);
    await berth.update(id, { pids: { limit: 42 } }, { root });
    expect([...new Set(pidsMax())]).toEqual(["42"]);
    const recorded = () => JSON.parse(readFileSync(join(root, id, "config.json"), "utf8")).linux.resources.pids;
    expect(recorded()).toEqual({ limit: 42 });
    const bad = await berth.update(id, { pids: { limit: "many" } } as unknown as berth.Resources, { root }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(berth.BerthError);
    expect((bad as berth.BerthError).code).toBe("invalid-config");
    expect((bad as Error).message).toMatch(
      new RegExp(`^berth: update ${id}: linux\\.resources\\.pids\\.limit "many": must be an integer$`),
    );
    expect([...new Set(pidsMax())]).toEqual(["42"]);
    expect(recorded()).toEqual({ limit: 42 });
    expect(await codeOf(berth.update("t-nope", { pids: { limit: 1 } }, { root }))).toEqual([
      "container-not-found",
      "berth: update t-nope: container does not exist",
    ]);
  } finally {
    await berth.delete(id, { root, force: true });
  }
});

test("ps, stats and events: the container's pids, its usage now, and a stream of events that ends with the container", async () => {
  b = makeBundle(["sh", "-c", "sleep 30 & sleep 30 & wait"]);
  const root = b.root;
  const id = "t-libstats";
  await berth.create(id, { root, bundle: b.dir });
  try {
    await berth.start(id, { root });
    const init = (await berth.state(id, { root })).pid!;
    await until("three processes", () => readFileSync(`/proc/${init}/task/${init}/children`, "utf8").trim().split(/\s+/).length === 2);
    const pids = await berth.ps(id, { root });
    const children = readFileSync(`/proc/${init}/task/${init}/children`, "utf8").trim().split(/\s+/).map(Number);
    expect(pids).toEqual([init, ...children].sort((x, y) => x - y));

    const now = await berth.stats(id, { root });
    expect(now.pids.current).toBe(3n);
    expect(now.memory.usage.usage).toBeGreaterThan(0n);

    // A stream, read three times, then left with break: the generator ends and closes its pidfd.
    const fds = () => readdirSync("/proc/self/fd").length;
    const before = fds();
    const seen: berth.ContainerEvent[] = [];
    const t0 = Date.now();
    for await (const e of berth.events(id, { root, interval: 100 })) {
      seen.push(e);
      if (seen.length === 3) break;
    }
    expect(seen.map((e) => [e.type, e.id, e.data?.pids.current])).toEqual([
      ["stats", id, 3n],
      ["stats", id, 3n],
      ["stats", id, 3n],
    ]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(180);
    expect(fds()).toBe(before);

    // Aborted through a signal: an AbortError.
    const ac = new AbortController();
    const aborted = (async () => {
      for await (const e of berth.events(id, { root, interval: 50, signal: ac.signal })) if (e.type === "stats") ac.abort();
    })();
    expect(((await aborted.catch((e: unknown) => e)) as Error).name).toBe("AbortError");

    // The stream ends by itself when the container's init exits.
    const all: string[] = [];
    const ending = (async () => {
      for await (const e of berth.events(id, { root, interval: 50 })) all.push(e.type);
    })();
    await sleep(200);
    await berth.kill(id, "KILL", { root, all: true });
    await ending;
    expect(all.length).toBeGreaterThan(1);
    expect(fds()).toBe(before);
    expect(await codeOf(berth.stats(id, { root }))).toEqual([
      "container-not-running",
      `berth: events ${id}: container with id ${id} is not running`,
    ]);
    expect(await codeOf(berth.events(id, { root }).next())).toEqual([
      "container-not-running",
      `berth: events ${id}: container with id ${id} is not running`,
    ]);
  } finally {
    await berth.delete(id, { root, force: true });
  }
});

/** A docker save archive of busybox, one layer, running `cmd`. */
function busyboxArchive(dir: string, name: string, cmd: string[]): string {
  const sha = (x: Buffer) => `sha256:${createHash("sha256").update(x).digest("hex")}`;
  const d = join(dir, "archive");
  mkdirSync(d);
  const layer = join(d, "layer.tar");
  tar.c({ file: layer, cwd: busyboxRootfs(), sync: true, portable: false }, readdirSync(busyboxRootfs()));
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2024-05-01T00:00:00Z",
      config: { Cmd: cmd, Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: [sha(readFileSync(layer))] },
      history: [{ created_by: "busybox" }],
    }),
  );
  writeFileSync(join(d, "config.json"), config);
  writeFileSync(join(d, "manifest.json"), JSON.stringify([{ Config: "config.json", RepoTags: [name], Layers: ["layer.tar"] }]));
  const file = join(dir, "image.tar");
  tar.c({ file, cwd: d, sync: true }, ["config.json", "manifest.json", "layer.tar"]);
  return file;
}

test("images: load with progress, list, bundle and run, diff, commit, history, export, save, remove, with error codes", async () => {
  b = makeBundle(["true"]);
  const root = b.root;
  const imageRoot = join(b.dir, "images");
  const archive = busyboxArchive(b.dir, "lib/box:v1", ["/bin/sh", "-c", "echo made > /made.txt"]);
  const progress: berth.LoadProgress[] = [];
  expect(await berth.loadImage(archive, { imageRoot, onProgress: (p) => progress.push(p) })).toEqual(["lib/box:v1"]);
  const layerDone = progress.filter((p) => p.phase === "layer" && p.done);
  expect(layerDone).toEqual([expect.objectContaining({ image: "lib/box:v1", index: 1, count: 1, done: true })]);
  expect(layerDone[0]!.bytes).toBe(layerDone[0]!.total);
  expect(progress.filter((p) => p.phase === "archive").at(-1)).toMatchObject({ done: true, bytes: statSync(archive).size });

  const [listed] = await berth.listImages({ imageRoot });
  expect(listed).toMatchObject({ name: "lib/box:v1", created: "2024-05-01T00:00:00Z" });
  expect(listed!.size).toBeGreaterThan(1_000_000);

  const dir = join(b.dir, "bb");
  expect(await berth.bundle("lib/box:v1", dir, { imageRoot })).toBe(join(dir, "config.json"));
  const id = "t-libimg";
  expect(await berth.run(id, { root, bundle: dir, keep: true })).toBe(0);
  try {
    expect(await berth.diff(id, { imageRoot })).toEqual([{ kind: "A", path: "/made.txt" }]);
    expect(await codeOf(berth.removeImage("lib/box:v1", { imageRoot }))).toEqual([
      "image-in-use",
      `berth: image rm lib/box:v1: image is in use by container ${id}`,
    ]);
    const committed = await berth.commit(id, "lib/box:v2", { imageRoot, message: "from the library" });
    expect(committed).toMatchObject({ name: "lib/box:v2", id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    const history = await berth.imageHistory("lib/box:v2", { imageRoot });
    expect(history.map((h) => [h.createdBy, h.comment])).toEqual([
      [`berth commit ${id}`, "from the library"],
      ["busybox", undefined],
    ]);
    expect((await berth.inspectImage("lib/box:v2", { imageRoot })).Id).toBe(committed.id);
    const out = join(b.dir, "rootfs.tar");
    await berth.export(id, out, { imageRoot });
    const names: string[] = [];
    await tar.t({ file: out, onReadEntry: (e) => names.push(e.path) });
    expect(names).toEqual(expect.arrayContaining(["made.txt", "bin/busybox"]));
    const saved = join(b.dir, "saved.tar");
    await berth.saveImage("lib/box:v2", saved, { imageRoot });
    expect(await berth.loadImage(saved, { imageRoot: join(b.dir, "images2") })).toEqual(["lib/box:v2"]);
  } finally {
    await berth.delete(id, { root, force: true });
  }
  expect(await berth.removeImage("lib/box:v2", { imageRoot })).toEqual(["lib/box:v2"]);
  expect((await berth.listImages({ imageRoot })).map((i) => i.name)).toEqual(["lib/box:v1"]);
  expect(await codeOf(berth.removeImage("lib/box:v2", { imageRoot }))).toEqual([
    "image-not-found",
    `berth: image rm lib/box:v2: no such image in ${imageRoot}`,
  ]);
  expect(await codeOf(berth.bundle("lib/nope", join(b.dir, "x"), { imageRoot }))).toEqual([
    "image-not-found",
    `berth: bundle lib/nope: no such image in ${imageRoot}`,
  ]);
  // A system call's failure is a BerthError too, with the path and the errno text.
  const under = join(archive, "bb");
  expect(await codeOf(berth.bundle("lib/box:v1", under, { imageRoot }))).toEqual([
    "system",
    `berth: bundle lib/box:v1: ${join(under, "rootfs")}: mkdir: not a directory`,
  ]);
});

test("loadImage with an AbortSignal: an abort in the middle of a layer rejects with an AbortError and leaves the store as it was", async () => {
  b = makeBundle(["true"]);
  const imageRoot = join(b.dir, "images");
  const archive = busyboxArchive(b.dir, "lib/abort:v1", ["true"]);
  const ac = new AbortController();
  let unpacking = 0;
  const err = await berth
    .loadImage(archive, {
      imageRoot,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === "layer" && !p.done && p.bytes > 0 && ++unpacking === 2) ac.abort();
      },
    })
    .catch((e: unknown) => e);
  expect((err as Error).name).toBe("AbortError");
  expect(unpacking).toBe(2); // no progress after the abort
  expect(await berth.listImages({ imageRoot })).toEqual([]);
  const left = (d: string) => (existsSync(join(imageRoot, d)) ? readdirSync(join(imageRoot, d)) : []);
  expect({ blobs: left("blobs/sha256"), layers: left("layers"), tmp: left("tmp") }).toEqual({ blobs: [], layers: [], tmp: [] });
  // An already aborted signal: nothing is read.
  expect(((await berth.loadImage(archive, { imageRoot, signal: AbortSignal.abort() }).catch((e: unknown) => e)) as Error).name).toBe(
    "AbortError",
  );
  expect(await berth.loadImage(archive, { imageRoot })).toEqual(["lib/abort:v1"]);
});
