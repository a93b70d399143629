/**
 * berth as a Node library (src/index.ts): the lifecycle as async functions in one process, as
 * a program embedding berth would use it, observed through what the container wrote and what
 * the host is left with.
 */
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as berth from "../../src/index";
import { cgroupDirsFor, makeBundle, type TestBundle } from "../helpers/bundle";

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
  const codeOf = (p: Promise<unknown>) => p.then(() => "resolved", (e: unknown) => (e instanceof berth.BerthError ? [e.code, e.message] : String(e)));

  expect(await codeOf(berth.state("t-nope", { root }))).toEqual(["container-not-found", "berth: state t-nope: container does not exist"]);
  expect(await codeOf(berth.kill("t-nope", "KILL", { root }))).toEqual(["container-not-found", "berth: kill t-nope: container does not exist"]);
  expect(await codeOf(berth.state("bad/id", { root }))).toEqual(["invalid-argument", expect.stringContaining("invalid container id")]);

  await berth.create("t-codes", { root, bundle: b.dir });
  try {
    expect(await codeOf(berth.create("t-codes", { root, bundle: b.dir }))).toEqual(["container-exists", "berth: create t-codes: container with id exists: t-codes"]);
    expect(await codeOf(berth.kill("t-codes", "NOSUCHSIG", { root }))).toEqual(["invalid-argument", expect.stringContaining("unknown signal")]);
    await berth.start("t-codes", { root });
    expect(await codeOf(berth.start("t-codes", { root }))).toEqual(["container-state", "berth: start t-codes: cannot start an already running container"]);
    expect(await codeOf(berth.delete("t-codes", { root }))).toEqual(["container-state", expect.stringContaining("that is not stopped: running")]);
    await berth.kill("t-codes", "KILL", { root });
    await berth.wait("t-codes", { root });
    expect(await codeOf(berth.kill("t-codes", "KILL", { root }))).toEqual(["container-not-running", "berth: kill t-codes: container not running"]);
    expect(await codeOf(berth.start("t-codes", { root }))).toEqual(["container-state", "berth: start t-codes: cannot start a container that has stopped"]);
  } finally {
    await berth.delete("t-codes", { root, force: true });
  }

  b.config.process.cwd = "relative";
  b.write();
  expect(await codeOf(berth.create("t-codes2", { root, bundle: b.dir }))).toEqual(["invalid-config", 'berth: create t-codes2: process.cwd "relative": must be an absolute path']);
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
