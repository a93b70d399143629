/**
 * The container's seccomp filter, for create and exec alike: planned (plan/seccomp.ts), compiled
 * to BPF by libseccomp in the addon (native/addon/seccomp-compile.cc), and the listener fd of an
 * SCMP_ACT_NOTIFY filter delivered to the agent at linux.seccomp.listenerPath.
 */
import { resolve } from "node:path";
import { BerthError, renderProblem } from "../errors";
import { planSeccomp, type SeccompRequest } from "../plan";
import type { Spec } from "../spec";
import type { Runtime } from "./runtime";

/** What the plan gets (the compiled filter) and where its listener goes, if it has one. */
export interface PreparedSeccomp {
  seccomp?: { bpf: Uint8Array; flags: number; listener: boolean };
  listener?: { path: string; metadata?: string };
}

/**
 * Plan and compile linux.seccomp (`flags`: the seccomp(2) flags this kernel has). The system
 * calls libseccomp does not know are skipped, each with a warning when `warnSkipped`.
 */
export function prepareSeccomp(
  rt: Runtime,
  op: string,
  id: string,
  spec: Spec,
  bundleDir: string,
  flags: readonly string[],
  warnSkipped: boolean,
): PreparedSeccomp {
  if (!spec.linux?.seccomp) return {};
  const { native } = rt;
  if (!native.seccompCompile)
    throw new BerthError({ op, id, field: "linux.seccomp", reason: "seccomp is not available in this build of berth" });
  let req: SeccompRequest;
  try {
    req = planSeccomp(spec.linux.seccomp, native.seccompArchNative(), flags);
  } catch (err) {
    // The planner names the field but not the container.
    if (err instanceof BerthError) throw err.withContext(op, id);
    throw err;
  }
  const compiled = compileSeccomp(rt, id, spec, req, op);
  if (warnSkipped) {
    for (const field of skippedSyscallFields(spec, compiled.skipped)) {
      rt.warn(
        `${op} ${id}: ${renderProblem({ ...field, reason: "libseccomp does not know this system call on this architecture: skipped", severity: "warning" })}`,
      );
    }
  }
  const out: PreparedSeccomp = { seccomp: { bpf: compiled.bpf, flags: req.flags, listener: req.needsListener } };
  if (req.needsListener) {
    // The semantic checks require listenerPath with SCMP_ACT_NOTIFY; a caller that skipped them
    // gets the same message here.
    if (req.listenerPath === undefined)
      throw new BerthError({ op, id, field: "linux.seccomp.listenerPath", reason: "is required when an action is SCMP_ACT_NOTIFY" });
    if (!native.unixSendFd)
      throw new BerthError({
        op,
        id,
        field: "linux.seccomp.listenerPath",
        value: req.listenerPath,
        reason: "sending the seccomp listener is not available in this build of berth",
      });
    out.listener = { path: resolve(bundleDir, req.listenerPath), metadata: req.listenerMetadata };
  }
  return out;
}

/** Where each name libseccomp skipped is in the config: `linux.seccomp.syscalls[i].names[j]`, the first place it appears. */
export function skippedSyscallFields(spec: Spec, skipped: readonly string[]): { field: string; value: string }[] {
  const names = new Set(skipped);
  const out: { field: string; value: string }[] = [];
  (spec.linux?.seccomp?.syscalls ?? []).forEach((s, i) =>
    (s.names ?? []).forEach((name, j) => {
      if (names.delete(name)) out.push({ field: `linux.seccomp.syscalls[${i}].names[${j}]`, value: name });
    }),
  );
  // A name the planner added itself (none today) still gets its line.
  for (const name of names) out.push({ field: "linux.seccomp", value: name });
  return out;
}

/** libseccomp's verdict on the planned filter; its refusals located at the config field. */
export function compileSeccomp(
  rt: Runtime,
  id: string,
  spec: Spec,
  req: SeccompRequest,
  op = "create",
): { bpf: Buffer; skipped: string[] } {
  try {
    return rt.native.seccompCompile!(req);
  } catch (err) {
    const e = err as Error & { origin?: string; syscallName?: string; code?: string; syscall?: string };
    if (e.origin) {
      throw new BerthError({
        op,
        id,
        field: e.origin,
        value: e.syscallName,
        reason: "libseccomp refused the rule",
        syscall: e.syscall,
        errno: e.code ?? "EINVAL",
      });
    }
    const arch = /unknown seccomp architecture "([^"]*)"/.exec(e.message)?.[1];
    const index = arch === undefined ? -1 : (spec.linux?.seccomp?.architectures ?? []).indexOf(arch);
    if (index >= 0)
      throw new BerthError({
        op,
        id,
        field: `linux.seccomp.architectures[${index}]`,
        value: arch,
        reason: "this libseccomp does not know that architecture",
      });
    throw err;
  }
}

/**
 * config-linux.md "Seccomp" listenerPath: send the container process state, with the seccomp
 * listener fd attached, to the agent's socket, on a connection of its own; then our copy of the
 * fd is closed (the agent holds it now). The message is the one runc sends (the seccomp agent
 * protocol): `fds` names the attached fd, `metadata` is listenerMetadata verbatim, `state` is
 * the state of a container that is still being created.
 */
export function deliverSeccompListener(
  rt: Runtime,
  id: string,
  spec: Spec,
  bundleDir: string,
  pid: number,
  listener: { path: string; metadata?: string } | undefined,
  fd: number | undefined,
  op = "create",
): void {
  const field = "linux.seccomp.listenerPath";
  try {
    if (fd === undefined) throw new BerthError({ op, id, field, reason: "berth-init sent no seccomp listener fd", internal: true });
    if (!listener || !rt.native.unixSendFd)
      throw new BerthError({ op, id, field, reason: "berth-init sent a seccomp listener the plan did not ask for", internal: true });
    const state: Record<string, unknown> = {
      ociVersion: spec.ociVersion,
      id,
      status: op === "create" ? "creating" : "running",
      pid,
      bundle: bundleDir,
    };
    if (spec.annotations && Object.keys(spec.annotations).length) state.annotations = spec.annotations;
    const message: Record<string, unknown> = { ociVersion: spec.ociVersion, fds: ["seccompFd"], pid };
    if (listener.metadata !== undefined) message.metadata = listener.metadata;
    message.state = state;
    try {
      rt.native.unixSendFd(listener.path, Buffer.from(JSON.stringify(message)), fd);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new BerthError({
        op,
        id,
        field,
        value: spec.linux?.seccomp?.listenerPath,
        reason: "cannot send the seccomp listener to the agent",
        syscall: e.syscall,
        errno: e.code ?? "EIO",
      });
    }
  } finally {
    if (fd !== undefined) rt.native.closeFd(fd);
  }
}
