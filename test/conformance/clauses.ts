/**
 * The clause registry of berth's own conformance suite: every MUST / MUST NOT of the
 * runtime-spec v1.3.0 files runtime.md, runtime-linux.md, config.md and config-linux.md that
 * we hold a runtime to, summarised in our own words. A clause is `tested` (one or more tests in
 * test/conformance/*.test.ts carry its id at the start of their title) or `not-applicable`
 * (with why). Clauses that bind only the author of a config (its shape) and that the schema
 * enforces are folded into `config.md#valid-values/error`.
 * `npm run conformance` reports coverage from this list (scripts/conformance-report.mjs).
 */
export type Level = "MUST" | "MUST NOT";
export interface Clause {
  id: string;
  file: "runtime.md" | "runtime-linux.md" | "config.md" | "config-linux.md";
  section: string;
  level: Level;
  summary: string;
  status: "tested" | "not-applicable";
  why?: string;
  /** tested, and berth is known to fail it on purpose or by a bug not yet fixed: why. */
  deviation?: string;
  /**
   * tested only on a host that has this: elsewhere its tests are skipped and the report says
   * "not on this host". "cgroup-v2": a pure cgroup v2 host, such as the UML guest that
   * test/vm/run-guest.test.ts boots to run this suite. (One test of a clause can need
   * something too: clause.on in harness.ts.)
   */
  needs?: "cgroup-v2" | "time-namespace";
}

const t = (id: string, level: Level, summary: string): Clause => {
  const [file, rest] = id.split("#") as [Clause["file"], string];
  return { id, file, section: rest.split("/")[0]!, level, summary, status: "tested" };
};
/** A clause that can be held only on a pure cgroup v2 host (Clause.needs). */
const tv2 = (id: string, level: Level, summary: string): Clause => ({ ...t(id, level, summary), needs: "cgroup-v2" });
const na = (id: string, level: Level, summary: string, why: string): Clause => ({
  ...t(id, level, summary),
  status: "not-applicable",
  why,
});

