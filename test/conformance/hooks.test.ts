/**
 * Conformance: hooks (config.md POSIX-platform Hooks; runtime.md Lifecycle steps 3-13). One
 * container goes through the whole lifecycle in beforeAll with two logging hooks of each kind;
 * the tests read what the hooks wrote. Each line: tag, mount namespace, whether the user's
 * program had run, whether the state's pid was alive, the state JSON from stdin.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundle, clause, run, uniq } from "./harness";

const SCRIPT = `#!/bin/sh
tag=$1; dir=$2
state=$(cat)
pid=$(echo "$state" | sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p')
alive=no; [ -n "$pid" ] && [ "$pid" != 0 ] && [ -e /proc/$pid/stat ] && [ "$(sed 's/.*) \\(.\\).*/\\1/' /proc/$pid/stat)" != Z ] && alive=yes
ran=no; [ -e "$dir/user" ] && ran=yes
printf '%s|%s|%s|%s|%s\\n' "$tag" "$(readlink /proc/self/ns/mnt)" "$ran" "$alive" "$state" >> "$dir/log"
`;

interface Line {
  tag: string;
  mntns: string;
  ran: boolean;
  alive: boolean;
  state: { status: string; id: string; pid?: number; bundle: string };
}
let lines: Line[] = [];
let containerMntns = "";
let id = "";
let bundleDir = "";
const afterCreate: string[] = [];
const afterStart: string[] = [];
const kinds = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;

function withHooks(args: string[], inContainer: string[] = ["startContainer"]) {
  const b = bundle(args);
  chmodSync(b.dir, 0o755);
  const dir = join(b.dir, "hooks");
  mkdirSync(dir);
  writeFileSync(join(dir, "log.sh"), SCRIPT);
  chmodSync(join(dir, "log.sh"), 0o755);
  writeFileSync(join(dir, "log"), "");
  b.config.mounts.push({ destination: "/hooks", type: "bind", source: dir, options: ["rbind"] });
  b.config.hooks = {};
  for (const k of kinds) {
    const inside = inContainer.includes(k);
    b.config.hooks[k] = [1, 2].map((n) => ({
      path: inside ? "/hooks/log.sh" : join(dir, "log.sh"),
      args: ["log.sh", `${k}${n}`, inside ? "/hooks" : dir],
    }));
  }
  b.write();
  return { b, dir };
}
const read = (dir: string): Line[] =>
  readFileSync(join(dir, "log"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [tag, mntns, ran, alive, ...rest] = l.split("|");
      return { tag: tag!, mntns: mntns!, ran: ran === "yes", alive: alive === "yes", state: JSON.parse(rest.join("|")) };
    });

beforeAll(() => {
  const { b, dir } = withHooks(["sh", "-c", "echo ran > /hooks/user; sleep 300"]);
  bundleDir = b.dir;
  id = uniq(b, "hooks");
  if (run(b, ["create", "-b", b.dir, id]).exitCode !== 0) throw new Error("create failed");
  afterCreate.push(...read(dir).map((l) => l.tag));
  containerMntns = readlinkSync(`/proc/${JSON.parse(run(b, ["state", id]).stdout).pid}/ns/mnt`);
  if (run(b, ["start", id]).exitCode !== 0) throw new Error("start failed");
  afterStart.push(...read(dir).map((l) => l.tag));
  run(b, ["delete", "--force", id]);
  lines = read(dir);
});
// The harness cleans bundles after each test; this file's scenario lives in beforeAll.
const host = () => readlinkSync("/proc/self/ns/mnt");
const of = (tag: string) => lines.filter((l) => l.tag.startsWith(tag));
const where = (tag: string) => of(tag).map((l) => (l.mntns === host() ? "runtime" : l.mntns === containerMntns ? "container" : l.mntns));

clause("config.md#hooks/order", "two hooks of each kind, kinds in lifecycle order", () => {
  expect(lines.map((l) => l.tag)).toEqual(kinds.flatMap((k) => [`${k}1`, `${k}2`]));
});

clause("config.md#hooks/state-stdin", "every hook reads the state of its container", () => {
  for (const l of lines) expect([l.tag, l.state.id, l.state.bundle]).toEqual([l.tag, id, bundleDir]);
  expect(Object.fromEntries(lines.map((l) => [l.tag.slice(0, -1), l.state.status]))).toEqual({
    prestart: "created",
    createRuntime: "created",
    createContainer: "created",
    startContainer: "created",
    poststart: "running",
    poststop: "stopped",
  });
});

clause("config.md#hooks/prestart-ns", undefined, () => expect(where("prestart")).toEqual(["runtime", "runtime"]));
clause("config.md#hooks/create-runtime-ns", undefined, () => expect(where("createRuntime")).toEqual(["runtime", "runtime"]));
clause("config.md#hooks/create-container-ns", "path is a host path the container lacks", () =>
  expect(where("createContainer")).toEqual(["container", "container"]),
);
clause("config.md#hooks/start-container-ns", "path /hooks/log.sh exists only inside", () =>
  expect(where("startContainer")).toEqual(["container", "container"]),
);
clause("config.md#hooks/poststart-ns", undefined, () => expect(where("poststart")).toEqual(["runtime", "runtime"]));
clause("config.md#hooks/poststop-ns", undefined, () => expect(where("poststop")).toEqual(["runtime", "runtime"]));

clause("config.md#prestart/timing", "during create, first, before the program", () => {
  expect(afterCreate.slice(0, 2)).toEqual(["prestart1", "prestart2"]);
  expect(of("prestart").map((l) => l.ran)).toEqual([false, false]);
});
clause("config.md#create-runtime-hooks/timing", "during create, after prestart, init alive", () => {
  expect(afterCreate.slice(2, 4)).toEqual(["createRuntime1", "createRuntime2"]);
  expect(of("createRuntime").map((l) => l.alive)).toEqual([true, true]);
});
clause("config.md#create-container-hooks/timing", "during create, after createRuntime", () => {
  expect(afterCreate).toEqual(["prestart1", "prestart2", "createRuntime1", "createRuntime2", "createContainer1", "createContainer2"]);
});
clause("config.md#start-container-hooks/timing", "during start, before the program ran", () => {
  expect(afterCreate).not.toContain("startContainer1");
  expect(of("startContainer").map((l) => l.ran)).toEqual([false, false]);
});
clause("config.md#poststart/timing", "after the program ran, before start returned", () => {
  expect(afterStart).toContain("poststart2");
  expect(of("poststart").map((l) => l.ran)).toEqual([true, true]);
});
clause("config.md#poststop/timing", "after the container process is gone, before delete returned", () => {
  expect(of("poststop").map((l) => l.alive)).toEqual([false, false]);
});

clause("runtime.md#lifecycle/hook-failure", "failing prestart, createRuntime, createContainer: create errors, nothing is left", () => {
  for (const kind of ["prestart", "createRuntime", "createContainer"]) {
    const { b } = withHooks(["sleep", "300"]);
    b.config.hooks[kind].unshift({ path: "/bin/false" });
    b.write();
    const cid = uniq(b, "hf");
    const r = run(b, ["create", "-b", b.dir, cid]);
    expect([kind, r.exitCode === 0]).toEqual([kind, false]);
    expect(existsSync(join(b.root, cid))).toBe(false);
  }
});

clause("runtime.md#lifecycle/hook-failure", "failing startContainer: start errors, the program never runs, the container stops", () => {
  const { b, dir } = withHooks(["sh", "-c", "echo ran > /hooks/user; sleep 300"]);
  b.config.hooks.startContainer.unshift({ path: "/bin/false" });
  b.write();
  const cid = uniq(b, "sf");
  expect(run(b, ["create", "-b", b.dir, cid]).exitCode).toBe(0);
  expect(run(b, ["start", cid]).exitCode).not.toBe(0);
  expect(existsSync(join(dir, "user"))).toBe(false);
  expect(JSON.parse(run(b, ["state", cid]).stdout).status).toBe("stopped");
});

clause(
  "runtime.md#lifecycle/poststart-failure",
  "failing poststart: start errors naming the hook, the later poststart hooks do not run, the container is stopped",
  () => {
    const { b, dir } = withHooks(["sleep", "300"]);
    b.config.hooks.poststart.unshift({ path: "/bin/false" });
    b.write();
    const cid = uniq(b, "pf");
    expect(run(b, ["create", "-b", b.dir, cid]).exitCode).toBe(0);
    const r = run(b, ["start", cid]);
    expect(r).toMatchObject({ exitCode: 1, stderr: `berth: start ${cid}: hooks.poststart[0] "/bin/false": exit status 1\n` });
    expect(
      read(dir)
        .map((l) => l.tag)
        .filter((t) => t.startsWith("poststart")),
    ).toEqual([]);
    expect(JSON.parse(run(b, ["state", cid]).stdout).status).toBe("stopped");
  },
);

clause(
  "runtime.md#lifecycle/poststart-failure",
  "a config written for 1.2 or earlier gets that version's rule: a warning, and the lifecycle goes on",
  () => {
    const { b, dir } = withHooks(["sleep", "300"]);
    b.config.ociVersion = "1.1.0";
    b.config.hooks.poststart.unshift({ path: "/bin/false" });
    b.write();
    const cid = uniq(b, "pf11");
    expect(run(b, ["create", "-b", b.dir, cid]).exitCode).toBe(0);
    const r = run(b, ["start", cid]);
    expect(r).toMatchObject({ exitCode: 0, stderr: `berth: start ${cid}: hooks.poststart[0] "/bin/false": exit status 1\n` });
    expect(
      read(dir)
        .map((l) => l.tag)
        .filter((t) => t.startsWith("poststart")),
    ).toEqual(["poststart1", "poststart2"]);
    expect(JSON.parse(run(b, ["state", cid]).stdout).status).toBe("running");
  },
);

clause("runtime.md#lifecycle/poststop-failure", "delete succeeds with a warning", () => {
  const { b } = withHooks(["sleep", "300"]);
  b.config.hooks.poststop.unshift({ path: "/bin/false" });
  b.write();
  const cid = uniq(b, "ps");
  run(b, ["create", "-b", b.dir, cid]);
  const r = run(b, ["delete", "--force", cid]);
  expect(r.exitCode).toBe(0);
  expect(r.stderr).toMatch(/poststop\[0\]/);
  expect(existsSync(join(b.root, cid))).toBe(false);
});

clause("runtime.md#warnings/continue", "the poststop hooks after a failing one still run", () => {
  const { b, dir } = withHooks(["sleep", "300"]);
  b.config.hooks.poststop.unshift({ path: "/bin/false" });
  b.write();
  const cid = uniq(b, "wc");
  run(b, ["create", "-b", b.dir, cid]);
  run(b, ["delete", "--force", cid]);
  expect(
    read(dir)
      .map((l) => l.tag)
      .filter((t) => t.startsWith("poststop")),
  ).toEqual(["poststop1", "poststop2"]);
});

clause("config.md#hooks/path-absolute", "a relative hook path is refused", () => {
  const b = bundle(["true"], (c) => (c.hooks = { prestart: [{ path: "bin/true" }] }));
  const r = run(b, ["create", "-b", b.dir, uniq(b, "rel")]);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toMatch(/hooks\.prestart\[0\]/);
});

clause("config.md#hooks/timeout-positive", "timeout 0 is refused", () => {
  const b = bundle(["true"], (c) => (c.hooks = { prestart: [{ path: "/bin/true", timeout: 0 }] }));
  const r = run(b, ["create", "-b", b.dir, uniq(b, "to")]);
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr).toMatch(/timeout/);
});
