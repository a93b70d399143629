/**
 * Terminals in the plan (config.md process.terminal, consoleSize) and runc's console-socket
 * rules (container/console.ts checkTerminalOptions), as tables.
 */
import { buildExecPlan, buildPlan, type PlanInput } from "../../src/plan";
import { type Process, type Spec } from "../../src/spec";
import { planInput } from "../helpers/plan-input";
import { checkTerminalOptions } from "../../src/container/console";

const input = (mutate: (s: Spec) => void): PlanInput => planInput(mutate);

describe("buildPlan", () => {
  test("terminal true: the pty right after pivot_root (the container's /dev/ptmx), /dev/console bound, then the controlling terminal; before masks, the read-only root and the user switch", () => {
    const plan = buildPlan(
      input((s) => {
        s.process!.terminal = true;
        s.process!.consoleSize = { height: 33, width: 111 };
        s.process!.user = { uid: 1000, gid: 1000 };
        s.root!.readonly = true;
      }),
    );
    const ops = plan.ops.map((o) => o.op);
    const pivot = ops.indexOf("pivotRoot");
    expect(plan.ops.slice(pivot + 1, pivot + 5)).toEqual([
      { op: "openPty", args: [33, 111, 1000], origin: "process.consoleSize" },
      { op: "mkdirInRoot", args: ["/dev/console", 0o600, 1], origin: "process.terminal" },
      { op: "mountConsole", args: [], origin: "process.terminal" },
      { op: "setCtty", args: [], origin: "process.terminal" },
    ]);
    expect(ops.indexOf("setCtty")).toBeLessThan(ops.indexOf("maskPath"));
    expect(ops.indexOf("setCtty")).toBeLessThan(ops.indexOf("remountRoot"));
    expect(ops.indexOf("setCtty")).toBeLessThan(ops.indexOf("setresuid"));
  });

  test("no consoleSize (or a zero side): the size is left to whoever holds the master", () => {
    const plan = buildPlan(input((s) => (s.process!.terminal = true)));
    expect(plan.ops.find((o) => o.op === "openPty")).toEqual({ op: "openPty", args: [0, 0, 0], origin: "process.terminal" });
    const zero = buildPlan(input((s) => Object.assign(s.process!, { terminal: true, consoleSize: { height: 0, width: 80 } })));
    expect(zero.ops.find((o) => o.op === "openPty")!.args.slice(0, 2)).toEqual([0, 0]);
  });

  test("terminal false: no terminal ops", () => {
    const plan = buildPlan(input((s) => (s.process!.terminal = false)));
    expect(plan.ops.map((o) => o.op).filter((o) => ["openPty", "mountConsole", "setCtty"].includes(o))).toEqual([]);
  });
});

describe("buildExecPlan", () => {
  const base: Process = { user: { uid: 0, gid: 0 }, cwd: "/", args: ["sh"], env: ["PATH=/bin"] };
  test("terminal true: openPty and setCtty first (berth-init starts in the container's mount namespace), no /dev/console", () => {
    const plan = buildExecPlan({
      process: { ...base, terminal: true, consoleSize: { height: 5, width: 6 } },
      joins: ["ipc", "mount"],
      capLastCap: 40,
      v1Cgroups: [],
    });
    const ops = plan.ops.map((o) => o.op);
    expect(ops.slice(0, 2)).toEqual(["openPty", "setCtty"]);
    expect(plan.ops[0]!.args).toEqual([5, 6, 0]);
    expect(ops).not.toContain("mountConsole");
  });
});

describe('checkTerminalOptions (runc: "cannot allocate tty if runc will detach without setting console socket", "cannot use console socket if runc will not detach or allocate tty")', () => {
  const cases: [string, { terminal: boolean; detach: boolean; consoleSocket?: string }, string | undefined][] = [
    ["detached terminal with a socket", { terminal: true, detach: true, consoleSocket: "/run/c.sock" }, undefined],
    ["detached, no terminal, no socket", { terminal: false, detach: true }, undefined],
    ["foreground terminal (berth relays)", { terminal: true, detach: false }, undefined],
    [
      "detached terminal without a socket",
      { terminal: true, detach: true },
      "process.terminal true: cannot allocate a terminal if berth will detach without a console socket (--console-socket)",
    ],
    [
      "a socket without a terminal",
      { terminal: false, detach: true, consoleSocket: "/s" },
      '--console-socket "/s": cannot use a console socket if berth will not detach or allocate a terminal (process.terminal)',
    ],
    [
      "a socket in the foreground",
      { terminal: true, detach: false, consoleSocket: "/s" },
      '--console-socket "/s": cannot use a console socket if berth will not detach or allocate a terminal (process.terminal)',
    ],
  ];
  test.each(cases)("%s", (_name, o, error) => {
    const call = () => checkTerminalOptions("create", "c1", o);
    if (error === undefined) expect(call).not.toThrow();
    else expect(call).toThrow(`create c1: ${error}`);
  });
  test("a relative socket path resolves against the cwd, as runc's", () => {
    expect(checkTerminalOptions("create", "c1", { terminal: true, detach: true, consoleSocket: "c.sock" })).toBe(`${process.cwd()}/c.sock`);
  });
});
