/**
 * waitExit (reaps a child through its pidfd) and pidfdPollExit (waits for any process, no
 * reaping), observed with real processes. Needs `npm run build:native`; no root.
 *
 * The children for waitExit come from child_process.spawn, but libuv reaps its own children
 * (SIGCHLD -> waitpid(pid)), and whoever waits first gets the status. berth's real children
 * (launch's clone3) are not libuv's. To make the test deterministic we close the ChildProcess's
 * libuv handle, which takes the pid off libuv's list; after that the child is ours alone.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import * as native from "../../src/native";

const { errno: E, signals: S } = constants;

/** Spawn a child that libuv will not reap, with a pidfd for it. */
function ownChild(cmd: string, args: string[]): { pid: number; pidfd: number } {
  const child: ChildProcess = spawn(cmd, args, { stdio: "ignore" });
  const pid = child.pid!;
  const pidfd = native.pidfdOpen(pid); // while it surely runs: the pid cannot have been reused
  (child as unknown as { _handle: { close(): void } })._handle.close();
  return { pid, pidfd };
}

/** Whether the promise settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}

/** Process state letter from /proc/<pid>/stat, or undefined once the pid is gone. */
function procState(pid: number): string | undefined {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

describe("waitExit", () => {
  test("an exit code", async () => {
    const { pidfd } = ownChild("sh", ["-c", "sleep 0.1; exit 3"]);
    try {
      await expect(native.waitExit(pidfd)).resolves.toEqual({ exitCode: 3, signal: null });
    } finally {
      closeSync(pidfd);
    }
  });

  test("a fatal signal", async () => {
    const { pid, pidfd } = ownChild("sleep", ["30"]);
    try {
      const status = native.waitExit(pidfd);
      expect(await settlesWithin(status, 100)).toBe(false); // still running: still waiting
      process.kill(pid, "SIGTERM");
      await expect(status).resolves.toEqual({ exitCode: null, signal: S.SIGTERM });
    } finally {
      closeSync(pidfd);
    }
  });

  test("it reaps: the zombie is gone, and a second wait finds no child", async () => {
    const { pid, pidfd } = ownChild("sh", ["-c", "exit 0"]);
    try {
      await expect(native.waitExit(pidfd)).resolves.toEqual({ exitCode: 0, signal: null });
      expect(procState(pid)).toBeUndefined();
      await expect(native.waitExit(pidfd)).rejects.toMatchObject({ code: "ECHILD", errno: E.ECHILD, syscall: "waitid" });
    } finally {
      closeSync(pidfd);
    }
  });

  test("the caller may close its pidfd right after the call", async () => {
    const { pidfd } = ownChild("sh", ["-c", "sleep 0.1; exit 7"]);
    const status = native.waitExit(pidfd);
    closeSync(pidfd);
    // Reuse the number for something else; the wait holds its own duplicate.
    const other = openSync(join(tmpdir(), "."), "r");
    try {
      await expect(status).resolves.toEqual({ exitCode: 7, signal: null });
    } finally {
      closeSync(other);
    }
  });

  test("a process that is not our child: ECHILD, and it is left alone", async () => {
    const pidfd = native.pidfdOpen(process.ppid);
    try {
      await expect(native.waitExit(pidfd)).rejects.toMatchObject({ code: "ECHILD", syscall: "waitid" });
      expect(procState(process.ppid)).toBeDefined();
    } finally {
      closeSync(pidfd);
    }
  });

  test("errors: not a pidfd rejects with EBADF; a closed fd too; a bad argument throws", async () => {
    const file = openSync(__filename, "r");
    await expect(native.waitExit(file)).rejects.toMatchObject({ code: "EBADF", syscall: "waitid" });
    closeSync(file);
    await expect(native.waitExit(file)).rejects.toMatchObject({ code: "EBADF" });
    expect(() => native.waitExit(-1)).toThrow(expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => native.waitExit(undefined as unknown as number)).toThrow(expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_TYPE" }));
  });
});

describe("pidfdPollExit", () => {
  test("waits for a process that is not our child, without touching it", async () => {
    // sh starts sleep in the background and exits: sleep is orphaned (re-parented to init or a
    // subreaper), so it is nobody's child in this process.
    const sh = spawn("sh", ["-c", "sleep 30 >/dev/null 2>&1 & echo $!"], { stdio: ["ignore", "pipe", "inherit"] });
    const out = await new Promise<string>((resolve) => {
      let text = "";
      sh.stdout!.on("data", (d: Buffer) => (text += d.toString()));
      sh.on("close", () => resolve(text));
    });
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(1);
    const pidfd = native.pidfdOpen(pid);
    try {
      const exited = native.pidfdPollExit(pidfd);
      expect(await settlesWithin(exited, 100)).toBe(false);
      await expect(native.waitExit(pidfd)).rejects.toMatchObject({ code: "ECHILD" });
      process.kill(pid, "SIGKILL");
      await expect(exited).resolves.toBeUndefined();
    } finally {
      closeSync(pidfd);
    }
  });

  test("a child: resolves at exit and leaves the zombie for waitExit to reap", async () => {
    const { pid, pidfd } = ownChild("sh", ["-c", "sleep 0.1; exit 5"]);
    try {
      await expect(native.pidfdPollExit(pidfd)).resolves.toBeUndefined();
      expect(procState(pid)).toBe("Z");
      await expect(native.waitExit(pidfd)).resolves.toEqual({ exitCode: 5, signal: null });
    } finally {
      closeSync(pidfd);
    }
  });

  test("an already exited process resolves at once", async () => {
    const { pidfd } = ownChild("sh", ["-c", "exit 0"]);
    try {
      await native.waitExit(pidfd);
      expect(await settlesWithin(native.pidfdPollExit(pidfd), 50)).toBe(true);
    } finally {
      closeSync(pidfd);
    }
  });

  test("not a pidfd: EBADF rather than a false 'exited'", async () => {
    const file = openSync(__filename, "r");
    try {
      await expect(native.pidfdPollExit(file)).rejects.toMatchObject({ code: "EBADF", syscall: "waitid" });
    } finally {
      closeSync(file);
    }
  });
});
