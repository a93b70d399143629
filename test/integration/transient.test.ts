/**
 * Transient kernel answers are waited out, and lasting ones reported with what they mean:
 *   - `update --resources -` on a non-blocking stdin (its open file description shared with a
 *     parent that set O_NONBLOCK) whose data comes later: EAGAIN is waited out, not reported;
 *   - exec into a container at its pids limit: the clone is retried briefly (an exited process
 *     holds its pid until reaped), then the error says which limit it is.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, constants, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { berth, berthBin } from "../helpers/cli";
import { makeBundle, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

const pidsMount = "/sys/fs/cgroup/pids";
let b: TestBundle | undefined;
const ids = testIds("trans");

const uniq = ids.uniq;
const cli = (args: string[]) => berth(["--root", b!.root, ...args]);

afterEach(() => {
  ids.deleteAll((id) => cli(["delete", "--force", id]));
  b?.cleanup();
  b = undefined;
});

const pidsLimitOf = (id: string): string | undefined => {
  for (const dir of [join(pidsMount, "berth", id), join("/sys/fs/cgroup/berth", id)]) {
    if (existsSync(join(dir, "pids.max"))) return readFileSync(join(dir, "pids.max"), "utf8").trim();
  }
  return undefined;
};

test("update --resources - on a non-blocking stdin whose data comes a second later: waits for it, then applies it", async () => {
  b = makeBundle(["sleep", "100000"]);
  const id = uniq("stdin");
  expect(cli(["create", "-b", b.dir, id]).exitCode).toBe(0);
  const fifo = join(b.dir, "stdin.fifo");
  execFileSync("mkfifo", [fifo]);
  // The reader, non-blocking, becomes berth's stdin; the writer stays open with nothing written,
  // so a read says EAGAIN (not EOF) until the data comes. Passed as fd 3 and moved to 0 by the
  // shell: libuv makes a child's fds 0-2 blocking (on the shared open file description), not 3.
  const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const wr = openSync(fifo, constants.O_WRONLY);
  let stderr = "";
  const child = spawn("/bin/sh", ["-c", 'exec "$0" --root "$1" update --resources - "$2" <&3', berthBin, b.root, id], {
    stdio: ["ignore", "ignore", "pipe", rd],
  });
  closeSync(rd);
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on("close", (code) => res(code)));
  // Long after berth has started and read stdin once (readFileSync(0) failed here with EAGAIN).
  await new Promise((r) => setTimeout(r, 1_000));
  const flags = /^flags:\s*(\d+)$/m.exec(readFileSync(`/proc/${child.pid}/fdinfo/0`, "utf8"))?.[1];
  expect(parseInt(flags ?? "0", 8) & constants.O_NONBLOCK).toBe(constants.O_NONBLOCK);
  writeSync(wr, JSON.stringify({ pids: { limit: 42 } }));
  closeSync(wr);
  expect({ code: await exited, stderr }).toEqual({ code: 0, stderr: "" });
  const limit = pidsLimitOf(id);
  if (limit !== undefined) expect(limit).toBe("42");
});

const maybePids = existsSync(join(pidsMount, "cgroup.procs")) ? test : test.skip;

maybePids("exec into a container at its pids limit: fails at once (a bounded retry), saying the process limit is reached", () => {
  b = makeBundle(["sleep", "100000"], (c) => {
    c.linux.resources = { ...c.linux.resources, pids: { limit: 1 } };
  });
  const id = uniq("pids");
  expect(cli(["run", "-d", "-b", b.dir, id]).exitCode).toBe(0);
  const t0 = Date.now();
  const r = cli(["exec", id, "true"]);
  expect(Date.now() - t0).toBeLessThan(5_000);
  expect(r.exitCode).toBe(255);
  expect(r.stderr).toContain(`berth: exec ${id}: `);
  expect(r.stderr).toContain(
    "clone into the container's pid namespace (the process limit is reached: pids.max of the cgroup, RLIMIT_NPROC, or the host's threads-max): resource temporarily unavailable",
  );
});
