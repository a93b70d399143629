/**
 * delete: remove what the container owned -- its processes (a created container's waiting
 * berth-init always; a running or paused one's only with --force), cgroup directories
 * berth created, and its state directory -- and nothing else. Waiting for death is a poll on a
 * pidfd, not a sleep (runc sleeps 100 ms here).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../errors";
import { UNREADABLE_STATE, type ContainerRecord } from "../state";
import { cgroupRemoveFailureText, detectCgroups, frozenState, isFrozen, setFrozen } from "../cgroups";
import { cgroupDriverOf, cgroupErrorsAsync } from "./cgroup-driver";
import { cgroupSetOf, leafCgroupDir } from "./cgroup-of";
import { unmountContainerMounts } from "./host-mounts";
import { unmountImageRootfs } from "./image";
import { openInit, signalCgroup, signalContainer } from "./kill";
import { runPoststop } from "./hooks";
import type { Runtime } from "./runtime";
import { liveStatus } from "./status";
import { faultPoint } from "../fault";

const SIGKILL = 9;
/** How long exiting processes may take to leave the cgroup (a large address space takes a while to free). */
const CGROUP_EMPTY_TIMEOUT_MS = 10_000;

export async function destroy(rt: Runtime, id: string, force = false): Promise<void> {
  try {
    await destroyLocked(rt, id, force);
  } catch (err) {
    // As runc, --force of a container that does not exist succeeds silently (no lock file, or
    // no state file, below): podman runs `delete --force ID` after every failed create, and an
    // error here would be printed to the podman user under the real one. containerd ignores it.
    if (force && err instanceof BerthError && err.reason === "container does not exist") {
      // A directory with no lock file is no create in progress (create makes it with the
      // directory) but a leftover: --force removes it, as runc does.
      if (existsSync(rt.store.dir(id))) rt.store.remove(id);
      return;
    }
    throw err;
  }
}

async function destroyLocked(rt: Runtime, id: string, force: boolean): Promise<void> {
  await rt.store.withLockAsync("delete", id, async () => {
    let record: ContainerRecord;
    try {
      record = rt.store.read("delete", id);
    } catch (err) {
      // Locked, and no state file (or one that is not a record): not a create in progress (it
      // holds the lock) but one that crashed before writing it. runc removes such a directory
      // on --force.
      if (force && err instanceof BerthError && (err.reason === "container does not exist" || err.reason.startsWith(UNREADABLE_STATE))) {
        rt.store.remove(id);
        return;
      }
      throw err;
    }
    faultPoint("delete", id, "read state");
    const status = liveStatus(rt.store, record);
    if (status !== "stopped") {
      // runtime.md "delete": deleting a container that is not stopped MUST produce an error.
      // berth keeps that for running and paused containers, but deletes a created one without
      // --force, as runc and crun do: containerd's shim deletes a created-but-never-started
      // task that way (no --force), and nothing of the user's program has run yet. A
      // deliberate deviation, recorded in docs/conformance-suite.md.
      // A "creating" record whose create was killed is the same: nothing of the user's has run.
      if (!force && status !== "created" && status !== "creating")
        throw new BerthError({
          code: "container-state",
          op: "delete",
          id,
          reason: `cannot delete container ${id} that is not stopped: ${status}`,
        });
      await killAndWait(rt, record);
      faultPoint("delete", id, "kill the container");
    }
    await removeOwned(rt, record);
    // runtime.md "Lifecycle" step 13: after the container is gone; failures are warnings.
    runPoststop(rt, "delete", { spec: record.config, id, bundle: record.bundle, pid: record.pid });
  });
}

