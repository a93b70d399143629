/**
 * flock(): the lock berth takes on a container's state directory, observed against another open
 * file description in this process and against util-linux flock(1) in another process.
 * Needs `npm run build:native`; no root.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import * as native from "../../src/native";

const work = mkdtempSync(join(tmpdir(), "berth-flock-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let seq = 0;
function lockFile(): string {
  return join(work, `lock-${seq++}`);
}

/** Two independent open file descriptions of one file: flock treats them as two owners. */
function twoOpens(file: string): [number, number] {
  return [openSync(file, "a+"), openSync(file, "a+")];
}

test("exclusive excludes everyone; unlock lets the next one in", () => {
  const [a, b] = twoOpens(lockFile());
  try {
    expect(native.flock(a, "ex")).toBe(true);
    expect(native.flock(b, "ex", true)).toBe(false);
    expect(native.flock(b, "sh", true)).toBe(false);
    expect(native.flock(a, "un")).toBe(true);
    expect(native.flock(b, "ex", true)).toBe(true);
    expect(native.flock(a, "sh", true)).toBe(false);
  } finally {
    closeSync(a);
    closeSync(b);
  }
});

test("shared locks coexist and keep an exclusive one out", () => {
  const [a, b] = twoOpens(lockFile());
  const c = openSync(join(work, `lock-${seq - 1}`), "a+");
  try {
    expect(native.flock(a, "sh")).toBe(true);
    expect(native.flock(b, "sh", true)).toBe(true);
    expect(native.flock(c, "ex", true)).toBe(false);
  } finally {
    for (const fd of [a, b, c]) closeSync(fd);
  }
});

test("closing the fd releases the lock", () => {
  const file = lockFile();
  const [a, b] = twoOpens(file);
  try {
    expect(native.flock(a, "ex")).toBe(true);
    closeSync(a);
    expect(native.flock(b, "ex", true)).toBe(true);
  } finally {
    closeSync(b);
  }
});

test("the same open file description may convert its lock (sh -> ex) without conflict", () => {
  const [a, b] = twoOpens(lockFile());
  try {
    expect(native.flock(a, "sh")).toBe(true);
    expect(native.flock(a, "ex", true)).toBe(true);
    expect(native.flock(b, "sh", true)).toBe(false);
  } finally {
    closeSync(a);
    closeSync(b);
  }
});

test("blocking mode waits for another process to let go", async () => {
  const file = lockFile();
  // flock(1) takes the exclusive lock, says so, holds it for 400 ms, and writes a marker just
  // before it lets go: the blocking flock can return only after the marker exists.
  const marker = `${file}.released`;
  const holder = spawn("flock", ["-x", file, "-c", `echo locked; sleep 0.4; : > '${marker}'`], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => holder.on("exit", resolve));
  await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
  const fd = openSync(file, "a+");
  try {
    expect(native.flock(fd, "ex", true)).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(native.flock(fd, "ex")).toBe(true); // blocks this thread until flock(1) exits
    expect(existsSync(marker)).toBe(true);
  } finally {
    closeSync(fd);
    await exited;
  }
});

test("errors: a bad fd is EBADF like Node's own; a bad op is a TypeError", () => {
  const fd = openSync(lockFile(), "a+");
  closeSync(fd);
  expect(() => native.flock(fd, "ex", true)).toThrow(
    expect.objectContaining({ code: "EBADF", errno: constants.errno.EBADF, syscall: "flock", message: "EBADF: bad file descriptor, flock" }),
  );
  expect(() => native.flock(0, "exclusive" as native.FlockOp)).toThrow(
    expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }),
  );
  expect(() => native.flock(-1, "ex")).toThrow(expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }));
  expect(() => native.flock("3" as unknown as number, "ex")).toThrow(expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" }));
});