export const clauses: Clause[] = [
  // runtime.md
  t("runtime.md#scope/same-container", "MUST", "operations work on a container the same caller created"),
  t("runtime.md#state/id-unique", "MUST", "the id in the state is unique on the host"),
  t("runtime.md#state/status", "MUST", "status is one of the spec's values as the container moves through its lifecycle"),
  t("runtime.md#state/schema", "MUST", "state JSON matches the state schema"),
  t("runtime.md#lifecycle/create-env", "MUST", "create builds the environment from config.json"),
  t("runtime.md#lifecycle/create-env-error", "MUST", "an environment that cannot be built is an error"),
  t("runtime.md#lifecycle/create-no-program", "MUST NOT", "the user program does not run during create"),
  t("runtime.md#lifecycle/config-frozen", "MUST NOT", "edits to config.json after create have no effect"),
  t(
    "runtime.md#lifecycle/hook-failure",
    "MUST",
    "a failing prestart, createRuntime, createContainer or startContainer hook is an error; the container is stopped and destroyed",
  ),
  t("runtime.md#lifecycle/poststart-failure", "MUST", "a failing poststart hook is an error; the container is stopped and destroyed"),
  t("runtime.md#lifecycle/run-program", "MUST", "start runs the user program"),
  t("runtime.md#lifecycle/destroy", "MUST", "destroying undoes what create did"),
  t("runtime.md#lifecycle/poststop-failure", "MUST", "a failing poststop hook is only a warning; the other hooks and the delete go on"),
  t("runtime.md#errors/no-side-effects", "MUST", "an operation that errors leaves the environment as it was"),
  t("runtime.md#warnings/continue", "MUST", "a warning does not change the flow of the operation"),
  t("runtime.md#query-state/no-id", "MUST", "state without an id errors"),
  t("runtime.md#query-state/unknown", "MUST", "state of an unknown id errors"),
  t("runtime.md#query-state/returns-state", "MUST", "state prints the State object"),
  t("runtime.md#create/missing-args", "MUST", "create without a bundle or id errors"),
  t("runtime.md#create/existing-id", "MUST", "create on an existing or invalid id errors and makes no container"),
  t("runtime.md#create/new-container", "MUST", "create makes a new container"),
  t("runtime.md#create/apply-properties", "MUST", "every property but process is applied at create (observed by the process once started)"),
  t("runtime.md#create/args-not-applied", "MUST NOT", "process.args is not applied before start"),
  t("runtime.md#create/cannot-apply", "MUST", "a property that cannot be applied errors and makes no container"),
  t("runtime.md#start/no-id", "MUST", "start without an id errors"),
  t("runtime.md#start/not-created", "MUST", "start of a container that is not created errors and changes nothing"),
  t("runtime.md#start/runs-process", "MUST", "start runs the program as process describes it (args, cwd, env, user)"),
  t("runtime.md#start/no-process", "MUST", "start errors when process is not set"),
  t("runtime.md#kill/no-id", "MUST", "kill without an id errors"),
  t("runtime.md#kill/not-running", "MUST", "kill of a container neither created nor running errors and changes nothing"),
  t("runtime.md#kill/sends-signal", "MUST", "kill delivers the signal to the container process"),
  t("runtime.md#delete/no-id", "MUST", "delete without an id errors"),
  {
    ...t("runtime.md#delete/not-stopped", "MUST", "delete of a container that is not stopped errors and changes nothing"),
    deviation:
      "berth deletes a created (never started) container without --force, killing its berth-init, as runc and crun do and containerd's shim relies on; a running or paused one still needs --force",
  },
  t("runtime.md#delete/resources", "MUST", "delete removes what create made"),
  t("runtime.md#delete/not-owned", "MUST NOT", "delete leaves resources the container did not create"),

  // runtime-linux.md
  t("runtime-linux.md#dev-symbolic-links/create", "MUST", "/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr link to /proc/self/fd entries"),

  // config.md
  na("config.md#root/hyperv", "MUST NOT", "root is not set for Hyper-V containers", "Windows only"),
  na("config.md#root/windows-path", "MUST", "on Windows root.path is a volume GUID path", "Windows only"),
  t("config.md#root/path-exists", "MUST", "root.path names an existing directory (a missing one is an error)"),
  t("config.md#root/readonly", "MUST", "root.readonly true makes the root filesystem read-only inside"),
  na("config.md#root/windows-readonly", "MUST", "on Windows root.readonly is omitted or false", "Windows only"),
  t("config.md#mounts/order", "MUST", "mounts are mounted in the listed order"),
  t("config.md#mounts/relative-destination", "MUST", "a relative Linux destination is taken relative to /"),
  na("config.md#mounts/windows", "MUST", "Windows destinations are absolute, not nested, and honour ro", "Windows only"),
  na("config.md#mounts/solaris", "MUST", "Solaris destinations are absolute", "Solaris only"),
  t("config.md#posix-mounts/mappings-pair", "MUST", "a mount's uidMappings come with gidMappings and the reverse (one alone is an error)"),
  t("config.md#linux-mount-options/must", "MUST", "the MUST mount option strings are implemented"),
  t("config.md#process/console-size-ignored", "MUST", "consoleSize is ignored when terminal is false"),
  t("config.md#process/cwd-absolute", "MUST", "cwd is absolute (a relative one is an error)"),
  t("config.md#posix-process/rlimits-unknown", "MUST", "an rlimit type with no kernel counterpart is an error"),
  t("config.md#posix-process/rlimits-values", "MUST", "getrlimit of each configured type succeeds and matches soft and hard"),
  t("config.md#posix-process/rlimits-duplicate", "MUST", "duplicate rlimit types are an error"),
  t("config.md#linux-process/capabilities-warning", "MUST", "a capability that cannot be mapped or granted is logged as a warning"),
  t("config.md#linux-process/oom-score-adj-set", "MUST", "oomScoreAdj, when set, is written to oom_score_adj"),
  t("config.md#linux-process/oom-score-adj-unset", "MUST NOT", "oom_score_adj is untouched when oomScoreAdj is not set"),
  na("config.md#platform/windows", "MUST", "the windows object is set for the windows platform", "Windows only"),
  t("config.md#hooks/path-absolute", "MUST", "a hook path is absolute (a relative one is an error)"),
  t("config.md#hooks/timeout-positive", "MUST", "a hook timeout is greater than zero (zero is an error)"),
  t("config.md#hooks/prestart-ns", "MUST", "prestart hooks resolve and run in the runtime namespace"),
  t("config.md#hooks/create-runtime-ns", "MUST", "createRuntime hooks resolve and run in the runtime namespace"),
  t(
    "config.md#hooks/create-container-ns",
    "MUST",
    "createContainer hooks resolve in the runtime namespace and run in the container namespace",
  ),
  t("config.md#hooks/start-container-ns", "MUST", "startContainer hooks resolve and run in the container namespace"),
  t("config.md#hooks/poststart-ns", "MUST", "poststart hooks resolve and run in the runtime namespace"),
  t("config.md#hooks/poststop-ns", "MUST", "poststop hooks resolve and run in the runtime namespace"),
  t("config.md#hooks/order", "MUST", "hooks of one kind run in the listed order"),
  t("config.md#hooks/state-stdin", "MUST", "each hook gets the container state on stdin"),
  t("config.md#prestart/timing", "MUST", "prestart runs during create, before pivot_root, and before createRuntime"),
  t("config.md#create-runtime-hooks/timing", "MUST", "createRuntime runs during create, after the environment is built, before pivot_root"),
  t("config.md#create-container-hooks/timing", "MUST", "createContainer runs during create, after createRuntime"),
  t("config.md#start-container-hooks/timing", "MUST", "startContainer runs during start, before the user program"),
  t("config.md#poststart/timing", "MUST", "poststart runs after the user program started and before start returns"),
  t("config.md#poststop/timing", "MUST", "poststop runs after the container is deleted and before delete returns"),
  t("config.md#annotations/unknown-keys", "MUST", "unknown annotation keys are handled like unknown properties (accepted, kept)"),
  t("config.md#extensibility/ignore-unknown", "MUST", "unknown properties are ignored"),
  t("config.md#valid-values/error", "MUST", "invalid or unsupported values are an error"),

  // config-linux.md
  t("config-linux.md#namespaces/path-absolute", "MUST", "a namespace path is absolute (a relative one is an error)"),
  t("config-linux.md#namespaces/path-join", "MUST", "a namespace with a path is joined"),
  t("config-linux.md#namespaces/path-wrong-type", "MUST", "a path that is not a namespace of that type is an error"),
  t("config-linux.md#namespaces/new", "MUST", "a namespace without a path is created new"),
  t("config-linux.md#namespaces/inherit", "MUST", "a type not listed is inherited from the runtime"),
  t("config-linux.md#namespaces/duplicate", "MUST", "duplicate namespace types are an error"),
  t("config-linux.md#devices/available", "MUST", "listed devices are available in the container"),
  t("config-linux.md#devices/mismatch", "MUST", "an existing file at a device path that does not match is an error"),
  t("config-linux.md#default-devices/supply", "MUST", "null, zero, full, random, urandom, tty and ptmx are supplied"),
  na(
    "config-linux.md#default-devices/console",
    "MUST",
    "/dev/console is the bound pty when terminal is true",
    "needs a console socket peer; test/integration/terminal.test.ts holds it",
  ),
  t(
    "config-linux.md#network-devices/move",
    "MUST",
    "each netDevices entry is made available in the container: moved into its network namespace, under name (or the host name)",
  ),
  t(
    "config-linux.md#network-devices/check",
    "MUST",
    "a move that is not possible (no such interface in the runtime namespace) is an error",
  ),
  t(
    "config-linux.md#network-devices/name-exists",
    "MUST",
    "a name that already exists in the container's namespace is an error, unless it is a %d template, which the kernel fills in",
  ),
  t(
    "config-linux.md#network-devices/addresses",
    "MUST",
    "the permanent (IFA_F_PERMANENT) global (RT_SCOPE_UNIVERSE) addresses of every family are preserved",
  ),
  t("config-linux.md#network-devices/up", "MUST", "the device is set up in the container's namespace"),
  t("config-linux.md#network-devices/no-move-back", "MUST NOT", "the device is not moved out of the namespace before deletion"),
  na(
    "config-linux.md#control-groups/fit-check",
    "MUST",
    "a fitness check of the cgroup that fails is an error",
    "the check itself is optional (MAY) and berth makes none",
  ),
  t("config-linux.md#cgroups-path/absolute", "MUST", "an absolute cgroupsPath is taken under the cgroup mount point"),
  t("config-linux.md#cgroups-path/consistent", "MUST", "the same cgroupsPath attaches to the same place"),
  na(
    "config-linux.md#cgroups-path/invalid",
    "MUST",
    "a cgroupsPath the runtime deems invalid is an error",
    "berth deems no well-formed path invalid",
  ),
  tv2(
    "config-linux.md#cgroup-ownership/no-fail",
    "MUST",
    "delegating the cgroup to the container's user does not fail on a listed file the cgroup lacks; fallback file list",
  ),
  t("config-linux.md#allowed-device-list/order", "MUST", "device cgroup rules are applied in the listed order"),
  t("config-linux.md#memory/check-before-update", "MUST", "with checkBeforeUpdate a new memory limit below the usage is rejected"),
  tv2("config-linux.md#unified/controllers", "MUST", "unified keys are written, controllers enabled, missing controllers are errors"),
  na(
    "config-linux.md#intel-rdt/resctrl",
    "MUST",
    "intelRdt writes the pid and schemata under resctrl",
    "no resctrl filesystem on this host",
  ),
  na("config-linux.md#intel-rdt/untouched", "MUST NOT", "without intelRdt resctrl is not touched", "no resctrl filesystem on this host"),
  t("config-linux.md#seccomp/errno-unsupported", "MUST", "errnoRet with an action that takes no errno is an error"),
  t(
    "config-linux.md#seccomp/listener",
    "MUST",
    "one process state per connection over AF_UNIX SOCK_STREAM to listenerPath, fds by SCM_RIGHTS",
  ),
];

export const byId = new Map(clauses.map((c) => [c.id, c]));
