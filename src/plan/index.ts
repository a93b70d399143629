/** The plan room: pure decisions from a validated spec and host facts. */
export type { HostFacts, Limit } from "./host-facts";
export { capabilityHostProblems, hostProblems } from "./host-check";
export { knownMountOptions, flagOptions, propagationOptions, recursiveOptions, MS, MOUNT_ATTR } from "./mount-options";
export {
  buildPlan,
  idmappedMountRequests,
  hostOpenedBinds,
  parseMountOptions,
  PlanError,
  PROC_MOUNT_ALLOWED,
  CLONE,
  DEFAULT_PATH,
  NOTIFY_SOCKET_IN_CONTAINER,
  type IdmappedMountRequest,
  type LaunchPlan,
  type PlanInput,
} from "./build";
export { encodePlan, type PlanOp } from "./encode";
export { childFdLayout, type ChildFdLayout, type ChildFdRequest } from "./fd-layout";
export { opTable, SYNC, PLAN_VERSION, type OpName } from "./abi";
export { planSeccomp, SECCOMP_FILTER_FLAG, type SeccompRequest } from "./seccomp";
export { buildExecPlan, execJoins, execNamespaceOrder, nsProcName, type ExecPlan, type ExecPlanInput, type NamespaceFact } from "./exec";
export {
  addressesToCarry,
  addressForName,
  addressText,
  findMovedLink,
  IFA_F,
  IFF,
  netDeviceClashes,
  netDeviceHostProblems,
  planNetDevices,
  RT_SCOPE_UNIVERSE,
  type NetAddress,
  type NetDeviceMove,
  type NetLink,
} from "./net-devices";
