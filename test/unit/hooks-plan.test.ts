/** The pure side of hooks: where the plan puts them, and what the host runner is asked to run. */
import { hookState, planHooks } from "../../src/hooks";
import { buildPlan, DEFAULT_PATH, type PlanInput } from "../../src/plan";
import { defaultSpec, type Spec } from "../../src/spec";
import { planInput } from "../helpers/plan-input";

const input = (mutate: (s: Spec) => void, fds: Partial<PlanInput["fds"]> = {}): PlanInput =>
  planInput(mutate, { id: "c1", fds: { fifo: 3, namespaces: {}, ...fds } });

test("hooksSync and createContainer come right before pivotRoot; startContainer between waitStart and exec", () => {
  const plan = buildPlan(
    input(
      (s) => {
        s.hooks = {
          createRuntime: [{ path: "/h/rt" }],
          createContainer: [{ path: "/h/cc", args: ["cc", "-x"], env: ["A=1"], timeout: 3 }],
          startContainer: [{ path: "/h/sc" }],
        };
      },
      { startResult: 4 },
    ),
  );
  const ops = plan.ops.map((o) => o.op);
  const pivot = ops.indexOf("pivotRoot");
  expect(ops.slice(pivot - 2, pivot)).toEqual(["hooksSync", "runHook"]);
  expect(ops.slice(ops.indexOf("ready"))).toEqual(["ready", "startResult", "waitStart", "runHook", "startResultDone", "exec"]);
  const cc = plan.ops[pivot - 1]!;
  expect(cc.origin).toBe("hooks.createContainer[0]");
  expect(cc.args.slice(0, 4)).toEqual(["/h/cc", ["cc", "-x"], ["A=1"], 3]);
  // createContainer works in the rootfs (a host path: the root is not pivoted yet), as in runc.
  expect(cc.args.slice(5)).toEqual(["/b/rootfs", 0]);
  expect(JSON.parse(`{"pid":7,${cc.args[4] as string}`)).toEqual({
    pid: 7,
    ociVersion: expect.any(String),
    id: "c1",
    status: "created",
    bundle: "/b",
  });
  const sc = plan.ops[ops.lastIndexOf("runHook")]!;
  expect(sc.origin).toBe("hooks.startContainer[0]");
  // No env: the process's environment (runc's init passes its own on, which is the process's
  // by then), with the HOME the process gets added by berth-init; the cwd is process.cwd ("").
  expect(sc.args.slice(0, 4)).toEqual(["/h/sc", ["/h/sc"], plan.ops.at(-1)!.args[2], 0]);
  expect(sc.args.slice(5)).toEqual(["", 1]);
  expect(JSON.parse(`{"pid":7,${sc.args[4] as string}`).status).toBe("created");
});

test("in-container hooks without env get the process's environment (extra entries and the default PATH included); with env exactly that", () => {
  const plan = buildPlan(
    input(
      (s) => {
        s.process!.env = ["TERM=xterm", "NOTIFY_SOCKET=/old"];
        s.hooks = {
          createContainer: [{ path: "/h/cc" }, { path: "/h/cc2", env: [] }],
          startContainer: [{ path: "/h/sc", env: ["ONLY=1"] }, { path: "/h/sc2" }],
        };
      },
      { startResult: 4 },
    ),
  );
  const withExtra = buildPlan({ ...input(() => undefined), extraEnv: ["NOTIFY_SOCKET=/run/notify/notify.sock"] });
  expect(withExtra.ops.at(-1)!.args[2]).toContain("NOTIFY_SOCKET=/run/notify/notify.sock");
  const hooks = plan.ops.filter((o) => o.op === "runHook").map((o) => [o.origin, o.args[2], o.args[5], o.args[6]]);
  const processEnv = ["TERM=xterm", "NOTIFY_SOCKET=/old", `PATH=${DEFAULT_PATH}`];
  expect(plan.ops.at(-1)!.args[2]).toEqual(processEnv);
  expect(hooks).toEqual([
    ["hooks.createContainer[0]", processEnv, "/b/rootfs", 0],
    ["hooks.createContainer[1]", [], "/b/rootfs", 0],
    ["hooks.startContainer[0]", ["ONLY=1"], "", 0],
    ["hooks.startContainer[1]", processEnv, "", 1],
  ]);
});

test("no hooks, no hook ops", () => {
  const ops = buildPlan(input(() => undefined)).ops.map((o) => o.op);
  expect(ops.filter((o) => ["hooksSync", "runHook", "startResult", "startResultDone"].includes(o))).toEqual([]);
});

test("NOTIFY_SOCKET and extra env: the socket is bound at /run/notify/notify.sock, env keys replaced", () => {
  const i = input((s) => {
    s.process!.env = ["PATH=/bin", "NOTIFY_SOCKET=/old", "X=1"];
  });
  const plan = buildPlan({ ...i, notifySocket: "/host/notify.sock", extraEnv: ["NOTIFY_SOCKET=/run/notify/notify.sock"] });
  expect(plan.ops.find((o) => o.op === "mount" && o.args[0] === "/host/notify.sock")?.args[1]).toBe("/run/notify/notify.sock");
  expect(plan.ops.at(-1)!.args[2]).toEqual(["PATH=/bin", "X=1", "NOTIFY_SOCKET=/run/notify/notify.sock"]);
});

test("planHooks: fields, argv, env, timeout and the state on stdin", () => {
  const spec = defaultSpec();
  spec.annotations = { a: "b" };
  spec.hooks = { poststop: [{ path: "/x" }, { path: "/y", args: ["y", "1"], env: ["E=2"], timeout: 5 }] };
  const calls = planHooks("poststop", spec.hooks, hookState("poststop", { spec, id: "c1", bundle: "/b", pid: 9 }));
  expect(calls.map(({ input, ...c }) => [c, JSON.parse(input)])).toEqual([
    // No env: none is planned, and the runner passes berth's own environment on; the bundle is the cwd.
    [
      { field: "hooks.poststop[0]", path: "/x", argv: ["/x"], cwd: "/b", timeout: undefined },
      { ociVersion: spec.ociVersion, id: "c1", status: "stopped", pid: 9, bundle: "/b", annotations: { a: "b" } },
    ],
    [
      { field: "hooks.poststop[1]", path: "/y", argv: ["y", "1"], env: ["E=2"], cwd: "/b", timeout: 5 },
      { ociVersion: spec.ociVersion, id: "c1", status: "stopped", pid: 9, bundle: "/b", annotations: { a: "b" } },
    ],
  ]);
});
