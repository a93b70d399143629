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
