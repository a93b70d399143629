/**
 * Real containers on a busybox bundle, as root: what the process inside observes, what
 * `state` prints, and what the host is left with. Every test uses its own --root.
 */
import { cpSync, readFileSync, readlinkSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { berth } from "../helpers/cli";
import { cgroupDirsFor, makeBundle, processesMentioning, type TestBundle } from "../helpers/bundle";
import { testIds } from "../helpers/ids";

let b: TestBundle;
const ids = testIds();
const uniq = ids.uniq;
const run = (args: string[]) => berth(["--root", b.root, ...args]);

afterEach(() => {
  ids.deleteAll((id) => run(["delete", "--force", id]));
  b?.cleanup();
});

/** A live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function leftBehind(id: string) {
  return { state: existsSync(join(b.root, id)), cgroups: cgroupDirsFor(`/berth/${id}`), processes: processesMentioning(id) };
}
const nothing = { state: false, cgroups: [], processes: [] };

test("run in the foreground: the process sees its own hostname and is pid 1; nothing is left", () => {
  b = makeBundle(["sh", "-c", "hostname; echo pid=$$"]);
  const id = uniq("run");
  expect(run(["run", "--bundle", b.dir, id])).toEqual({ exitCode: 0, stdout: "berth\npid=1\n", stderr: "" });
  expect(leftBehind(id)).toEqual(nothing);
});

test("run passes the container's exit status through, and 128+n for a signal", () => {
  b = makeBundle(["sh", "-c", "exit 7"]);
  expect(run(["run", "-b", b.dir, uniq("exit")]).exitCode).toBe(7);
  // The init of a pid namespace cannot be killed from inside it, even by itself: without a
  // pid namespace the shell is an ordinary process and its SIGKILL ends it.
  b.config.process.args = ["sh", "-c", "kill -KILL $$"];
  b.config.linux.namespaces = b.config.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
  b.write();
  expect(run(["run", "-b", b.dir, uniq("sig")]).exitCode).toBe(137);
});

test("create, state, start, kill, delete: the OCI lifecycle as runc shows it", () => {
  b = makeBundle(["sleep", "300"]);
  const id = uniq("life");
  expect(run(["create", "--bundle", b.dir, "--pid-file", join(b.dir, "pid"), id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  const created = JSON.parse(run(["state", id]).stdout);
  expect(created).toMatchObject({ ociVersion: "1.3.0", id, status: "created", bundle: b.dir });
  expect(readFileSync(join(b.dir, "pid"), "utf8")).toBe(String(created.pid));
  // The waiting init is berth-init from a sealed memfd: the container cannot rewrite it.
  expect(readlinkSync(`/proc/${created.pid}/exe`)).toMatch(/^\/memfd:berth-init/);
  // No Node process stays: the created container is one small process.
  const status = readFileSync(`/proc/${created.pid}/status`, "utf8");
  expect(Number(/VmRSS:\s+(\d+) kB/.exec(status)![1])).toBeLessThan(1024);
  expect(/Name:\s+(\S+)/.exec(status)![1]).not.toBe("node");

  expect(run(["start", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(JSON.parse(run(["state", id]).stdout)).toMatchObject({ status: "running", pid: created.pid });
  expect(readFileSync(`/proc/${created.pid}/cmdline`, "utf8")).toBe("sleep\u0000300\u0000");
  expect(run(["start", id]).stderr).toBe(`berth: start ${id}: cannot start an already running container\n`);

  expect(run(["delete", id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: delete ${id}: cannot delete container ${id} that is not stopped: running\n`,
  });
  expect(run(["kill", id, "KILL"])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  for (let i = 0; i < 1000 && JSON.parse(run(["state", id]).stdout).status !== "stopped"; i++);
  expect(JSON.parse(run(["state", id]).stdout)).toMatchObject({ status: "stopped", pid: 0 });
  expect(run(["kill", id, "TERM"]).stderr).toBe(`berth: kill ${id}: container not running\n`);
  expect(run(["delete", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(run(["state", id])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: state ${id}: container does not exist\n` });
  expect(leftBehind(id)).toEqual(nothing);
});

test("list shows containers in a table, as JSON and quietly", () => {
  b = makeBundle(["sleep", "300"]);
  const a = uniq("la");
  const c = uniq("lc");
  run(["create", "-b", b.dir, a]);
  run(["create", "-b", b.dir, c]);
  run(["start", c]);
  const quiet = run(["list", "-q"]);
  expect(quiet).toEqual({ exitCode: 0, stdout: [a, c].sort().join("\n") + "\n", stderr: "" });
  const json = JSON.parse(run(["list", "--format", "json"]).stdout);
  expect(json.map((s: { id: string; status: string }) => [s.id, s.status]).sort()).toEqual(
    [
      [a, "created"],
      [c, "running"],
    ].sort(),
  );
  const table = run(["list"]).stdout.split("\n");
  expect(table[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
});

test("delete --force of a running container leaves no process, cgroup or state", () => {
  b = makeBundle(["sh", "-c", "sleep 300 & sleep 300"]);
  const id = uniq("force");
  run(["run", "-d", "-b", b.dir, id]);
  const pid = JSON.parse(run(["state", id]).stdout).pid;
  expect(run(["delete", "--force", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  // Dead: gone, or a zombie until its parent (the host's init, since the CLI has exited)
  // reaps it.
  expect(alive(pid)).toBe(false);
  expect(leftBehind(id)).toEqual(nothing);
});

test("delete of a created container without --force kills its berth-init and leaves nothing (as runc and crun)", () => {
  // containerd's shim deletes a created-but-never-started task this way, without --force.
  b = makeBundle(["sleep", "300"]);
  const id = uniq("delcreated");
  expect(run(["create", "-b", b.dir, id]).exitCode).toBe(0);
  const pid = JSON.parse(run(["state", id]).stdout).pid;
  expect(alive(pid)).toBe(true);
  expect(cgroupDirsFor(`/berth/${id}`).length).toBeGreaterThan(0);
  expect(run(["delete", id])).toEqual({ exitCode: 0, stdout: "", stderr: "" });
  expect(alive(pid)).toBe(false);
  expect(leftBehind(id)).toEqual(nothing);
  expect(run(["state", id])).toEqual({ exitCode: 1, stdout: "", stderr: `berth: state ${id}: container does not exist\n` });
});

test("delete of a paused container without --force is still refused", () => {
  b = makeBundle(["sleep", "300"]);
  const id = uniq("delpaused");
  run(["run", "-d", "-b", b.dir, id]);
  expect(run(["pause", id]).exitCode).toBe(0);
  expect(run(["delete", id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: delete ${id}: cannot delete container ${id} that is not stopped: paused\n`,
  });
  expect(JSON.parse(run(["state", id]).stdout).status).toBe("paused");
});

test("a second create with the same id is refused and does not disturb the first", () => {
  b = makeBundle(["sleep", "300"]);
  const id = uniq("dup");
  run(["create", "-b", b.dir, id]);
  expect(run(["create", "-b", b.dir, id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: create ${id}: container with id exists: ${id}\n`,
  });
  expect(JSON.parse(run(["state", id]).stdout).status).toBe("created");
});

test("a missing program fails create with runc's words and leaves nothing behind", () => {
  b = makeBundle(["no-such-program"]);
  const id = uniq("noexec");
  const r = run(["create", "-b", b.dir, id]);
  expect(r).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: create ${id}: process.args[0]: exec: "no-such-program": executable file not found in $PATH\n`,
  });
  expect(leftBehind(id)).toEqual(nothing);
});

test('a missing program by path: the errno text is said once, and the --log json line has no second "berth: " for the engine to repeat', () => {
  b = makeBundle(["/no/such/program"]);
  const id = uniq("noexec-path");
  const log = join(b.dir, "log.json");
  const r = run(["--log", log, "--log-format", "json", "create", "-b", b.dir, id]);
  const reason = `process.args[0]: exec: "/no/such/program": stat /no/such/program: no such file or directory`;
  expect(r).toEqual({ exitCode: 1, stdout: "", stderr: `berth: create ${id}: ${reason}\n` });
  const lines = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines.map((l) => [l.level, l.msg])).toEqual([["error", `create ${id}: ${reason}`]]);
  expect(leftBehind(id)).toEqual(nothing);
});

test("a failing mount is reported at its config field and rolled back", () => {
  b = makeBundle(["true"], (c) => c.mounts.push({ destination: "/mnt", type: "nosuchfs", source: "none" }));
  const id = uniq("badmount");
  const r = run(["create", "-b", b.dir, id]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^berth: create ${id}: mounts\\[7\\]: .*no such device\\n$`));
  expect(leftBehind(id)).toEqual(nothing);
});

test("a bind source that does not exist is refused before anything is made", () => {
  b = makeBundle(["true"], (c) => c.mounts.push({ destination: "/data", source: "/nonexistent/dir", options: ["rbind"] }));
  const id = uniq("nosrc");
  expect(run(["create", "-b", b.dir, id])).toEqual({
    exitCode: 1,
    stdout: "",
    stderr: `berth: create ${id}: mounts[7].source "/nonexistent/dir": stat: no such file or directory\n`,
  });
  expect(leftBehind(id)).toEqual(nothing);
});

describe("what the process inside observes", () => {
  const inside = (script: string, mutate?: (c: TestBundle["config"]) => void) => {
    b = makeBundle(["sh", "-c", script], mutate);
    return run(["run", "-b", b.dir, uniq("in")]);
  };

  test("capabilities, no_new_privs, uid and gid, rlimits", () => {
    const r = inside("grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status; id -u; id -g; ulimit -n", (c) => {
      c.process.user = { uid: 1000, gid: 1000, additionalGids: [10] };
      // An ambient capability must also be inheritable (prctl(2)); runc's default spec has no
      // inheritable set, so add it here.
      c.process.capabilities.inheritable = c.process.capabilities.ambient;
    });
    const mask = ((1n << 29n) | (1n << 5n) | (1n << 10n)).toString(16).padStart(16, "0");
    expect(r).toEqual({
      exitCode: 0,
      stderr: "",
      stdout: `CapEff:\t${mask}\nCapBnd:\t${mask}\nCapAmb:\t${mask}\nNoNewPrivs:\t1\n1000\n1000\n1024\n`,
    });
  });

  test("mounts: proc, devpts, read-only /sys and root; masked and read-only paths", () => {
    const r = inside(
      "cat /proc/kcore | wc -c; touch /x 2>&1; (echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; grep -c ' /dev/pts ' /proc/self/mountinfo; ls /sys/firmware | wc -l",
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      "0",
      "touch: /x: Read-only file system",
      expect.stringMatching(/Read-only file system/),
      "1",
      "0",
      "",
    ]);
  });

  test("devices: the default ones exist as character devices; /dev/fd links to /proc/self/fd", () => {
    const r = inside(
      "for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo $d; done; readlink /dev/fd; echo x > /dev/null && echo ok",
    );
    expect(r).toEqual({ exitCode: 0, stderr: "", stdout: "null\nzero\nfull\nrandom\nurandom\ntty\n/proc/self/fd\nok\n" });
  });

  test("without a tmpfs on /dev, a default device keeps what the rootfs has there (as runc), a fake /dev/null never serves as a mask, and a linux.devices entry that does not match is an error naming it", () => {
    const noDevTmpfs = (c: TestBundle["config"]) =>
      (c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== "/dev" && !m.destination.startsWith("/dev/")));
    b = makeBundle(["sh", "-c", "[ -f /dev/full ] && cat /dev/full; [ -c /dev/zero ] && echo zero"], noDevTmpfs);
    // A rootfs of its own: the nodes are made in it.
    cpSync(b.config.root.path, join(b.dir, "rootfs"), { recursive: true, verbatimSymlinks: true });
    b.config.root.path = join(b.dir, "rootfs");
    b.write();
    writeFileSync(join(b.dir, "rootfs/dev/full"), "a file of the image\n");
    // Twice: the second run finds the nodes the first one made in the rootfs, and keeps them.
    for (const name of ["keep1", "keep2"])
      expect(run(["run", "-b", b.dir, uniq(name)])).toEqual({ exitCode: 0, stderr: "", stdout: "a file of the image\nzero\n" });

    // Masked paths are masked with /dev/null: a regular file there is refused, not bound.
    rmSync(join(b.dir, "rootfs/dev/null"));
    writeFileSync(join(b.dir, "rootfs/dev/null"), "");
    const fake = uniq("fake-null");
    const masked = run(["run", "-b", b.dir, fake]);
    expect(masked.exitCode).toBe(1);
    expect(masked.stderr).toMatch(
      new RegExp(
        `^berth: create ${fake}: linux.maskedPaths\\[\\d+\\]: mask /proc/\\S+: open /dev/null: not the null device \\(char 1:3\\): invalid argument\n$`,
      ),
    );
    expect(leftBehind(fake)).toEqual(nothing);

    b.config.linux.devices = [{ path: "/dev/null", type: "c", major: 1, minor: 3 }];
    b.write();
    const id = uniq("mismatch");
    const r = run(["run", "-b", b.dir, id]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^berth: create ${id}: linux.devices\\[0\\]: mknod /dev/null: an entry that is not this device is already there: file already exists\n$`,
      ),
    );
    expect(leftBehind(id)).toEqual(nothing);
  });

  test("no host fd leaks into the container: only stdio", () => {
    const r = inside("ls /proc/self/fd");
    // ls itself opens one fd (3) to read the directory.
    expect(r).toEqual({ exitCode: 0, stderr: "", stdout: "0\n1\n2\n3\n" });
  });

  test("the container is in its own cgroups, under /berth/<id>, not under the caller's", () => {
    b = makeBundle(
      ["sh", "-c", "cat /proc/self/cgroup"],
      (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "cgroup")),
    );
    const id = uniq("cg");
    const r = run(["run", "-b", b.dir, id]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(new RegExp(`:/berth/${id}$`));
  });

  test("sysctl, hostname and domainname from the config", () => {
    const r = inside("cat /proc/sys/net/ipv4/ip_forward; hostname; cat /proc/sys/kernel/domainname", (c) => {
      c.linux.sysctl = { "net.ipv4.ip_forward": "1" };
      c.hostname = "box1";
      c.domainname = "example.org";
    });
    expect(r).toEqual({ exitCode: 0, stderr: "", stdout: "1\nbox1\nexample.org\n" });
  });

  const hostDomain = readFileSync("/proc/sys/kernel/domainname", "utf8");
  test("sysctl kernel.domainname is set in the container's UTS namespace (and wins over the domainname field, as with runc)", () => {
    const r = inside("cat /proc/sys/kernel/domainname", (c) => {
      c.linux.sysctl = { "kernel.domainname": "sysctl.example" };
    });
    expect(r).toEqual({ exitCode: 0, stderr: "", stdout: "sysctl.example\n" });
    const both = inside("cat /proc/sys/kernel/domainname", (c) => {
      c.domainname = "field.example";
      c.linux.sysctl = { "kernel.domainname": "sysctl.example" };
    });
    expect(both).toEqual({ exitCode: 0, stderr: "", stdout: "sysctl.example\n" });
    // The host's own is untouched.
    expect(readFileSync("/proc/sys/kernel/domainname", "utf8")).toBe(hostDomain);
  });

  test("a user namespace with uid and gid maps written by the parent", () => {
    const r = inside("cat /proc/self/uid_map /proc/self/gid_map; id -u", (c) => {
      c.linux.namespaces.push({ type: "user" });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.mounts = c.mounts.filter((m: { type: string }) => m.type !== "sysfs" && m.type !== "cgroup");
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").map((l) => l.trim().split(/\s+/).join(" "))).toEqual(["0 100000 65536", "0 100000 65536", "0", ""]);
  });
});

void writeFileSync;
