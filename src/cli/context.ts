/** What every verb receives from main: the global flags, a logger, and an output sink. */
import type { Logger } from "./log";

export interface GlobalOptions {
  root: string;
  debug: boolean;
  log?: string;
  logFormat: "text" | "json";
  systemdCgroup: boolean;
  rootless: string;
  criu?: string;
  /** --image-root: the image store (default /var/lib/berth). */
  imageRoot?: string;
}

export interface CliContext {
  global: GlobalOptions;
  logger: Logger;
  /** Verb arguments as parsed by yargs (flags camel-cased and as given). */
  argv: Record<string, unknown> & { _: (string | number)[] };
  stdout: (text: string) => void;
  /** The raw arguments after the verb (to tell a verb's flag from a global of the same name). */
  verbArgs: string[];
}

export type Verb = (ctx: CliContext) => Promise<number | void> | number | void;
