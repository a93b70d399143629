/**
 * linux.seccomp -> a flat request for the addon's filter compiler (native/addon/seccomp-compile.cc).
 *
 * The split (docs/architecture.md, "Process model"): TypeScript decides every number here --
 * actions with their errno, comparison operators, seccomp(2) flags, which rules exist at all --
 * and the addon only feeds them to libseccomp in the parent and exports BPF; berth-init loads
 * that BPF with the flags and knows nothing about seccomp's names.
 *
 * Pure: no fs, no native. The only host facts are the native architecture's name and, optionally,
 * the filter flags the kernel accepts (for the SPEC_ALLOW default, below).
 *
 * Semantics follow runtime-spec config-linux.md "Seccomp" and, where the spec is silent, what
 * runc (libcontainer/seccomp, specconv) and crun (src/libcrun/seccomp.c) both do:
 *
 *   - `errnoRet` / `defaultErrnoRet` default to EPERM for SCMP_ACT_ERRNO and SCMP_ACT_TRACE. Given
 *     for any other action it is an error: the spec says the runtime "MUST print and error and fail"
 *     (crun does; runc silently ignores it).
 *   - Several `args` on one rule are ANDed (libseccomp: "all of the comparisons must be true").
 *     libseccomp can compare each argument only once per rule, so when two conditions name the
 *     same `index` runc and crun both fall back to one rule per condition -- which ORs them. We do
 *     the same, so a profile behaves as it does under runc; the split rules keep the origin.
 *   - A rule whose action equals the default action is dropped: it changes nothing, and libseccomp
 *     refuses it (seccomp_rule_add returns -EACCES). runc and crun skip it silently too.
 *   - `flags` absent (not an empty list) means SECCOMP_FILTER_FLAG_SPEC_ALLOW when the kernel has
 *     it, as runc >= 1.2 and crun do: containers are not slowed by the Speculative Store Bypass
 *     mitigation unless the config asks for it (an explicit `flags: []`).
 *   - A default action that refuses (errno, kill, trap) gets runc's -ENOSYS stub: on each
 *     architecture `architectures` lists, a syscall numbered above the highest one any rule
 *     names (whatever its action) returns ENOSYS, so that libc falls back from calls newer than
 *     the profile (clone3 -> clone, faccessat2 -> faccessat) instead of failing on EPERM. runc
 *     1.1.5 does exactly this (libcontainer/seccomp/patchbpf, checked on this host: no stub when
 *     no architecture is listed, nor for ALLOW, LOG or TRACE defaults); crun 1.8.1 has no stub.
 *     The addon builds it, since only libseccomp knows the numbers per architecture.
 *   - Any SCMP_ACT_NOTIFY rule needs SECCOMP_FILTER_FLAG_NEW_LISTENER, so the load returns the
 *     listener fd that is sent to `listenerPath`. Without one, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
 *     (meaningful only for notifications, refused by the kernel without a listener) is dropped.
 */
import { BerthError } from "../errors";
import type { Seccomp, SeccompArg } from "../spec";

/** SECCOMP_RET_* action values, as the kernel (and libseccomp's SCMP_ACT_*) define them. */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

/** SECCOMP_RET_DATA: the 16 bits of an action that carry the errno (ERRNO) or message (TRACE). */
export const SECCOMP_RET_DATA = 0xffff;

/** seccomp(2) SECCOMP_FILTER_FLAG_* bits. */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

/** libseccomp's enum scmp_compare. */
export const SCMP_CMP = {
  NE: 1,
  LT: 2,
  LE: 3,
  EQ: 4,
  GE: 5,
  GT: 6,
  MASKED_EQ: 7,
} as const;

const EPERM = 1;
const ENOSYS = 38;
/** Linux passes at most six arguments to a system call. */
const MAX_SYSCALL_ARGS = 6;
const UINT64_MAX = (1n << 64n) - 1n;

/** One comparison on a syscall argument; for MASKED_EQ `value` is the mask, `valueTwo` the datum. */
export interface SeccompArgRequest {
  index: number;
  op: number;
  value: bigint;
  valueTwo: bigint;
}

/** One libseccomp rule: one syscall name, one action, zero to six ANDed comparisons. */
export interface SeccompRuleRequest {
  syscall: string;
  action: number;
  args: SeccompArgRequest[];
  /** The config entry it comes from, "linux.seccomp.syscalls[3]", for error messages. */
  origin: string;
}

