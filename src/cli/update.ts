/**
 * berth update [flags | --resources FILE|-] ID: runc's flags, or a LinuxResources JSON document
 * (podman sends one on stdin). Memory sizes take runc's units (1024-based k, m, g, t, p, with or
 * without a trailing b). Everything is parsed and checked before anything is written.
 */
import {
  checkResourcesRequest,
  defaultRuntime,
  MAX_CONFIG_BYTES,
  readBoundedFile,
  readResourcesStdin,
  update,
  type Runtime,
} from "../container";
import { BerthError, problemsError } from "../errors";
import { parseJson, type Resources } from "../spec";
import type { CliContext } from "./context";

const units: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** "512m" -> 536870912, as docker's units.RAMInBytes; "-1" stays -1. */
export function parseBytes(id: string, flag: string, text: string): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!m)
    throw new BerthError({
      op: "update",
      id,
      field: `--${flag}`,
      value: text,
      reason: "must be a size such as 512m or 1g (or -1 for no limit)",
    });
  const n = Math.floor(Number(m[1]) * units[m[2]!.toLowerCase()]!);
  return n;
}

function parseInt10(id: string, flag: string, text: string): number {
  if (!/^-?\d+$/.test(text.trim()))
    throw new BerthError({ op: "update", id, field: `--${flag}`, value: text, reason: "must be an integer" });
  return Number(text);
}

export function resourcesFromFlags(id: string, argv: Record<string, unknown>): Resources {
  const res: Resources = {};
  const str = (k: string) => (argv[k] === undefined ? undefined : String(argv[k]));
  const memory: NonNullable<Resources["memory"]> = {};
  for (const [flag, key] of [
    ["memory", "limit"],
    ["memory-reservation", "reservation"],
    ["memory-swap", "swap"],
    ["kernel-memory", "kernel"],
    ["kernel-memory-tcp", "kernelTCP"],
  ] as const) {
    const v = str(flag);
    if (v !== undefined) memory[key] = parseBytes(id, flag, v);
  }
  if (Object.keys(memory).length) res.memory = memory;
  const cpu: NonNullable<Resources["cpu"]> = {};
  for (const [flag, key] of [
    ["cpu-share", "shares"],
    ["cpu-quota", "quota"],
    ["cpu-period", "period"],
    ["cpu-burst", "burst"],
    ["cpu-rt-period", "realtimePeriod"],
    ["cpu-rt-runtime", "realtimeRuntime"],
    ["cpu-idle", "idle"],
  ] as const) {
    const v = str(flag);
    if (v !== undefined) cpu[key] = parseInt10(id, flag, v);
  }
  if (str("cpuset-cpus") !== undefined) cpu.cpus = str("cpuset-cpus");
  if (str("cpuset-mems") !== undefined) cpu.mems = str("cpuset-mems");
  if (Object.keys(cpu).length) res.cpu = cpu;
  if (argv["pids-limit"] !== undefined) res.pids = { limit: parseInt10(id, "pids-limit", String(argv["pids-limit"])) };
  if (argv["blkio-weight"] !== undefined) res.blockIO = { weight: parseInt10(id, "blkio-weight", String(argv["blkio-weight"])) };
  for (const flag of ["l3-cache-schema", "mem-bw-schema"]) {
    if (argv[flag] !== undefined)
      throw new BerthError({ op: "update", id, field: `--${flag}`, reason: "Intel RDT is not supported by this build of berth" });
  }
  return res;
}

/**
 * The --resources document, bounded as config.json is (readBoundedFile): `--resources /dev/zero`
 * grew berth until it died of std::bad_alloc. "-" is stdin, read to its end, as bounded.
 */
function readResources(rt: Runtime, id: string, file: string): string {
  const fail = (reason: string, errno?: string) => new BerthError({ op: "update", id, field: "--resources", value: file, reason, errno });
  if (file !== "-") return readBoundedFile(file, fail);
  // stdin may be non-blocking (an engine's pipe): read it waiting for data, not failing on EAGAIN.
  try {
    return readResourcesStdin(rt.native, MAX_CONFIG_BYTES);
  } catch (err) {
    if (err instanceof RangeError) throw fail(`is more than berth reads (${MAX_CONFIG_BYTES} bytes)`);
    throw fail("read", (err as NodeJS.ErrnoException).code ?? "EIO");
  }
}

export default async function updateVerb(ctx: CliContext): Promise<number> {
  const id = ctx.argv["container-id"] as string;
  const rt = defaultRuntime(ctx.global.root, (m) => ctx.logger.warn(m));
  let patch: Resources;
  const file = ctx.argv.resources as string | undefined;
  if (file !== undefined) {
    // parseJson: located errors, and nesting bounded as config.json's is.
    const parsed = parseJson(readResources(rt, id, file), "--resources");
    if (!parsed.ok) throw problemsError("update", id, [parsed.problem]);
    patch = checkResourcesRequest(id, parsed.value, "--resources", file);
  } else {
    patch = resourcesFromFlags(id, ctx.argv);
  }
  await update(rt, id, patch);
  return 0;
}
