/**
 * Hooks, runtime-spec 1.3 (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"), through
 * the CLI as an engine calls it. Every hook is one shell script that appends a line to a log:
 * its tag, its args, the mount namespace it runs in, its env, and the state JSON on its stdin.
 * The log is in a directory bound into the container at /hooks, so the hooks that run inside
 * (startContainer: its path is resolved there) write the same file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { cgroupDirsFor, makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";

let b: TestBundle;
let ids: string[] = [];
const uniq = (name: string) => {
  const id = `t-hook-${name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  ids.push(id);
  return id;
};
const run = (args: string[]) => berth(["--root", b.root, ...args]);
afterEach(() => {
  for (const id of ids) run(["delete", "--force", id]);
  ids = [];
  b?.cleanup();
});

const SCRIPT = `#!/bin/sh
tag=$1; shift
log=$1; shift
{ printf '%s|%s|%s|%s|' "$tag" "$*" "$(readlink /proc/self/ns/mnt)" "$HOOK_ENV"; cat; echo; } >> "$log"
exit \${HOOK_EXIT:-0}
`;

interface Line {
  tag: string;
  args: string;
  mntns: string;
  env: string;
  state: { status: string; pid?: number; id: string; bundle: string; annotations?: Record<string, string> };
}

/** A bundle whose hooks all log; `hooks` maps kind -> extra hook objects appended after the logging one. */
function hookBundle(args: string[], edit: (c: TestBundle["config"], hostScript: string) => void = () => undefined): TestBundle {
  const bundle = makeBundle(args);
  const dir = join(bundle.dir, "hooks");
  mkdirSync(dir);
  chmodSync(bundle.dir, 0o755);
  const script = join(dir, "log.sh");
  writeFileSync(script, SCRIPT);
  chmodSync(script, 0o755);
  writeFileSync(join(dir, "log"), "");
  const c = bundle.config;
  c.mounts.push({ destination: "/hooks", type: "bind", source: dir, options: ["rbind"] });
  c.annotations = { "org.example.hook": "yes" };
  const hook = (tag: string, inContainer = false) => ({
    path: inContainer ? "/hooks/log.sh" : script,
    args: ["log.sh", tag, inContainer ? "/hooks/log" : join(dir, "log"), "extra arg"],
    env: ["PATH=/usr/bin:/bin", `HOOK_ENV=env-${tag}`],
  });
  c.hooks = {
    prestart: [hook("prestart")],
    createRuntime: [hook("createRuntime")],
    createContainer: [hook("createContainer")],
    startContainer: [hook("startContainer", true)],
    poststart: [hook("poststart")],
    poststop: [hook("poststop")],
  };
  edit(c, script);
  bundle.write();
  return bundle;
}

function logLines(bundle: TestBundle): Line[] {
  return readFileSync(join(bundle.dir, "hooks/log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [tag, args, mntns, env, ...rest] = l.split("|");
      return { tag: tag!, args: args!, mntns: mntns!, env: env!, state: JSON.parse(rest.join("|")) };
    });
}

const hostMntns = () => readlinkSync("/proc/self/ns/mnt");

/** Nothing of container `id` is left on the host. */
function expectNothingLeft(bundle: TestBundle, id: string): void {
  expect(existsSync(join(bundle.root, id))).toBe(false);
  expect(processesMentioning(id)).toEqual([]);
  expect(cgroupDirsFor(`berth/${id}`)).toEqual([]);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(bundle.dir) || l.includes(id));
  expect(mounts).toEqual([]);
}

test("every hook runs in order, in its namespace, with the status runtime.md requires, its args and env", () => {
  b = hookBundle(["sh", "-c", "echo ran > /hooks/user; sleep 300"]);
  const id = uniq("order");
  let r = run(["create", "-b", b.dir, id]);
  expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const pid = JSON.parse(run(["state", id]).stdout).pid as number;
  const containerMntns = readlinkSync(`/proc/${pid}/ns/mnt`);
  expect(containerMntns).not.toBe(hostMntns());
  expect(logLines(b).map((l) => l.tag)).toEqual(["prestart", "createRuntime", "createContainer"]);
  // The user's process has not run yet.
  expect(existsSync(join(b.dir, "hooks/user"))).toBe(false);

  r = run(["start", id]);
  expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(run(["kill", id, "KILL"]).exitCode).toBe(0);
  for (let i = 0; i < 5000 && JSON.parse(run(["state", id]).stdout).status !== "stopped"; i++);
  r = run(["delete", id]);
  expect(r).toEqual({ exitCode: 0, stdout: "", stderr: "" });

  const lines = logLines(b);
  expect(lines.map((l) => [l.tag, l.state.status])).toEqual([
    ["prestart", "created"],
    ["createRuntime", "created"],
    ["createContainer", "created"],
    ["startContainer", "created"],
    ["poststart", "running"],
    ["poststop", "stopped"],
  ]);
  const host = hostMntns();
  expect(Object.fromEntries(lines.map((l) => [l.tag, l.mntns === host ? "host" : l.mntns === containerMntns ? "container" : l.mntns]))).toEqual({
    prestart: "host",
    createRuntime: "host",
    createContainer: "container",
    startContainer: "container",
    poststart: "host",
    poststop: "host",
  });
  for (const l of lines) {
    expect(l.state).toEqual({ ociVersion: b.config.ociVersion, id, status: l.state.status, pid, bundle: b.dir, annotations: { "org.example.hook": "yes" } });
    expect(l.env).toBe(`env-${l.tag}`);
    // args[1..] reach the hook as given (the script shifted off the tag and the log path).
    expect(l.args).toBe("extra arg");
  }
  // poststart ran after the user's process was started.
  expect(readFileSync(join(b.dir, "hooks/user"), "utf8")).toBe("ran\n");
  expectNothingLeft(b, id);
});

