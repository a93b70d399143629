/**
 * The engines' environment for test/e2e: a private podman (its own containers.conf and
 * storage.conf under a scratch dir) and a hand-run containerd (its own root, state and sockets
 * under the same scratch dir), both on an offline busybox image made from the host's
 * busybox-static. Nothing is installed here: scripts/install-deps.sh provides podman, conmon,
 * containerd, runc and busybox-static.
 *
 * What this creates outside the scratch dir, and removes again in `teardown`:
 *   - cgroups: podman's containers go under a private cgroup parent (`--cgroup-parent /<tag>`,
 *     which also holds podman's `conmon` cgroup), containerd's under its namespace `/<tag>/<id>`;
 *     both are rmdir'ed bottom-up (rmdir only: a cgroup with a process in it stays);
 *   - /run/containerd/runc/<tag> (each runtime's --root, as the shim passes it) and the shim
 *     socket dir /run/containerd/s when empty;
 *   - state dirs of our own container ids only (podman's runtimes use /run/berth and /run/runc
 *     without --root; those roots are shared, so only our ids are ever touched).
 * Processes: containerd is stopped by its PID; podman's conmons and containerd's shims exit
 * with their containers, which are removed by name.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const repoRoot = join(__dirname, "../..");
export const berthBin = join(repoRoot, "bin/berth");
export const runcBin = "/usr/sbin/runc";
export const image = "localhost/busybox:latest";

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a command to its exit. stdout and stderr go to files, not pipes: a container's processes
 * (a shim, conmon) may inherit them and keep them open, and waiting for a pipe's end would then
 * wait for the container. A command that outlives `timeoutMs` is killed by its pid (ours).
 */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), "berth-e2e-run-"));
  const out = openSync(join(dir, "out"), "w+");
  const err = openSync(join(dir, "err"), "w+");
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? "ignore" : "pipe", out, err],
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), opts.timeoutMs ?? 40_000);
    const finish = (code: number | null, error?: Error) => {
      clearTimeout(timer);
      const r = { code, stdout: readFileSync(join(dir, "out"), "utf8"), stderr: readFileSync(join(dir, "err"), "utf8") };
      closeSync(out);
      closeSync(err);
      rmSync(dir, { recursive: true, force: true });
      if (error) reject(error);
      else resolve(r);
    };
    child.on("error", (e) => finish(null, e));
    child.on("exit", (code, signal) => finish(code ?? (signal ? 128 : null)));
  });
}

/** Poll `probe` until it returns a value (not undefined), every 50 ms, for at most `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What must be on the host; a missing piece fails the suite with what to run. */
export function missingTools(): string[] {
  const need = ["podman", "conmon", "containerd", "ctr", "containerd-shim-runc-v2", "script"];
  const missing = need.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  for (const f of [runcBin, "/usr/bin/busybox", berthBin, join(repoRoot, "build/Release/berth-init")]) if (!existsSync(f)) missing.push(f);
  return missing;
}

export interface Engines {
  scratch: string;
  /** The namespace (containerd) and cgroup parent (podman) of this run, unique per run. */
  tag: string;
  podmanEnv: NodeJS.ProcessEnv;
  ctrAddress: string;
  containerdPid?: number;
  fifoDir: string;
  pathFirst?: string;
}

/** Start this run's containerd (its config under env.scratch) and wait until it answers. */
async function startContainerd(env: Engines): Promise<void> {
  const c = join(env.scratch, "containerd");
  const log = openSync(join(c, "containerd.log"), "a");
  const daemonEnv = env.pathFirst ? { ...process.env, PATH: `${env.pathFirst}:${process.env.PATH}` } : process.env;
  const daemon = spawn("containerd", ["--config", join(c, "config.toml")], {
    cwd: c,
    env: daemonEnv,
    stdio: ["ignore", log, log],
    detached: true,
  });
  closeSync(log);
  daemon.unref();
  env.containerdPid = daemon.pid;
  await until(
    "containerd to answer",
    async () => ((await run("ctr", ["--address", env.ctrAddress, "version"])).code === 0 ? true : undefined),
    20_000,
  );
}

const processAlive = (pid: number) => existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] !== "Z";

/** Stop this run's containerd (SIGTERM, by its pid) and start it again; shims and containers stay. */
export async function restartContainerd(env: Engines): Promise<void> {
  const pid = env.containerdPid;
  if (pid && processAlive(pid)) {
    process.kill(pid, "SIGTERM");
    await until("containerd to exit", async () => (processAlive(pid) ? undefined : true), 10_000);
  }
  await startContainerd(env);
}

/**
 * Write the private podman config, import the image, start containerd and import the image there.
 * `pathFirst` goes first on containerd's PATH (where it looks for a runtime's shim binary).
 */
