/**
 * Hooks, runtime-spec 1.3 (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"), through
 * the CLI as an engine calls it. Every hook is one shell script that appends a line to a log:
 * its tag, its args, the mount namespace it runs in, its env, and the state JSON on its stdin.
 * The log is in a directory bound into the container at /hooks, so the hooks that run inside
 * (startContainer: its path is resolved there) write the same file.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth, berthBin } from "../helpers/cli";
import { cgroupDirsFor, makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

let b: TestBundle;
const ids = testIds("hook");
const uniq = ids.uniq;
const run = (args: string[]) => berth(["--root", b.root, ...args]);
afterEach(() => {
  ids.deleteAll((id) => run(["delete", "--force", id]));
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
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(bundle.dir) || l.includes(id));
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
  expect(
    Object.fromEntries(lines.map((l) => [l.tag, l.mntns === host ? "host" : l.mntns === containerMntns ? "container" : l.mntns])),
  ).toEqual({
    prestart: "host",
    createRuntime: "host",
    createContainer: "container",
    startContainer: "container",
    poststart: "host",
    poststop: "host",
  });
  for (const l of lines) {
    expect(l.state).toEqual({
      ociVersion: b.config.ociVersion,
      id,
      status: l.state.status,
      pid,
      bundle: b.dir,
      annotations: { "org.example.hook": "yes" },
    });
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
  expect(run(["start", id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: start ${id}: hooks.poststart[0] "${script}": exit status 3\n`,
  });
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
  expect(run(["start", id])).toEqual({
    exitCode: 0,
    stdout: "",
    stderr: `berth: start ${id}: hooks.poststart[0] "${script}": exit status 3\n`,
  });
  expect(JSON.parse(run(["state", id]).stdout).status).toBe("running");
  expect(run(["delete", "--force", id])).toEqual({
    exitCode: 0,
    stdout: "",
    stderr: `berth: delete ${id}: hooks.poststop[0] "/bin/false": exit status 1\n`,
  });
  // The hooks after the failing ones still ran.
  expect(logLines(b).map((l) => l.tag)).toEqual([
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
  ]);
  expectNothingLeft(b, id);
});

// --- What a hook finds around it: its environment and working directory, beside runc.
//
// Each kind gets three hooks: `cp /proc/self/environ` without `env` and with `env`, and a shell
// that records `readlink /proc/self/cwd`. cp is exec'd directly, so the file holds exactly the
// environment the runtime passed (a shell would add PWD, SHLVL, a default PATH). The CLI runs
// from a directory of its own with a small environment that names the verb, so the bundle as
// cwd and the runtime's environment can only come from the runtime.
const runcBin = ["/usr/sbin/runc", "/usr/bin/runc"].find((p) => existsSync(p));
const KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
type Kind = (typeof KINDS)[number];

interface Seen {
  env: Record<Kind, string[]>;
  envGiven: Record<Kind, string[]>;
  cwd: Record<Kind, string>;
}

function environmentBundle(cgroupParent: string, id: string): TestBundle {
  const bundle = makeBundle(["sleep", "300"], (c) => {
    c.process.env = ["PATH=/usr/bin:/bin", "TERM=xterm", "FROM_CONFIG=1"];
    c.process.cwd = "/tmp";
    c.linux.cgroupsPath = `${cgroupParent}/${id}`;
  });
  const out = join(bundle.dir, "out");
  mkdirSync(out);
  chmodSync(bundle.dir, 0o755);
  const c = bundle.config;
  c.mounts.push({ destination: "/out", type: "bind", source: out, options: ["rbind"] });
  c.hooks = {};
  for (const kind of KINDS) {
    const dir = kind === "startContainer" ? "/out" : out;
    c.hooks[kind] = [
      { path: "/bin/cp", args: ["cp", "/proc/self/environ", `${dir}/${kind}.env`] },
      { path: "/bin/cp", args: ["cp", "/proc/self/environ", `${dir}/${kind}.given`], env: ["ONLY=this"] },
      { path: "/bin/sh", args: ["sh", "-c", 'readlink /proc/self/cwd > "$0"', `${dir}/${kind}.cwd`], env: ["PATH=/usr/bin:/bin"] },
    ];
  }
  bundle.write();
  return bundle;
}

function seenBy(bundle: TestBundle): Seen {
  const out = join(bundle.dir, "out");
  const envFile = (name: string) => readFileSync(join(out, name), "utf8").split("\0").filter(Boolean).sort();
  const seen: Seen = { env: {}, envGiven: {}, cwd: {} } as Seen;
  for (const kind of KINDS) {
    seen.env[kind] = envFile(`${kind}.env`);
    seen.envGiven[kind] = envFile(`${kind}.given`);
    seen.cwd[kind] = readFileSync(join(out, `${kind}.cwd`), "utf8").trim();
  }
  return seen;
}

/**
 * create, start, delete --force, each verb from its own directory with an environment naming
 * it. Output goes to files: the container inherits it and would hold a pipe open.
 */