test.each(["prestart", "createRuntime", "createContainer"])("a failing %s hook fails create and leaves nothing behind", (kind) => {
  b = hookBundle(["sleep", "300"], (c) => {
    c.hooks[kind].push({ path: "/bin/false" });
  });
  const id = uniq(kind.toLowerCase());
  const r = run(["create", "-b", b.dir, id]);
  expect(r).toEqual({ exitCode: 1, stdout: "", stderr: `berth: create ${id}: hooks.${kind}[1] "/bin/false": exit status 1\n` });
  expectNothingLeft(b, id);
  const tags = logLines(b).map((l) => l.tag);
  // The hooks after the failing one did not run; poststop ran once the container was gone.
  const order = ["prestart", "createRuntime", "createContainer"];
  expect(tags).toEqual([...order.slice(0, order.indexOf(kind) + 1), "poststop"]);
});

test.each(["createRuntime", "createContainer"])("a %s hook past its timeout is killed and fails create", (kind) => {
  // A duration no other process on the machine has in its command line.
  const naptime = `60.${process.pid}${Math.floor(Math.random() * 1e6)}`;
  b = hookBundle(["sleep", "300"], (c) => {
    c.hooks[kind].unshift({ path: "/bin/sleep", args: ["sleep", naptime], timeout: 1 });
  });
  const id = uniq(`to-${kind.toLowerCase()}`);
  // A hook that was not stopped would sleep for a minute and then succeed: the message below
  // is only for one killed at its timeout.
  const r = run(["create", "-b", b.dir, id]);
  expect(r).toEqual({ exitCode: 1, stdout: "", stderr: `berth: create ${id}: hooks.${kind}[0] "/bin/sleep": timed out after 1 second\n` });
  expect(processesMentioning(`sleep ${naptime}`)).toEqual([]);
  expectNothingLeft(b, id);
});

test("a failing hook's stderr is part of the message", () => {
  b = hookBundle(["sleep", "300"], (c) => {
    c.hooks.createRuntime = [{ path: "/bin/sh", args: ["sh", "-c", "echo no network for you >&2; exit 4"] }];
  });
  const id = uniq("stderr");
  const r = run(["create", "-b", b.dir, id]);
  expect(r.stderr).toBe(`berth: create ${id}: hooks.createRuntime[0] "/bin/sh": exit status 4: no network for you\n`);
  expectNothingLeft(b, id);
});

test("a failing startContainer hook fails start: the container stops, the user's process never runs", () => {
  b = hookBundle(["sh", "-c", "echo ran > /hooks/user; sleep 300"], (c) => {
    c.hooks.startContainer.push({ path: "/bin/sh", args: ["sh", "-c", "exit 3"] });
  });
  const id = uniq("startfail");
  expect(run(["create", "-b", b.dir, id]).exitCode).toBe(0);
  const r = run(["start", id]);
  expect(r).toEqual({ exitCode: 1, stdout: "", stderr: `berth: start ${id}: hooks.startContainer[1] "/bin/sh": exit status 3\n` });
  expect(JSON.parse(run(["state", id]).stdout).status).toBe("stopped");
  expect(existsSync(join(b.dir, "hooks/user"))).toBe(false);
  expect(run(["delete", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(logLines(b).map((l) => l.tag)).toEqual(["prestart", "createRuntime", "createContainer", "startContainer", "poststop"]);
  expectNothingLeft(b, id);
});

test("a failing poststart hook (1.3.0): start fails naming it, the container is stopped; delete destroys it and runs poststop", () => {
  b = hookBundle(["sleep", "300"], (c, script) => {
    c.hooks.poststart.unshift({ path: script, args: ["log.sh", "x", "/dev/null"], env: ["HOOK_EXIT=3"] });
  });
  const id = uniq("psfail");
  expect(run(["create", "-b", b.dir, id]).exitCode).toBe(0);
  const script = b.config.hooks.poststart[0].path;
  expect(run(["start", id])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: start ${id}: hooks.poststart[0] "${script}": exit status 3\n` });
  expect(JSON.parse(run(["state", id]).stdout).status).toBe("stopped");
  expect(run(["delete", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(logLines(b).map((l) => l.tag)).toEqual(["prestart", "createRuntime", "createContainer", "startContainer", "poststop"]);
  expectNothingLeft(b, id);
});

test("failing poststart (config for 1.2 or earlier) and poststop hooks are warnings: the lifecycle goes on, exit 0", () => {
  b = hookBundle(["sleep", "300"], (c, script) => {
    c.ociVersion = "1.2.1";
    c.hooks.poststart.unshift({ path: script, args: ["log.sh", "x", "/dev/null"], env: ["HOOK_EXIT=3"] });
    c.hooks.poststop.unshift({ path: "/bin/false" });
  });
  const id = uniq("warn");
  expect(run(["create", "-b", b.dir, id]).exitCode).toBe(0);
  const script = b.config.hooks.poststart[0].path;
  expect(run(["start", id])).toEqual({ exitCode: 0, stdout: "", stderr: `berth: start ${id}: hooks.poststart[0] "${script}": exit status 3\n` });
  expect(JSON.parse(run(["state", id]).stdout).status).toBe("running");
  expect(run(["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: `berth: delete ${id}: hooks.poststop[0] "/bin/false": exit status 1\n` });
  // The hooks after the failing ones still ran.
  expect(logLines(b).map((l) => l.tag)).toEqual(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
  expectNothingLeft(b, id);
});
