/**
 * Bundles for integration tests: one busybox rootfs (built once from the host's
 * busybox-static by scripts/make-busybox-bundle.sh), and per test a bundle directory holding
 * only a config.json that points at it, edited by the test.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./cli";

const shared = join(tmpdir(), "berth-test-busybox");

export function busyboxRootfs(): string {
  if (!existsSync(join(shared, "rootfs/bin/sh"))) {
    execFileSync(join(repoRoot, "scripts/make-busybox-bundle.sh"), [shared], { stdio: "inherit" });
  }
  return join(shared, "rootfs");
}

export interface TestBundle {
  dir: string;
  root: string;
  config: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  write(): void;
  cleanup(): void;
}

/** A bundle running `args`, with the default spec's settings (no terminal). */
export function makeBundle(args: string[], mutate: (c: TestBundle["config"]) => void = () => undefined): TestBundle {
  const rootfs = busyboxRootfs();
  const dir = mkdtempSync(join(tmpdir(), "berth-bundle-"));
  const root = join(dir, "state");
  mkdirSync(root);
  const config = JSON.parse(readFileSync(join(shared, "config.json"), "utf8"));
  // The suites test runtime-spec 1.3.0's rules (a failing poststart hook stops the container,
  // the state's ociVersion); `berth spec` writes 1.1.0 by default, for crun 1.8's sake.
  config.ociVersion = "1.3.0";
  config.root.path = rootfs;
  config.process.args = args;
  config.process.terminal = false;
  mutate(config);
  const b: TestBundle = {
    dir,
    root,
    config,
    write: () => writeFileSync(join(dir, "config.json"), JSON.stringify(b.config, null, 2)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  b.write();
  return b;
}

/** Live processes whose command line mentions `needle` (to prove nothing was left behind). */
export function processesMentioning(needle: string): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.includes(needle) && !l.includes("ps -eo"))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** Cgroup directories for a path, in every hierarchy this host mounts. */
export function cgroupDirsFor(path: string): string[] {
  const dirs: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(" ")[0];
    if (fstype === "cgroup" || fstype === "cgroup2") dirs.push(join(line.split(" ")[4]!, path));
  }
  return dirs.filter((d) => existsSync(d));
}
