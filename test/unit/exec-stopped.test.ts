/**
 * exec racing the container's end, without root: the native surface is the recording fake of
 * test/helpers/fake-runtime.ts, and the container's init is a real child process of the test,
 * killed after exec has let go of the lock (as a `delete --force` or `kill` at the same time
 * does). What then fails -- clone3 into the removed cgroup (ENOENT), berth-init's clone into the
 * dead init's pid namespace (ENOMEM) -- is the consequence: the error must say what happened to
 * the container. Both were seen in test/reliability/concurrency.test.ts's storm.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create, exec } from "../../src/container";
import { SYNC } from "../../src/plan";
import { procStat } from "../../src/container/proc";
import { fixture, type Fixture } from "../helpers/fake-runtime";

let f: Fixture;
let init: ChildProcess;
beforeEach(() => {
  f = fixture();
  init = spawn("sleep", ["1000"], { stdio: "ignore" });
});
afterEach(() => {
  init.kill("SIGKILL");
  f.cleanup();
});

/** Until the pid has exited (a zombie until node reaps it counts: it is stopped). */
function waitDead(pid: number): void {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const st = procStat(pid);
    if (!st || st.state === "Z") return;
  }
  throw new Error(`pid ${pid} did not die`);
}

test("the container stops while exec's berth-init starts: \"cannot exec in a stopped container\", not berth-init's ENOMEM", async () => {
  await create(f.rt, { id: "c1", bundle: f.bundle });
  // The container's init is the sleep: its pid and start time in the record.
  const statePath = join(f.root, "c1/state.json");
  const state = JSON.parse(readFileSync(statePath, "utf8"));
  writeFileSync(statePath, JSON.stringify({ ...state, pid: init.pid, pidStartTime: procStat(init.pid!)!.startTime }));
  // berth-init's answer comes after the container has died: the clone into its pid namespace failed.
  const recv = f.rt.native.syncRecv;
  f.rt.native.syncRecv = (fd: number) => {
    init.kill("SIGKILL");
    waitDead(init.pid!);
    return recv(fd);
  };
  f.syncAnswer = { type: SYNC.error, opIndex: 0, errno: 12, detail: "clone into the container's pid namespace" };
  await expect(exec(f.rt, { id: "c1", args: { args: ["true"] } })).rejects.toThrow(/^berth: exec c1: cannot exec in a stopped container$/);
});

test('the container stops before exec\'s clone3 into its removed cgroup (ENOENT): "cannot exec in a stopped container"', async () => {
  await create(f.rt, { id: "c1", bundle: f.bundle });
  const statePath = join(f.root, "c1/state.json");
  const state = JSON.parse(readFileSync(statePath, "utf8"));
  writeFileSync(statePath, JSON.stringify({ ...state, pid: init.pid, pidStartTime: procStat(init.pid!)!.startTime }));
  f.rt.native.launch = () => {
    init.kill("SIGKILL");
    waitDead(init.pid!);
    throw Object.assign(new Error("clone3: no such file or directory"), { code: "ENOENT", syscall: "clone3" });
  };
  await expect(exec(f.rt, { id: "c1", args: { args: ["true"] } })).rejects.toThrow(/^berth: exec c1: cannot exec in a stopped container$/);
});

test("the container still runs: berth-init's error is exec's, at its op", async () => {
  await create(f.rt, { id: "c1", bundle: f.bundle });
  const statePath = join(f.root, "c1/state.json");
  const state = JSON.parse(readFileSync(statePath, "utf8"));
  writeFileSync(statePath, JSON.stringify({ ...state, pid: init.pid, pidStartTime: procStat(init.pid!)!.startTime }));
  f.syncAnswer = { type: SYNC.error, opIndex: 0, errno: 12, detail: "clone into the container's pid namespace" };
  await expect(exec(f.rt, { id: "c1", args: { args: ["true"] } })).rejects.toThrow(
    /clone into the container's pid namespace: not enough memory$/,
  );
});