function lifecycle(bin: string, bundle: TestBundle, id: string, scratch: string): void {
  for (const [verb, args] of [
    ["create", ["create", "--bundle", bundle.dir, id]],
    ["start", ["start", id]],
    ["delete", ["delete", "--force", id]],
  ] as const) {
    const cwd = join(scratch, verb);
    mkdirSync(cwd, { recursive: true });
    const err = openSync(join(cwd, "stderr"), "w+");
    try {
      const r = spawnSync(bin, ["--root", bundle.root, ...args], {
        cwd,
        env: { PATH: process.env.PATH, HOOK_TEST_VERB: verb },
        stdio: ["ignore", "ignore", err],
        timeout: 30_000,
      });
      expect({ verb, status: r.status, stderr: readFileSync(join(cwd, "stderr"), "utf8") }).toEqual({ verb, status: 0, stderr: "" });
    } finally {
      closeSync(err);
    }
  }
}

test("hooks without env get the runtime's whole environment (in the container: the process's), with env only that; cwd as runc gives it", () => {
  const scratch = mkdtempSync(join(tmpdir(), "berth-hook-env-"));
  const parent = `/berthhooks-${process.pid}`;
  const bundles: TestBundle[] = [];
  let made = () => undefined as unknown;
  try {
    const verbEnv = (verb: string) => [`HOOK_TEST_VERB=${verb}`, `PATH=${process.env.PATH}`].sort();
    const processEnv = ["FROM_CONFIG=1", "PATH=/usr/bin:/bin", "TERM=xterm"];
    const expected = (bundle: TestBundle): Seen => ({
      env: {
        prestart: verbEnv("create"),
        createRuntime: verbEnv("create"),
        createContainer: processEnv,
        startContainer: [...processEnv, "HOME=/root"].sort(),
        poststart: verbEnv("start"),
        poststop: verbEnv("delete"),
      },
      envGiven: Object.fromEntries(KINDS.map((k) => [k, ["ONLY=this"]])) as Record<Kind, string[]>,
      cwd: {
        prestart: bundle.dir,
        createRuntime: bundle.dir,
        createContainer: bundle.config.root.path,
        startContainer: "/tmp",
        poststart: bundle.dir,
        poststop: bundle.dir,
      },
    });

    const id = uniq("env");
    const mine = environmentBundle(parent, id);
    b = mine; // afterEach deletes the container and the bundle if the test fails half-way
    lifecycle(berthBin, mine, id, join(scratch, "berth"));
    expect(seenBy(mine)).toEqual(expected(mine));

    if (!runcBin) return;
    // runc 1.1.5 agrees, but for two things of its own: it runs poststart hooks during
    // `create` (so they see create's environment), and poststop hooks in the directory `runc
    // delete` was called from (crun uses the bundle, as berth does).
    const runcId = `${id}-runc`;
    const theirs = environmentBundle(parent, runcId);
    bundles.push(theirs);
    made = () => spawnSync(runcBin, ["--root", theirs.root, "delete", "--force", runcId]);
    lifecycle(runcBin, theirs, runcId, join(scratch, "runc"));
    const runcExpected = expected(theirs);
    runcExpected.env.poststart = verbEnv("create");
    runcExpected.cwd.poststop = join(scratch, "runc", "delete");
    expect(seenBy(theirs)).toEqual(runcExpected);
  } finally {
    made();
    for (const bundle of bundles) bundle.cleanup();
    rmSync(scratch, { recursive: true, force: true });
    for (const dir of cgroupDirsFor(parent)) rmdirSync(dir);
  }
});