export interface SeccompRequest {
  /** SECCOMP_RET_* of the default action, errno included (ERRNO(38) = 0x00050026). */
  defaultAction: number;
  /** The errno in `defaultAction` when it is ERRNO or TRACE, for messages; undefined otherwise. */
  defaultErrnoRet?: number;
  /** OCI names ("SCMP_ARCH_X86_64"); the native one first, always present. */
  architectures: string[];
  /** SECCOMP_FILTER_FLAG_* for seccomp(2) at load time (the BPF itself carries no flags). */
  flags: number;
  rules: SeccompRuleRequest[];
  /** Some rule is SCMP_ACT_NOTIFY: the load yields a listener fd for `listenerPath`. */
  needsListener: boolean;
  listenerPath?: string;
  listenerMetadata?: string;
  /** The -ENOSYS stub: the architectures it covers and every syscall name the profile lists. */
  enosys?: { architectures: string[]; syscalls: string[] };
}

const actionValues: Record<string, number> = {
  SCMP_ACT_KILL: SECCOMP_RET.KILL_THREAD,
  SCMP_ACT_KILL_THREAD: SECCOMP_RET.KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: SECCOMP_RET.KILL_PROCESS,
  SCMP_ACT_TRAP: SECCOMP_RET.TRAP,
  SCMP_ACT_ERRNO: SECCOMP_RET.ERRNO,
  SCMP_ACT_TRACE: SECCOMP_RET.TRACE,
  SCMP_ACT_LOG: SECCOMP_RET.LOG,
  SCMP_ACT_ALLOW: SECCOMP_RET.ALLOW,
  SCMP_ACT_NOTIFY: SECCOMP_RET.USER_NOTIF,
};

/** Actions whose 16 data bits the config may set with errnoRet. */
const actionsWithErrno = new Set(["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"]);

const flagValues: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
};

const operatorValues: Record<string, number> = {
  SCMP_CMP_NE: SCMP_CMP.NE,
  SCMP_CMP_LT: SCMP_CMP.LT,
  SCMP_CMP_LE: SCMP_CMP.LE,
  SCMP_CMP_EQ: SCMP_CMP.EQ,
  SCMP_CMP_GE: SCMP_CMP.GE,
  SCMP_CMP_GT: SCMP_CMP.GT,
  SCMP_CMP_MASKED_EQ: SCMP_CMP.MASKED_EQ,
};

/**
 * Errors are thrown as BerthError with op "create" and the config field; callers planning for
 * another verb (exec) relabel with `withContext`. The schema and semantic checks have already
 * run, so these are the cases only a planner notices (or a caller that skipped validation).
 */
function fail(field: string, value: unknown, reason: string): never {
  throw new BerthError({ op: "create", field, value, reason });
}

/** The action's SECCOMP_RET_* value, with its errno when it takes one. */
function actionValue(name: string, errnoRet: number | undefined, actionField: string, errnoField: string): number {
  const base = actionValues[name];
  if (base === undefined) fail(actionField, name, "unknown seccomp action");
  if (!actionsWithErrno.has(name)) {
    if (errnoRet !== undefined) fail(errnoField, errnoRet, `is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${name}`);
    return base;
  }
  const data = errnoRet ?? EPERM;
  // libseccomp's SCMP_ACT_ERRNO(x) masks x to 16 bits: 65537 would silently become EPERM.
  // (The kernel further caps ERRNO's data at MAX_ERRNO, 4095.)
  if (!Number.isInteger(data) || data < 0 || data > SECCOMP_RET_DATA) {
    fail(errnoField, errnoRet, `must be an integer from 0 to ${SECCOMP_RET_DATA} (seccomp's return data is 16 bits)`);
  }
  return (base | data) >>> 0;
}

/** A uint64 config value as a bigint, refusing numbers JSON.parse has already rounded. */
function uint64(value: unknown, field: string): bigint {
  if (typeof value === "bigint") {
    if (value < 0n || value > UINT64_MAX) fail(field, value, "must be a uint64");
    return value;
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) fail(field, value, "must be a uint64");
  // Above 2^53 a JSON number has lost its low bits: comparing against the rounded value would
  // silently build a different filter than the one written, so refuse it.
  if (!Number.isSafeInteger(value)) fail(field, value, "is too large to be represented exactly (above 2^53 - 1)");
  return BigInt(value);
}

function argRequest(arg: SeccompArg, field: string): SeccompArgRequest {
  const index = arg.index;
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SYSCALL_ARGS) {
    fail(`${field}.index`, index, `must be a system call argument index from 0 to ${MAX_SYSCALL_ARGS - 1}`);
  }
  const op = operatorValues[arg.op];
  if (op === undefined) fail(`${field}.op`, arg.op, "unknown seccomp operator");
  return {
    index,
    op,
    value: uint64(arg.value, `${field}.value`),
    // libseccomp reads datum_b only for MASKED_EQ; 0 is what runc and crun pass when it is absent.
    valueTwo: arg.valueTwo === undefined ? 0n : uint64(arg.valueTwo, `${field}.valueTwo`),
  };
}

/**
 * The rule's conditions as libseccomp rules: one rule with all of them when every index is
 * distinct (ANDed), otherwise one rule per condition (ORed) -- runc's and crun's fallback,
 * since libseccomp compares an argument at most once per rule.
 */
