/**
 * The native surface: the only module that loads berth_native.node, and the one that knows
 * where berth-init is. Everything here is a flat, typed function (as node-pty's native.d.ts):
 * decisions are made in TypeScript before the call, the addon only executes.
 *
 * The addon is loaded on first use, not on import, so CLI verbs that never touch it (`--help`,
 * `state`, `list`) do not pay for dlopen and libseccomp.
 *
 * Finding the files. This module runs from two places:
 *   - bundled by esbuild into bin/berth or dist/index.js: __dirname is <repo>/bin or <repo>/dist
 *   - from sources under jest: __dirname is <repo>/src/native
 * so it tries $BERTH_NATIVE_DIR, then <dir>/../build/Release, then <dir>/../../build/Release,
 * and takes the first directory that holds the file asked for.
 *
 * Loading. `process.dlopen` is what `require` does for a .node file, minus the module cache:
 * esbuild leaves it alone (a `require` of a computed path would draw a bundling warning, and a
 * literal one would make it try to bundle a binary), and jest's module registry, which wraps
 * `require`, is not involved.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** The version of the libseccomp loaded at run time (seccomp_version()). */
export interface SeccompVersion {
  major: number;
  minor: number;
  micro: number;
}

/** Whether the kernel implements each syscall (false: ENOSYS, from the kernel or a filter). */
export interface SyscallAvailability {
  clone3: boolean;
  openat2: boolean;
  mountSetattr: boolean;
  openTree: boolean;
  moveMount: boolean;
  pidfdOpen: boolean;
  pidfdSendSignal: boolean;
  memfdCreate: boolean;
  closeRange: boolean;
}

/** Seccomp return actions the kernel accepts (SECCOMP_GET_ACTION_AVAIL). */
export interface SeccompActionAvailability {
  kill_process: boolean;
  kill_thread: boolean;
  trap: boolean;
  errno: boolean;
  user_notif: boolean;
  trace: boolean;
  log: boolean;
  allow: boolean;
}

/** SECCOMP_FILTER_FLAG_* the kernel accepts (probed with a NULL filter: nothing installed). */
export interface SeccompFlagAvailability {
  tsync: boolean;
  log: boolean;
  spec_allow: boolean;
  new_listener: boolean;
  tsync_esrch: boolean;
  wait_killable_recv: boolean;
}

/** Namespace types this kernel has, by their /proc/self/ns file names. */
export interface NamespaceAvailability {
  pid: boolean;
  net: boolean;
  mnt: boolean;
  ipc: boolean;
  uts: boolean;
  user: boolean;
  cgroup: boolean;
  time: boolean;
}

/** Host facts the addon gathers by syscalls (native/addon/probe.cc). */
export interface HostProbe {
  /** uname(2) release, e.g. "6.1.0-18-amd64". */
  kernelRelease: string;
  syscalls: SyscallAvailability;
  seccomp: {
    /** prctl(PR_GET_SECCOMP) works: the kernel has seccomp at all. */
    mode: boolean;
    actions: SeccompActionAvailability;
    flags: SeccompFlagAvailability;
  };
  namespaces: NamespaceAvailability;
}

/**
 * A syscall failure thrown by the addon, shaped like Node's own errors. `errno` is the kernel's
 * positive value (compare with `os.constants.errno`), unlike Node's negative libuv numbers.
 */
export interface NativeErrnoError extends Error {
  /** The errno name, e.g. "ENOENT". */
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

export function isNativeErrnoError(err: unknown): err is NativeErrnoError {
  return (
    err instanceof Error &&
    typeof (err as Partial<NativeErrnoError>).code === "string" &&
    typeof (err as Partial<NativeErrnoError>).errno === "number" &&
    typeof (err as Partial<NativeErrnoError>).syscall === "string"
  );
}

/** What berth_native.node exports: native/addon/addon.cc registers exactly these. */
interface NativeAddon {
  version(): string;
  seccompVersion(): SeccompVersion;
  seccompSyscallNumber(name: string, arch?: string): number;
  seccompArchNative(): string;
  probe(): HostProbe;
}

/**
 * The native surface as the rest of berth sees it. `container/` receives one of these as an
 * argument, so a test can pass a fake (see `nativeSurface` for the real one).
 */
export interface NativeSurface extends NativeAddon {
  berthInitPath(): string;
}

const ADDON_FILE = "berth_native.node";
const INIT_FILE = "berth-init";

/** The directories searched, in order (see the header comment). */
export function nativeSearchDirs(): string[] {
  const dirs: string[] = [];
  const fromEnv = process.env.BERTH_NATIVE_DIR;
  if (fromEnv) dirs.push(resolve(fromEnv));
  dirs.push(resolve(__dirname, "..", "build", "Release"), resolve(__dirname, "..", "..", "build", "Release"));
  return dirs;
}

function findNativeFile(file: string): string {
  const dirs = nativeSearchDirs();
  for (const dir of dirs) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) return candidate;
  }
  const err = new Error(
    `${file} not found in ${dirs.join(", ")}: build the native part (npm run build:native) or set BERTH_NATIVE_DIR`,
  ) as Error & { code: string };
  err.code = "ERR_BERTH_NATIVE_NOT_FOUND";
  throw err;
}

let addon: NativeAddon | undefined;

function load(): NativeAddon {
  if (addon === undefined) {
    const mod = { exports: {} as NativeAddon };
    process.dlopen(mod, findNativeFile(ADDON_FILE));
    addon = mod.exports;
  }
  return addon;
}

/** The addon's version (package.json's, compiled in); equals berth's when the build is current. */
export function version(): string {
  return load().version();
}

export function seccompVersion(): SeccompVersion {
  return load().seccompVersion();
}

/**
 * The syscall's number for `arch` (OCI name "SCMP_ARCH_AARCH64" or libseccomp's "aarch64";
 * default: the native one). -1 for a name libseccomp does not know; other negative numbers are
 * libseccomp pseudo-syscalls (e.g. socketcall-multiplexed calls on SCMP_ARCH_X86), valid in a
 * filter. Throws a TypeError (code ERR_INVALID_ARG_VALUE) for an unknown arch.
 */
export function seccompSyscallNumber(name: string, arch?: string): number {
  return load().seccompSyscallNumber(name, arch);
}

/** The native architecture in OCI spelling, e.g. "SCMP_ARCH_X86_64". */
export function seccompArchNative(): string {
  return load().seccompArchNative();
}

/** Host facts gathered by syscalls; side-effect free (see native/addon/probe.cc). */
export function probe(): HostProbe {
  return load().probe();
}

/** The path of the berth-init binary (searched like the addon; does not load the addon). */
export function berthInitPath(): string {
  return findNativeFile(INIT_FILE);
}

/** The real native surface, for code that takes a NativeSurface argument. */
export const nativeSurface: NativeSurface = {
  version,
  seccompVersion,
  seccompSyscallNumber,
  seccompArchNative,
  probe,
  berthInitPath,
};
