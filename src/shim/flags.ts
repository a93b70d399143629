/**
 * The shim's command line and socket names: what both the small entry (entry.ts) and the server
 * bundle (main.ts) need, so kept free of heavy imports.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

export interface ShimFlags {
  namespace: string;
  address: string;
  publishBinary: string;
  id: string;
  bundle: string;
  socket: string;
  debug: boolean;
  version: boolean;
  action: string;
}

const valueFlags: Record<string, keyof ShimFlags> = {
  namespace: "namespace",
  address: "address",
  "publish-binary": "publishBinary",
  id: "id",
  bundle: "bundle",
  socket: "socket",
};
const boolFlags: Record<string, keyof ShimFlags> = { debug: "debug", v: "version", version: "version" };

/** Go flag package parsing: flags until the first argument that is not one, then the action. */
export function parseFlags(argv: readonly string[]): ShimFlags {
  const f: ShimFlags = {
    namespace: "",
    address: "",
    publishBinary: "",
    id: "",
    bundle: "",
    socket: "",
    debug: false,
    version: false,
    action: "",
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) break;
    const [, name, inline] = m;
    if (boolFlags[name!]) {
      (f as unknown as Record<string, boolean>)[boolFlags[name!]!] = inline === undefined ? true : inline === "true" || inline === "1";
    } else if (valueFlags[name!]) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`flag needs an argument: -${name}`);
      (f as unknown as Record<string, string>)[valueFlags[name!]!] = value;
    } else {
      throw new Error(`flag provided but not defined: -${name}`);
    }
  }
  f.action = argv[i] ?? "";
  return f;
}

/** The socket of the shim that serves `group` (a pod's sandbox id, or the container's id). */
export function socketPath(address: string, namespace: string, group: string): string {
  const hash = createHash("sha256").update(`${address}\u0000${namespace}\u0000${group}`).digest("hex");
  return join("/run/containerd/s", hash);
}

/** berth's state root for containerd's namespace `ns` (as the runc shim uses /run/containerd/runc/<ns>). */
export function stateRoot(ns: string): string {
  return join("/run/containerd/berth", ns);
}