function conditionSets(args: SeccompArgRequest[]): SeccompArgRequest[][] {
  if (args.length === 0) return [[]];
  const indexes = new Set(args.map((a) => a.index));
  if (indexes.size === args.length) return [args];
  return args.map((a) => [a]);
}

/**
 * Plan the filter for `seccomp` (a validated linux.seccomp). `nativeArch` is the OCI name of
 * the host's architecture (native.seccompArchNative()); `kernelFlags` the spec flag names the
 * kernel accepts (HostFacts.seccomp.flags), used only for the SPEC_ALLOW default.
 */
export function planSeccomp(seccomp: Seccomp, nativeArch: string, kernelFlags?: readonly string[]): SeccompRequest {
  const defaultAction = actionValue(
    seccomp.defaultAction,
    seccomp.defaultErrnoRet,
    "linux.seccomp.defaultAction",
    "linux.seccomp.defaultErrnoRet",
  );
  if (defaultAction === SECCOMP_RET.USER_NOTIF) {
    // The supervisor would have to answer every system call, berth-init's own included.
    fail("linux.seccomp.defaultAction", seccomp.defaultAction, "SCMP_ACT_NOTIFY cannot be the default action");
  }

  // libseccomp's filter always contains the native architecture (seccomp_init adds it), as
  // under runc and crun: the list adds architectures, it does not replace the native one. Saying
  // so here keeps the request honest about what the BPF checks.
  const architectures = [nativeArch];
  for (const arch of seccomp.architectures ?? []) {
    if (!architectures.includes(arch)) architectures.push(arch);
  }

  let flags = 0;
  if (seccomp.flags === undefined) {
    if (kernelFlags?.includes("SECCOMP_FILTER_FLAG_SPEC_ALLOW")) flags |= SECCOMP_FILTER_FLAG.SPEC_ALLOW;
  } else {
    seccomp.flags.forEach((name, i) => {
      const bit = flagValues[name];
      if (bit === undefined) fail(`linux.seccomp.flags[${i}]`, name, "unknown seccomp flag");
      flags |= bit;
    });
  }

  const rules: SeccompRuleRequest[] = [];
  let needsListener = false;
  (seccomp.syscalls ?? []).forEach((entry, i) => {
    const origin = `linux.seccomp.syscalls[${i}]`;
    const action = actionValue(entry.action, entry.errnoRet, `${origin}.action`, `${origin}.errnoRet`);
    const args = (entry.args ?? []).map((arg, k) => argRequest(arg, `${origin}.args[${k}]`));
    if (action === defaultAction) return;
    if (action === SECCOMP_RET.USER_NOTIF) needsListener = true;
    const sets = conditionSets(args);
    for (const syscall of entry.names) {
      for (const set of sets) rules.push({ syscall, action, args: set, origin });
    }
  });

  if (needsListener) {
    flags |= SECCOMP_FILTER_FLAG.NEW_LISTENER;
    // The kernel refuses TSYNC together with NEW_LISTENER (EINVAL) unless TSYNC_ESRCH is also
    // set. berth-init is single-threaded when it loads the filter, so TSYNC has no thread to
    // synchronise; dropping it is exact and needs no newer kernel.
    flags &= ~SECCOMP_FILTER_FLAG.TSYNC;
  } else {
    // WAIT_KILLABLE_RECV says how a notifying task waits for the agent; the kernel refuses it
    // without NEW_LISTENER (EINVAL). Without a NOTIFY rule there is nothing to wait for, so it
    // is dropped, which is what runc does (libseccomp sets it only when a notify rule exists).
    flags &= ~SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
  }

  const request: SeccompRequest = { defaultAction, architectures, flags, rules, needsListener };
  // The stub changes nothing when the default already answers ENOSYS (runc 1.1.5 means to skip
  // it then too, though its test compares the errno with the whole action and never matches).
  const permissive = ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"].includes(seccomp.defaultAction);
  const enosysAlready = defaultAction === (SECCOMP_RET.ERRNO | ENOSYS) >>> 0;
  const listed = [...new Set(seccomp.architectures ?? [])];
  if (!permissive && !enosysAlready && listed.length > 0) {
    request.enosys = { architectures: listed, syscalls: [...new Set((seccomp.syscalls ?? []).flatMap((entry) => entry.names))] };
  }
  if (actionsWithErrno.has(seccomp.defaultAction)) request.defaultErrnoRet = defaultAction & SECCOMP_RET_DATA;
  if (needsListener && seccomp.listenerPath !== undefined) request.listenerPath = seccomp.listenerPath;
  if (needsListener && seccomp.listenerMetadata !== undefined) request.listenerMetadata = seccomp.listenerMetadata;
  return request;
}