/** SIGKILL every process of the container and wait for the init's death (a pidfd poll). */
export async function killAndWait(rt: Runtime, record: ContainerRecord): Promise<void> {
  const pidfd = openInit(rt, record);
  if (pidfd === undefined) return;
  try {
    try {
      await signalContainer(rt, record, SIGKILL, true);
    } catch {
      /* it died on its own meanwhile */
    }
    // A paused container: the v1 freezer holds even SIGKILL until thawed (cgroup2's does not).
    const set = cgroupSetOf(record);
    if (isFrozen(set)) await setFrozen(set, false).catch(() => undefined);
    // Frozen in a v1 freezer cgroup berth did not make (moved there by someone else), the
    // process cannot die until its owner thaws it: say so now rather than wait for ever.
    const stuck = foreignFreezer(record);
    if (stuck)
      throw new BerthError({
        op: "delete",
        id: record.id,
        reason: `its process ${record.pid} is in a frozen cgroup berth did not create (${stuck}): SIGKILL takes effect once that is thawed`,
      });
    await rt.native.pidfdPollExit(pidfd);
  } finally {
    rt.native.closeFd(pidfd);
  }
}

/** The init's v1 freezer cgroup, when it is frozen and not one of the container's own: "<file> says <state>". */
function foreignFreezer(record: ContainerRecord): string | undefined {
  const mount = detectCgroups().v1Mounts.freezer;
  if (!mount) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${record.pid}/cgroup`, "utf8");
  } catch {
    return undefined; // gone already
  }
  const line = text.split("\n").find((l) => l.split(":")[1]?.split(",").includes("freezer"));
  if (!line) return undefined;
  const dir = join(mount, line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1));
  if (record.cgroupDirs.includes(dir)) return undefined;
  return frozenState(dir);
}

async function removeOwned(rt: Runtime, record: ContainerRecord): Promise<void> {
  // With the init dead, its pid namespace is gone and every process in it was killed; the
  // cgroup empties as they finish exiting. Wait for that (bounded), then rmdir.
  const cgroups = cgroupDriverOf(rt, record);
  const leaf = leafCgroupDir(record);
  // A cgroupsPath shared with another berth container (runc allows it): with a pid namespace
  // of its own, this container's processes died with its init (the kernel empties the
  // namespace), and what is left in the cgroup is the other's: it stays, as does the cgroup,
  // which the last of them removes (runc leaves them running too).
  const ownPidns = (record.config.linux?.namespaces ?? []).some((n) => n.type === "pid" && !n.path);
  const shared = leaf !== undefined && ownPidns && rt.store.cgroupDirsInUse(record.id).has(leaf);
  if (leaf && !shared && cgroups.pids(leaf).length > 0) {
    // Processes outlived the init (no pid namespace of its own, or the recorded pid was
    // recycled while the container's own processes live on): they are the container's, found
    // by its cgroup, so they go with it (runc's destroy does the same).
    await signalCgroup(rt, record, SIGKILL);
  }
  if (leaf && !shared) await cgroups.waitEmpty(leaf, CGROUP_EMPTY_TIMEOUT_MS);
  faultPoint("delete", record.id, "wait for the cgroup to empty");
  // The driver's own part (systemd: stop the unit, which removes the directories systemd owns);
  // berth removes the rest (record.cgroupDirs).
  await cgroupErrorsAsync("delete", record.id, () => cgroups.release({ id: record.id, unit: record.systemdUnit }));
  // A shared directory still in use by the others stays, for the last of them to remove.
  // A busy directory is waited for (briefly) unless another container may still be using it.
  const failed = await cgroups.remove([...record.cgroupDirs, ...(record.cgroupShared ?? [])], { settle: !shared });
  if (failed.length && !shared) throw new BerthError({ op: "delete", id: record.id, reason: cgroupRemoveFailureText(failed[0]!) });
  faultPoint("delete", record.id, "remove cgroups");
  if (record.hostMounts && rt.native.umount) {
    const failed = unmountContainerMounts(rt.native.umount, record.hostMounts.root, record.hostMounts.before);
    if (failed.length)
      throw new BerthError({
        op: "delete",
        id: record.id,
        field: failed[0]!.mountPoint,
        reason: "unmount the container's mount in the host's mount namespace",
        errno: failed[0]!.code,
      });
  }
  faultPoint("delete", record.id, "unmount");
  unmountImageRootfs(rt.native, record.id, record.config);
  faultPoint("delete", record.id, "remove the image rootfs");
  rt.store.remove(record.id);
}

export { liveStatus };
