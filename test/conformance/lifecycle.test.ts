/**
 * Conformance: runtime.md (state, lifecycle, errors, operations) through the CLI, as an engine
 * drives it. Each test uses its own --root.
 */
import Ajv from "ajv";
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupDirsFor } from "../helpers/bundle";
import { repoRoot } from "../helpers/cli";
import { bundle, clause, run, uniq } from "./harness";

const state = (b: ReturnType<typeof bundle>, id: string) => JSON.parse(run(b, ["state", id]).stdout);
function waitStopped(b: ReturnType<typeof bundle>, id: string): void {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && state(b, id).status !== "stopped");
}
const created = (args = ["sleep", "300"], mutate?: Parameters<typeof bundle>[1]) => {
  const b = bundle(args, mutate);
  const id = uniq(b, "lc");
  const r = run(b, ["create", "-b", b.dir, id]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  return { b, id };
};
const marker = "/tmp/conf-marker";

clause("runtime.md#scope/same-container", "create, state, start, kill, delete on one id", () => {
  const { b, id } = created();
  expect(run(b, ["start", id]).exitCode).toBe(0);
  expect(run(b, ["kill", id, "KILL"]).exitCode).toBe(0);
  waitStopped(b, id);
  expect(run(b, ["delete", id]).exitCode).toBe(0);
});

clause("runtime.md#state/id-unique", "two containers, two ids, each state names its own", () => {
  const one = created();
  const id2 = uniq(one.b, "two");
  expect(run(one.b, ["create", "-b", one.b.dir, id2]).exitCode).toBe(0);
  expect([state(one.b, one.id).id, state(one.b, id2).id]).toEqual([one.id, id2]);
});

clause("runtime.md#state/status", "created, running, stopped", () => {
  const { b, id } = created();
  expect(state(b, id).status).toBe("created");
  run(b, ["start", id]);
  expect(state(b, id).status).toBe("running");
  run(b, ["kill", id, "KILL"]);
  waitStopped(b, id);
  expect(state(b, id).status).toBe("stopped");
});

clause("runtime.md#state/schema", "validated by spec-schemas/state.schema.json in each status", () => {
  const ajv = new Ajv({ strict: false });
  ajv.addSchema(JSON.parse(readFileSync(join(repoRoot, "spec-schemas/defs.schema.json"), "utf8")));
  const validate = ajv.compile(JSON.parse(readFileSync(join(repoRoot, "spec-schemas/state.schema.json"), "utf8")));
  const { b, id } = created(["sleep", "300"], (c) => (c.annotations = { "org.example.k": "v" }));
  const s = state(b, id);
  expect([validate(s), validate.errors]).toEqual([true, null]);
  expect(s).toMatchObject({ ociVersion: "1.3.0", id, status: "created", bundle: b.dir, annotations: { "org.example.k": "v" } });
  expect(s.pid).toBeGreaterThan(0);
  run(b, ["start", id]);
  expect(validate(state(b, id))).toBe(true);
});

clause("runtime.md#lifecycle/create-env", "namespaces and cgroup exist once create returns", () => {
  const { b, id } = created();
  const pid = state(b, id).pid;
  for (const ns of ["pid", "net", "ipc", "uts", "mnt"])
    expect(readlinkSync(`/proc/${pid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
  expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(id);
});

clause("runtime.md#lifecycle/create-env-error", "a mount whose source is missing", () => {
  const b = bundle(["true"], (c) => c.mounts.push({ destination: "/mnt", type: "bind", source: "/nonexistent-conf", options: ["bind"] }));
  const id = uniq(b, "bad");
  const r = run(b, ["create", "-b", b.dir, id]);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toMatch(/mounts\[\d+\]/);
});

clause("runtime.md#lifecycle/create-no-program", "a created container has not run args", () => {
  const { b, id } = created(["sh", "-c", `touch ${marker}; sleep 300`], (c) => (c.root.readonly = false));
  const pid = state(b, id).pid;
  expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain("sh");
  expect(existsSync(join(b.config.root.path, marker))).toBe(false);
});

clause("runtime.md#lifecycle/config-frozen", "editing args and hostname after create", () => {
  const { b, id } = created(["sh", "-c", "hostname > /dev/shm/h; sleep 300"]);
  b.config.process.args = ["sh", "-c", "exit 3"];
  b.config.hostname = "changed";
  b.write();
  run(b, ["start", id]);
  const pid = state(b, id).pid;
  const h = `/proc/${pid}/root/dev/shm/h`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !(existsSync(h) && readFileSync(h, "utf8")));
  // The hostname at create time (the default config's), not the edited one.
  expect(readFileSync(h, "utf8")).toBe("berth\n");
  expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("sleep");
});

clause("runtime.md#create/missing-args", "no id, and a bundle without config.json", () => {
  const b = bundle(["true"]);
  expect(run(b, ["create", "-b", b.dir]).exitCode).not.toBe(0);
  const r = run(b, ["create", "-b", join(b.dir, "nowhere"), uniq(b, "nob")]);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toMatch(/config\.json/);
});

clause("runtime.md#create/existing-id", "the second create errors; the first container is unchanged", () => {
  const { b, id } = created();
  const before = state(b, id);
  const r = run(b, ["create", "-b", b.dir, id]);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toMatch(/exists/);
  expect(state(b, id)).toEqual(before);
});

clause("runtime.md#create/existing-id", "invalid ids are refused and make nothing", () => {
  const b = bundle(["true"]);
  for (const bad of ["../escape", "a/b", ".", ""]) {
    const r = run(b, ["create", "-b", b.dir, bad]);
    expect([bad, r.exitCode === 0]).toEqual([bad, false]);
  }
  expect(existsSync(join(b.dir, "escape"))).toBe(false);
});

clause("runtime.md#create/new-container", undefined, () => {
  const { b, id } = created();
  expect(run(b, ["list", "-q"]).stdout.split("\n")).toContain(id);
});

clause("runtime.md#create/args-not-applied", "the created process is the runtime's init, not args", () => {
  const { b, id } = created();
  expect(readFileSync(`/proc/${state(b, id).pid}/cmdline`, "utf8")).not.toContain("sleep");
});

clause("runtime.md#create/cannot-apply", "a sysctl outside the container's namespaces; no container is left", () => {
  const b = bundle(["true"], (c) => (c.linux.sysctl = { "kernel.modprobe": "/x" }));
  const id = uniq(b, "sys");
  expect(run(b, ["create", "-b", b.dir, id]).exitCode).not.toBe(0);
  expect(run(b, ["state", id]).exitCode).not.toBe(0);
});

clause("runtime.md#errors/no-side-effects", "a failed create leaves no state, cgroup or process", () => {
  const b = bundle(["true"], (c) => c.mounts.push({ destination: "/mnt", type: "bind", source: "/nonexistent-conf", options: ["bind"] }));
  const id = uniq(b, "nse");
  expect(run(b, ["create", "-b", b.dir, id]).exitCode).not.toBe(0);
  expect(existsSync(join(b.root, id))).toBe(false);
  expect(cgroupDirsFor(`/berth/${id}`)).toEqual([]);
});

clause("runtime.md#query-state/no-id", undefined, () => {
  const b = bundle(["true"]);
  expect(run(b, ["state"]).exitCode).not.toBe(0);
});

clause("runtime.md#query-state/unknown", undefined, () => {
  const b = bundle(["true"]);
  const r = run(b, ["state", "conf-no-such-container"]);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toMatch(/container does not exist/);
});

clause("runtime.md#query-state/returns-state", undefined, () => {
  const { b, id } = created();
  expect(Object.keys(state(b, id))).toEqual(expect.arrayContaining(["ociVersion", "id", "status", "pid", "bundle"]));
});

clause("runtime.md#start/no-id", undefined, () => {
  expect(run(bundle(["true"]), ["start"]).exitCode).not.toBe(0);
});

clause("runtime.md#start/not-created", "start of a running and of a stopped container", () => {
  const { b, id } = created();
  run(b, ["start", id]);
  const before = state(b, id);
  expect(run(b, ["start", id]).exitCode).not.toBe(0);
  expect(state(b, id)).toEqual(before);
  run(b, ["kill", id, "KILL"]);
  waitStopped(b, id);
  expect(run(b, ["start", id]).exitCode).not.toBe(0);
  expect(state(b, id).status).toBe("stopped");
});

clause("runtime.md#start/runs-process", "start execs args in the created container", () => {
  const { b, id } = created();
  expect(run(b, ["start", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(readFileSync(`/proc/${state(b, id).pid}/cmdline`, "utf8")).toBe("sleep\u0000300\u0000");
});

clause("runtime.md#lifecycle/run-program", "run prints what the program prints", () => {
  const b = bundle(["echo", "hello"]);
  expect(run(b, ["run", "-b", b.dir, uniq(b, "run")])).toEqual({ exitCode: 0, stdout: "hello\n", stderr: "" });
});

clause("runtime.md#start/no-process", "a config without process", () => {
  const b = bundle(["true"], (c) => delete c.process);
  const id = uniq(b, "nop");
  const c = run(b, ["create", "-b", b.dir, id]);
  const s = c.exitCode === 0 ? run(b, ["start", id]) : c;
  expect(s.exitCode).not.toBe(0);
});

clause("runtime.md#kill/no-id", undefined, () => {
  expect(run(bundle(["true"]), ["kill"]).exitCode).not.toBe(0);
});

clause("runtime.md#kill/not-running", "kill of a stopped container", () => {
  const { b, id } = created();
  run(b, ["start", id]);
  run(b, ["kill", id, "KILL"]);
  waitStopped(b, id);
  const r = run(b, ["kill", id, "TERM"]);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toMatch(/container not running/);
  expect(state(b, id).status).toBe("stopped");
});

clause("runtime.md#kill/sends-signal", "a trapped SIGUSR1 reaches the process", () => {
  const { b, id } = created([
    "sh",
    "-c",
    "trap 'echo got > /dev/shm/sig; sleep 300' USR1; touch /dev/shm/ready; while :; do sleep 0.05; done",
  ]);
  run(b, ["start", id]);
  // The container's /dev/shm, seen from the host through its root.
  const shm = `/proc/${state(b, id).pid}/root/dev/shm`;
  const until = (f: string) => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !existsSync(join(shm, f)));
    return existsSync(join(shm, f));
  };
  expect(until("ready")).toBe(true);
  expect(run(b, ["kill", id, "USR1"]).exitCode).toBe(0);
  expect(until("sig")).toBe(true);
  expect(readFileSync(join(shm, "sig"), "utf8")).toBe("got\n");
});

clause("runtime.md#delete/no-id", undefined, () => {
  expect(run(bundle(["true"]), ["delete"]).exitCode).not.toBe(0);
});

clause("runtime.md#delete/not-stopped", "delete of a running container without force", () => {
  const { b, id } = created();
  run(b, ["start", id]);
  const r = run(b, ["delete", id]);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toMatch(/not stopped/);
  expect(state(b, id).status).toBe("running");
});

// The deliberate deviation (clauses.ts, docs/conformance-suite.md): a created container is
// deleted without --force, as runc and crun do and containerd's shim expects.
clause.failing("runtime.md#delete/not-stopped", "delete of a created container without force", () => {
  const { b, id } = created();
  expect(run(b, ["delete", id]).exitCode).not.toBe(0);
  expect(state(b, id).status).toBe("created");
});

clause("runtime.md#delete/resources", "state dir and cgroup are gone", () => {
  const { b, id } = created();
  expect(cgroupDirsFor(`/berth/${id}`).length).toBeGreaterThan(0);
  run(b, ["kill", id, "KILL"]);
  waitStopped(b, id);
  expect(run(b, ["delete", id]).exitCode).toBe(0);
  expect(existsSync(join(b.root, id))).toBe(false);
  expect(cgroupDirsFor(`/berth/${id}`)).toEqual([]);
});

clause("runtime.md#lifecycle/destroy", "after delete the id is free and nothing is mounted from the bundle", () => {
  const { b, id } = created();
  run(b, ["delete", "--force", id]);
  expect(run(b, ["state", id]).exitCode).not.toBe(0);
  expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(b.config.root.path);
  expect(run(b, ["create", "-b", b.dir, id]).exitCode).toBe(0);
});

clause("runtime.md#delete/not-owned", "a bind-mounted host directory and its file survive delete", () => {
  const b = bundle(["true"]);
  const host = join(b.dir, "shared");
  mkdirSync(host);
  chmodSync(b.dir, 0o755);
  writeFileSync(join(host, "keep"), "x");
  b.config.mounts.push({ destination: "/mnt", type: "bind", source: host, options: ["rbind"] });
  b.write();
  const id = uniq(b, "own");
  expect(run(b, ["run", "-b", b.dir, id]).exitCode).toBe(0);
  expect(readFileSync(join(host, "keep"), "utf8")).toBe("x");
});

clause("config.md#extensibility/ignore-unknown", "an unknown top-level and linux property", () => {
  const b = bundle(["true"], (c) => {
    c.conformanceUnknown = { a: 1 };
    c.linux.conformanceUnknown = true;
  });
  expect(run(b, ["run", "-b", b.dir, uniq(b, "ext")]).exitCode).toBe(0);
});

clause("config.md#annotations/unknown-keys", "kept in the state as given", () => {
  const { b, id } = created(["sleep", "300"], (c) => (c.annotations = { "com.example.conformance/unknown": "v" }));
  expect(state(b, id).annotations).toEqual({ "com.example.conformance/unknown": "v" });
});

clause("config.md#valid-values/error", "a bogus namespace type, a relative masked path, bad ociVersion", () => {
  for (const edit of [
    (c: Record<string, any>) => c.linux.namespaces.push({ type: "bogus" }), // eslint-disable-line @typescript-eslint/no-explicit-any
    (c: Record<string, any>) => c.linux.maskedPaths.push("relative/path"), // eslint-disable-line @typescript-eslint/no-explicit-any
    (c: Record<string, any>) => (c.ociVersion = "not-semver"), // eslint-disable-line @typescript-eslint/no-explicit-any
  ]) {
    const b = bundle(["true"], edit);
    const r = run(b, ["run", "-b", b.dir, uniq(b, "vv")]);
    expect([r.exitCode === 0, r.stderr.length > 0]).toEqual([false, true]);
  }
});

clause("config.md#root/path-exists", "a missing root.path", () => {
  const b = bundle(["true"], (c) => (c.root.path = "/nonexistent-conf-root"));
  const r = run(b, ["create", "-b", b.dir, uniq(b, "root")]);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toMatch(/root\.path/);
});
