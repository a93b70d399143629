/**
 * create's "check host" step: what this host cannot do is refused before anything is made,
 * located at the field that asks for it; and the terminal options checked against the config.
 */
import { BerthError, problemsError } from "../errors";
import { hostProblems, type HostFacts } from "../plan";
import type { CgroupLayout } from "../cgroups";
import { checkTerminalOptions } from "./console";
import type { CreateContext } from "./create-context";
import { hasNetDevices, runtimeNetLinks } from "./net-devices";
import { reportWarnings } from "./warnings";

export interface CheckedHost {
  facts: HostFacts & { cgroupLayout: CgroupLayout };
  /** Where the pty master goes (--console-socket), when there is a terminal to send. */
  consoleSocket?: string;
}

export function checkHost(ctx: Pick<CreateContext, "rt" | "opts" | "id" | "spec">): CheckedHost {
  const { rt, opts, id, spec } = ctx;
  const facts = rt.hostFacts();
  // config-linux.md "Network Devices": the runtime MUST check that each move is possible; the
  // interfaces that are missing here are reported now, before anything is made.
  if (hasNetDevices(spec)) facts.netLinks = runtimeNetLinks(rt.native, "create", id);
  const found = hostProblems(spec, facts);
  const errors = found.filter((p) => p.severity === "error");
  if (errors.length) throw problemsError("create", id, errors);
  // Only the capabilities this kernel lacks: the other host warnings are check's (seccomp
  // names libseccomp skips are reported as compiled; a mount label is not applied).
  reportWarnings(
    rt,
    "create",
    id,
    found.filter((p) => p.field?.startsWith("process.capabilities.")),
  );

  const consoleSocket = checkTerminalOptions("create", id, {
    terminal: spec.process?.terminal === true,
    detach: !opts.foreground && !opts.keepTerminal,
    consoleSocket: opts.consoleSocket,
  });
  if (consoleSocket !== undefined && !rt.native.unixSendFd)
    throw new BerthError({
      op: "create",
      id,
      field: "--console-socket",
      value: opts.consoleSocket,
      reason: "sending the terminal is not available in this build of berth",
    });
  return { facts, consoleSocket };
}
