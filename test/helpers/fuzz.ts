/**
 * The fuzzers' tools (test/reliability/fuzz-*.test.ts): a seeded PRNG and a structure-aware
 * mutator of config.json. Everything is deterministic from a seed, so a failing case is
 * reproduced by its seed alone (the tests print it).
 *
 * The mutator edits a parsed config as a tree, then writes it with a serializer of its own:
 * one that can emit what JSON.stringify cannot (raw text such as 10,000 nested arrays or
 * 1e999, duplicated keys) and then edit the bytes (invalid UTF-8, truncation).
 */

/** sfc32 (a small chaotic counter generator): fast, 128 bits of state, seeded through splitmix32. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("pick from an empty list");
    return xs[this.int(xs.length)]!;
  }
}

/** JSON text put into the output as is. */
export class Raw {
  constructor(readonly text: string) {}
}

/** An object written with its entries as listed: the same key may come twice. */
export class Entries {
  constructor(readonly entries: [string, unknown][]) {}
}

/** JSON text of a tree that may hold Raw and Entries; iterative, so any depth of Raw is fine. */
export function serialize(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Entries) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`).join(",")}}`;
  if (Array.isArray(value)) return `[${value.map((v) => serialize(v)).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`)
      .join(",")}}`;
  if (typeof value === "number" && !Number.isFinite(value)) return "null";
  return JSON.stringify(value) ?? "null";
}

type Key = string | number;
type Tree = Record<string, unknown> | unknown[];

/** Every location in a tree (the root excepted), parents before children. */
function locations(root: unknown): Key[][] {
  const out: Key[][] = [];
  const stack: [unknown, Key[]][] = [[root, []]];
  while (stack.length) {
    const [node, path] = stack.pop()!;
    if (path.length) out.push(path);
    if (Array.isArray(node)) node.forEach((v, i) => stack.push([v, [...path, i]]));
    else if (node !== null && typeof node === "object" && !(node instanceof Raw) && !(node instanceof Entries)) {
      for (const [k, v] of Object.entries(node)) stack.push([v, [...path, k]]);
    }
  }
  return out;
}

function get(root: unknown, path: Key[]): unknown {
  let node = root;
  for (const k of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<Key, unknown>)[k];
  }
  return node;
}

function isTree(x: unknown): x is Tree {
  return x !== null && typeof x === "object" && !(x instanceof Raw) && !(x instanceof Entries);
}

function set(root: unknown, path: Key[], value: unknown): void {
  const parent = get(root, path.slice(0, -1));
  if (isTree(parent)) (parent as Record<Key, unknown>)[path[path.length - 1]!] = value;
}

function remove(root: unknown, path: Key[]): void {
  const parent = get(root, path.slice(0, -1));
  const k = path[path.length - 1]!;
  if (Array.isArray(parent) && typeof k === "number") parent.splice(k, 1);
  else if (isTree(parent)) delete (parent as Record<Key, unknown>)[k];
}

/** `mounts[3].destination`, for the log of what a case did. */
export function fieldOf(path: Key[]): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/**
 * The path fields of a config, as patterns ("*": any array index). The traversal mutation
 * aims at these, making the field where its parent exists.
 */
export const PATH_FIELDS = [
  "root.path",
  "mounts.*.destination",
  "mounts.*.source",
  "process.cwd",
  "process.args.0",
  ...["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"].map((h) => `hooks.${h}.*.path`),
  "linux.namespaces.*.path",
  "linux.seccomp.listenerPath",
  "linux.devices.*.path",
  "linux.maskedPaths.*",
  "linux.readonlyPaths.*",
  "linux.cgroupsPath",
] as const;

/** Hostile path values: traversal, absolute, NUL, empty, very long. */
export const HOSTILE_PATHS = [
  "../../../../../../../../etc/passwd",
  "..",
  ".",
  "",
  "/",
  "/..",
  "/../../..",
  "a/../../../b",
  "./../x",
  "rootfs/../../..",
  "/etc/shadow",
  "/proc/self/root",
  "/proc/self/fd/0",
  "/dev/null",
  "/tmp/\u0000x",
  "\u0000",
  "x\u0000/../..",
  "//double//slash//",
  "/with\nnewline",
  "relative/path",
  "~",
  "/" + "a".repeat(5000),
  "/" + Array.from({ length: 400 }, () => "d").join("/"),
  "/" + "../".repeat(300) + "etc",
];

const ODD_NUMBERS: (number | Raw)[] = [
  0,
  -0,
  -1,
  1,
  1.5,
  -1.5,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 32 - 1,
  2 ** 53 + 2,
  2 ** 63,
  2 ** 64,
  -(2 ** 64),
  Number.MIN_VALUE,
  new Raw("1e999"),
  new Raw("-1e999"),
  new Raw("123456789012345678901234567890"),
  new Raw("18446744073709551616"),
  new Raw("-0.0"),
  new Raw("0e0"),
  new Raw("1E+2"),
];

const ODD_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\n",
  "\t\r\u001b[31m",
  "\ud800",
  "\udfff\ud800",
  "\u{1f600}",
  "\u202e",
  "%s%n%x",
  "${HOME}",
  "$(reboot)",
  "__proto__",
  "constructor",
  "KEY",
  "=",
  "true",
  "0",
  "-1",
  "SCMP_ACT_BOGUS",
  "CAP_WIZARD",
  "RLIMIT_BOGUS",
  "bogus",
];

const ENUM_FIELDS = [
  "linux.namespaces.*.type",
  "mounts.*.type",
  "linux.seccomp.defaultAction",
  "linux.seccomp.syscalls.*.action",
  "process.rlimits.*.type",
  "process.capabilities.bounding.*",
  "linux.rootfsPropagation",
  "linux.devices.*.type",
  "ociVersion",
];

const REQUIRED_FIELDS = [
  "ociVersion",
  "root",
  "root.path",
  "process",
  "process.args",
  "process.cwd",
  "process.user",
  "process.user.uid",
  "mounts.*.destination",
  "linux.namespaces.*.type",
  "linux.seccomp.defaultAction",
  "process.rlimits.*.type",
  "process.rlimits.*.soft",
  "linux.devices.*.type",
  "linux.devices.*.path",
  "hooks.prestart.*.path",
];

/** The concrete paths a pattern matches in a tree; with `create`, also where it could be made. */
function expand(root: unknown, pattern: string, create: boolean): Key[][] {
  let paths: Key[][] = [[]];
  const parts = pattern.split(".");
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    const next: Key[][] = [];
    for (const p of paths) {
      const node = get(root, p);
      if (part === "*") {
        if (Array.isArray(node)) node.forEach((_, j) => next.push([...p, j]));
      } else if (/^\d+$/.test(part)) {
        if (Array.isArray(node) && (Number(part) < node.length || (create && last))) next.push([...p, Number(part)]);
      } else if (isTree(node) && !Array.isArray(node) && (part in node || (create && last))) next.push([...p, part]);
    }
    paths = next;
  });
  return paths;
}

function longString(rng: Rng): string {
  const n = rng.pick([256, 4096, 4096, 65536, 65536, 1 << 20]);
  const unit = rng.pick(["a", "é", "\u{1f600}", "../", "\u0000", "x=y,"]);
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}

function deep(rng: Rng): Raw {
  const n = rng.pick([64, 1000, 5000, 10_000, 100_000]);
  if (rng.chance(0.5)) return new Raw("[".repeat(n) + "]".repeat(n));
  return new Raw('{"a":'.repeat(n) + "1" + "}".repeat(n));
}

function otherValue(rng: Rng, current: unknown): unknown {
  const candidates: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    "",
    "x",
    [],
    {},
    [1, "a", null],
    { a: 1 },
    rng.pick(ODD_NUMBERS),
    rng.pick(ODD_STRINGS),
  ];
  const kind = (x: unknown) => (Array.isArray(x) ? "array" : x === null ? "null" : typeof x);
  const others = candidates.filter((c) => kind(c) !== kind(current));
  return rng.pick(others.length ? others : candidates);
}

export interface Mutant {
  /** The bytes of config.json. */
  bytes: Buffer;
  /** What was done, one entry per mutation ("retype mounts[2].options -> null"). */
  log: string[];
  /** The mutated tree, before any byte-level edit (undefined: not representable). */
  tree: unknown;
}

export interface MutateOptions {
  /** How many mutations, at most (at least one is made). */
  maxMutations?: number;
  /** Applied to the tree after mutating (a test pins what must not vary, e.g. the cgroup). */
  pin?: (tree: unknown) => void;
  /** Make no byte-level edits (invalid UTF-8, truncation). */
  textOnly?: boolean;
}

type Op = (rng: Rng, root: Tree, log: string[]) => void;

const ops: [string, number, Op][] = [
  [
    "retype",
    6,
    (rng, root, log) => {
      const all = locations(root);
      if (!all.length) return;
      const path = rng.pick(all);
      const v = otherValue(rng, get(root, path));
      set(root, path, v);
      log.push(`retype ${fieldOf(path)} -> ${serialize(v).slice(0, 40)}`);
    },
  ],
  [
    "number",
    5,
    (rng, root, log) => {
      const all = locations(root);
      if (!all.length) return;
      const nums = all.filter((p) => typeof get(root, p) === "number");
      const path = rng.pick(nums.length && rng.chance(0.8) ? nums : all);
      const v = rng.pick(ODD_NUMBERS);
      set(root, path, v);
      log.push(`number ${fieldOf(path)} -> ${serialize(v)}`);
    },
  ],
  [
    "string",
    4,
    (rng, root, log) => {
      const all = locations(root);
      if (!all.length) return;
      const strs = all.filter((p) => typeof get(root, p) === "string");
      const path = rng.pick(strs.length && rng.chance(0.8) ? strs : all);
      const v = rng.chance(0.3) ? longString(rng) : rng.pick(ODD_STRINGS);
      set(root, path, v);
      log.push(`string ${fieldOf(path)} -> ${JSON.stringify(v.slice(0, 20))} (${v.length})`);
    },
  ],
  [
    "path",
    8,
    (rng, root, log) => {
      const targets = PATH_FIELDS.flatMap((f) => expand(root, f, true));
      if (!targets.length) return;
      const path = rng.pick(targets);
      const v = rng.pick(HOSTILE_PATHS);
      set(root, path, v);
      log.push(`path ${fieldOf(path)} -> ${JSON.stringify(v.slice(0, 40))}`);
    },
  ],
  [
    "enum",
    3,
    (rng, root, log) => {
      const targets = ENUM_FIELDS.flatMap((f) => expand(root, f, false));
      if (!targets.length) return;
      const path = rng.pick(targets);
      const v = rng.pick(ODD_STRINGS);
      set(root, path, v);
      log.push(`enum ${fieldOf(path)} -> ${JSON.stringify(v)}`);
    },
  ],
  [
    "remove",
    4,
    (rng, root, log) => {
      const required = REQUIRED_FIELDS.flatMap((f) => expand(root, f, false));
      const all = locations(root);
      if (!all.length) return;
      const path = rng.pick(required.length && rng.chance(0.6) ? required : all);
      remove(root, path);
      log.push(`remove ${fieldOf(path)}`);
    },
  ],
  [
    "deep",
    2,
    (rng, root, log) => {
      const all = locations(root);
      const path = rng.chance(0.3) || !all.length ? ["extension"] : rng.pick(all);
      const v = deep(rng);
      set(root, path, v);
      log.push(`deep ${fieldOf(path)} -> ${v.text.slice(0, 6)}... (${v.text.length} bytes)`);
    },
  ],
  [
    "grow",
    2,
    (rng, root, log) => {
      const arrays = locations(root).filter((p) => Array.isArray(get(root, p)) && (get(root, p) as unknown[]).length > 0);
      if (!arrays.length) return;
      const path = rng.pick(arrays);
      const arr = get(root, path) as unknown[];
      const n = rng.pick([100, 1000, 1000, 20_000]);
      const item = arr[rng.int(arr.length)];
      const text = serialize(item);
      set(root, path, new Raw(`[${Array.from({ length: n }, () => text).join(",")}]`));
      log.push(`grow ${fieldOf(path)} x${n}`);
    },
  ],
  [
    "duplicate-key",
    3,
    (rng, root, log) => {
      const objs = locations(root).filter((p) => {
        const n = get(root, p);
        return isTree(n) && !Array.isArray(n) && Object.keys(n).length > 0;
      });
      const path: Key[] = objs.length && rng.chance(0.8) ? rng.pick(objs) : [];
      const obj = (path.length ? get(root, path) : root) as Record<string, unknown>;
      const entries = Object.entries(obj);
      if (!entries.length) return;
      const [k, v] = rng.pick(entries);
      const dup: [string, unknown] = [k, rng.chance(0.5) ? otherValue(rng, v) : v];
      entries.splice(rng.chance(0.5) ? entries.length : 0, 0, dup);
      const e = new Entries(entries);
      if (path.length) set(root, path, e);
      else {
        for (const key of Object.keys(root)) delete (root as Record<string, unknown>)[key];
        (root as Record<string, unknown>)[""] = e; // unwrapped by mutate()
      }
      log.push(`duplicate-key ${fieldOf([...path, k])}`);
    },
  ],
  [
    "odd-key",
    2,
    (rng, root, log) => {
      const objs = locations(root).filter((p) => {
        const n = get(root, p);
        return isTree(n) && !Array.isArray(n);
      });
      const path = objs.length ? rng.pick(objs) : [];
      const obj = (path.length ? get(root, path) : root) as Record<string, unknown>;
      const key = rng.pick([
        "__proto__",
        "constructor",
        "prototype",
        "",
        "\u0000",
        "a.b",
        "[0]",
        "toString",
        "hasOwnProperty",
        "x".repeat(10_000),
      ]);
      const entries = Object.entries(obj);
      entries.push([key, rng.pick<unknown>([{ polluted: true }, "x", 1, null, []])]);
      const e = new Entries(entries);
      if (path.length) set(root, path, e);
      else {
        for (const k of Object.keys(root)) delete (root as Record<string, unknown>)[k];
        (root as Record<string, unknown>)[""] = e;
      }
      log.push(`odd-key ${fieldOf(path) || "(top)"}[${JSON.stringify(key.slice(0, 20))}]`);
    },
  ],
];

const totalWeight = ops.reduce((s, [, w]) => s + w, 0);

function pickOp(rng: Rng): [string, number, Op] {
  let r = rng.int(totalWeight);
  for (const op of ops) {
    if ((r -= op[1]) < 0) return op;
  }
  return ops[0]!;
}

/** Byte-level edits: invalid UTF-8 (in a string or anywhere), truncation, a stray byte. */
function editBytes(rng: Rng, bytes: Buffer, log: string[]): Buffer {
  const kind = rng.int(4);
  if (kind === 0) {
    const seq = rng.pick([[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]);
    // Inside a string value, mostly: right after a '"' that opens one.
    let at = rng.int(bytes.length);
    if (rng.chance(0.8)) {
      const quotes: number[] = [];
      for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x22) quotes.push(i + 1);
      if (quotes.length) at = rng.pick(quotes);
    }
    log.push(`invalid-utf8 ${Buffer.from(seq).toString("hex")} at byte ${at}`);
    return Buffer.concat([bytes.subarray(0, at), Buffer.from(seq), bytes.subarray(at)]);
  }
  if (kind === 1) {
    const at = rng.int(bytes.length);
    log.push(`truncate at byte ${at}`);
    return bytes.subarray(0, at);
  }
  if (kind === 2) {
    const at = rng.int(bytes.length);
    const b = rng.pick([0x00, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x22, 0x5c, 0x0a]);
    log.push(`insert byte ${b.toString(16)} at ${at}`);
    return Buffer.concat([bytes.subarray(0, at), Buffer.from([b]), bytes.subarray(at)]);
  }
  const prefix = rng.pick([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from([0xff, 0xfe]),
    Buffer.from("// comment\n"),
    Buffer.from("   \n\t"),
  ]);
  log.push(`prefix ${prefix.toString("hex")}`);
  return Buffer.concat([prefix, bytes]);
}

/** A mutant of `base` (a parsed config), deterministic from the seed. */
export function mutate(base: unknown, seed: number, opts: MutateOptions = {}): Mutant {
  const rng = new Rng(seed);
  const root = structuredClone(base) as Tree;
  const log: string[] = [];
  const n = 1 + rng.int(opts.maxMutations ?? 3);
  for (let i = 0; i < n; i++) {
    const [, , op] = pickOp(rng);
    op(rng, root, log);
  }
  let tree: unknown = root;
  const wrapped = (root as Record<string, unknown>)[""];
  if (Object.keys(root).length === 1 && (wrapped instanceof Entries || wrapped instanceof Raw)) tree = wrapped;
  opts.pin?.(tree);
  let bytes: Buffer = Buffer.from(serialize(tree), "utf8");
  if (!opts.textOnly && rng.chance(0.12)) bytes = editBytes(rng, bytes, log);
  return { bytes, log, tree };
}