export async function setup(opts: { pathFirst?: string } = {}): Promise<Engines> {
  const scratch = mkdtempSync(join(tmpdir(), "berth-e2e-engines-"));
  const tag = `berth-e2e-${process.pid}`;
  const img = join(scratch, "img");
  const mk = spawnSync("bash", [join(repoRoot, "scripts/engines/make-busybox-image.sh"), img], { encoding: "utf8" });
  if (mk.status !== 0) throw new Error(`make-busybox-image.sh failed: ${mk.stderr}`);

  // --- podman: storage, runroot, tmp_dir, events and network config all in the scratch dir.
  const p = join(scratch, "podman");
  for (const d of ["storage", "run", "tmp", "cni", "volumes"]) mkdirSync(join(p, d), { recursive: true });
  writeFileSync(join(p, "storage.conf"), `[storage]\ndriver = "overlay"\nrunroot = "${p}/run"\ngraphroot = "${p}/storage"\n`);
  writeFileSync(
    join(p, "containers.conf"),
    [
      "[containers]",
      'netns = "none"',
      'log_driver = "k8s-file"',
      // No CAP_SYS_RESOURCE on this host: podman's defaults (nofile=nproc=1048576) would fail
      // every create with "error setting rlimit" under any runtime.
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      "[engine]",
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${p}/events.log"`,
      'runtime = "runc"',
      `tmp_dir = "${p}/tmp"`,
      `volume_path = "${p}/volumes"`,
      `static_dir = "${p}/storage/libpod"`,
      // podman passes --log and --log-format=json only to runtimes named here (or named runc);
      // without them, the error text of a failed create (and its exit code 127) is lost.
      'runtime_supports_json = ["runc", "crun", "berth"]',
      "[engine.runtimes]",
      `berth = ["${berthBin}"]`,
      `runc = ["${runcBin}"]`,
      "[network]",
      `network_config_dir = "${p}/cni"`,
      "",
    ].join("\n"),
  );
  const podmanEnv = { ...process.env, CONTAINERS_CONF: join(p, "containers.conf"), CONTAINERS_STORAGE_CONF: join(p, "storage.conf") };
  const imp = await run(
    "podman",
    ["import", "--change", 'CMD ["/bin/sh"]', "--change", "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin", join(img, "busybox-rootfs.tar"), image],
    { env: podmanEnv },
  );
  if (imp.code !== 0) throw new Error(`podman import: ${imp.stderr}`);

  // --- containerd: root, state and every socket in the scratch dir; no CRI plugin.
  const c = join(scratch, "containerd");
  mkdirSync(join(c, "root"), { recursive: true });
  mkdirSync(join(c, "state"), { recursive: true });
  const fifoDir = join(scratch, "fifo");
  mkdirSync(fifoDir);
  const ctrAddress = join(c, "containerd.sock");
  writeFileSync(
    join(c, "config.toml"),
    `version = 2\nroot = "${c}/root"\nstate = "${c}/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n` +
      `[grpc]\n  address = "${ctrAddress}"\n[ttrpc]\n  address = "${ctrAddress}.ttrpc"\n[debug]\n  address = "${c}/debug.sock"\n  level = "info"\n[metrics]\n  address = ""\n`,
  );
  const env: Engines = { scratch, tag, podmanEnv, ctrAddress, fifoDir, pathFirst: opts.pathFirst };
  await startContainerd(env);
  const ci = await run("ctr", ["--address", ctrAddress, "-n", tag, "images", "import", join(img, "busybox-oci.tar")]);
  if (ci.code !== 0) throw new Error(`ctr images import: ${ci.stderr}`);
  return env;
}

/** rmdir a directory tree bottom-up (cgroup dirs hold only pseudo-files, which go with rmdir). */
function rmdirTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirTree(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    /* busy (a process still in it) or not empty: leave it rather than force anything */
  }
}

function rmdirIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* not empty (someone else's) or absent */
  }
}

/** Undo `setup`. Containers are removed by the caller (by name); this stops the daemon and removes dirs. */
export async function teardown(env: Engines, podmanNames: string[], ctrIds: string[]): Promise<void> {
  for (const n of podmanNames) await run("podman", ["rm", "-f", "-t", "0", "--ignore", n], { env: env.podmanEnv });
  await run("podman", ["rmi", "-f", image], { env: env.podmanEnv });
  const ctr = ["--address", env.ctrAddress, "-n", env.tag];
  if (env.containerdPid) {
    for (const id of ctrIds) {
      await run("ctr", [...ctr, "task", "delete", "-f", id]);
      await run("ctr", [...ctr, "container", "rm", id]);
    }
    await run("ctr", [...ctr, "images", "rm", image]);
    const pid = env.containerdPid;
    const alive = () => existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] !== "Z";
    if (alive()) {
      process.kill(pid, "SIGTERM");
      await until("containerd to exit", async () => (alive() ? undefined : true), 10_000).catch(() => process.kill(pid, "SIGKILL"));
    }
  }
  rmdirIfEmpty(join("/run/containerd/runc", env.tag));
  for (const d of ["/run/containerd/runc", "/run/containerd/s", "/run/containerd"]) rmdirIfEmpty(d);
  // The cgroups made for this run, in every v1 hierarchy and in the unified one.
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const base = join("/sys/fs/cgroup", h);
    if (statSync(base).isDirectory()) rmdirTree(join(base, env.tag));
  }
  // Overlay mounts podman may have left in its private storage, then the scratch dir.
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && m.startsWith(env.scratch + "/"))
    .reverse();
  for (const m of mounts) spawnSync("umount", ["-l", m]);
  rmSync(env.scratch, { recursive: true, force: true });
}
