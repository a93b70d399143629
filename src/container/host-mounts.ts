/**
 * A container without a mount namespace of its own makes its mounts (proc, /dev, binds...) in
 * the host's mount table, under its rootfs. They are the container's: `delete` and a failed
 * `create` unmount them. Which ones they are is read from /proc/self/mountinfo, not guessed:
 * every mount at or under the rootfs that was not there before the create (`before`, the mount
 * ids present then: a volume the user mounted into the rootfs beforehand stays). Mounts the
 * container's own processes made under its root are found the same way, and go too.
 */
import { readFileSync, realpathSync } from "node:fs";

export interface HostMount {
  /** mountinfo field 1: unique while the mount exists. */
  id: number;
  mountPoint: string;
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The mounts at or under `root`, in the order they were made (mountinfo's order). */
export function mountsUnder(root: string, mountinfo: string): HostMount[] {
  const prefix = root.endsWith("/") ? root : `${root}/`;
  const found: HostMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    if (fields.length < 5) continue;
    const mountPoint = unescape(fields[4]!);
    if (mountPoint === root || mountPoint.startsWith(prefix)) found.push({ id: Number(fields[0]), mountPoint });
  }
  return found;
}

/** The rootfs as mountinfo names it (symlinks resolved). */
export function realRoot(rootfs: string): string {
  try {
    return realpathSync(rootfs);
  } catch {
    return rootfs;
  }
}

export function readMountinfo(): string {
  return readFileSync("/proc/self/mountinfo", "utf8");
}

/**
 * Unmount (detached: a process may still have a file open there) every mount under `root` not
 * in `before`, the latest first, so that a mount stacked on another goes before it. Returns
 * what could not be unmounted, with the errno code.
 */
export function unmountContainerMounts(
  umount: (target: string, detach?: boolean) => void,
  root: string,
  before: readonly number[],
): { mountPoint: string; code: string }[] {
  const keep = new Set(before);
  const failed: { mountPoint: string; code: string }[] = [];
  const ours = mountsUnder(root, readMountinfo()).filter((m) => !keep.has(m.id));
  for (const m of ours.reverse()) {
    try {
      umount(m.mountPoint, true);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "EIO";
      // Gone already (a detach of its parent took it along).
      if (code !== "EINVAL" && code !== "ENOENT") failed.push({ mountPoint: m.mountPoint, code });
    }
  }
  return failed;
}
