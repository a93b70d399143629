/**
 * The runtime for verbs that run hooks or report warnings: warnings go to the log (--log, else
 * stderr), and the ones the user must see to stderr in any case (rt.notice): failed poststart/poststop hooks, which
 * the spec says MUST be logged, as `berth: start c1: hooks.poststart[0] "/bin/x": exit status
 * 3`, and skipped capabilities (container/warnings.ts).
 */
import { defaultRuntime, type Runtime } from "../container";
import type { CliContext } from "./context";

export function hookRuntime(ctx: CliContext): Runtime {
  const rt = defaultRuntime(ctx.global.root, (m) => ctx.logger.warn(m));
  rt.notice = (m) => ctx.logger.notice(m);
  return rt;
}

/** NOTIFY_SOCKET and LISTEN_FDS from berth's own environment, for create and run. */
export function activationOptions(env: NodeJS.ProcessEnv = process.env): { notifySocket?: string; listenFds?: number } {
  const out: { notifySocket?: string; listenFds?: number } = {};
  if (env.NOTIFY_SOCKET) out.notifySocket = env.NOTIFY_SOCKET;
  const n = Number(env.LISTEN_FDS);
  // sd_listen_fds(3): the fds are for the process LISTEN_PID names. runc passes them on only
  // then; berth also when LISTEN_PID is unset (a caller that sets LISTEN_FDS alone means us).
  const pidOk = env.LISTEN_PID === undefined || Number(env.LISTEN_PID) === process.pid;
  if (Number.isInteger(n) && n > 0 && pidOk) out.listenFds = n;
  return out;
}
