/**
 * Property: whatever a config.json holds, validation ends in a valid spec or a list of located
 * problems that render as BerthError lines -- never in a crash. Mutations start from real
 * configs (runc's default, podman's, containerd's) and replace, delete or retype values at
 * random paths, so they reach deep into the structure.
 */
import fc from "fast-check";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec, validateConfig } from "../../src/spec";
import { BerthError, problemsError } from "../../src/errors";

const fixtureDir = join(__dirname, "../fixtures/valid");
const seeds: unknown[] = [
  defaultSpec(),
  defaultSpec({ rootless: true, uid: 1000, gid: 1000 }),
  ...readdirSync(fixtureDir)
    .filter((f) => /^(podman|containerd|runc-spec|seccomp|hooks|linux-1)/.test(f))
    .map((f) => JSON.parse(readFileSync(join(fixtureDir, f), "utf8")) as unknown),
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path (array of keys) into a JSON value. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function mutate(doc: unknown, path: (string | number)[], action: "set" | "delete", value: Json): unknown {
  const copy = structuredClone(doc) as Json;
  if (path.length === 0) return action === "set" ? value : undefined;
  let node = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (action === "delete") {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    node[last] = value;
  }
  return copy;
}

function assertOutcome(doc: unknown): void {
  const result = validateConfig(doc);
  for (const p of result.problems) {
    expect(typeof p.reason).toBe("string");
    expect(p.reason.length).toBeGreaterThan(0);
    expect(["error", "warning"]).toContain(p.severity);
  }
  if (!result.value) {
    const err = problemsError("create", "c1", result.problems);
    expect(err).toBeInstanceOf(BerthError);
    for (const line of err.lines()) expect(line).toMatch(/^berth: create c1: \S/);
  }
}

const jsonValue = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;

test("random mutations of valid configs end in success or BerthErrors, never a crash", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom<"set" | "delete">("set", "delete"), jsonValue), { minLength: 1, maxLength: 4 }),
      (seed, steps) => {
        let doc = seed;
        for (const [pick, action, value] of steps) {
          const all = paths(doc);
          doc = mutate(doc, all[pick % all.length]!, action, value);
        }
        assertOutcome(doc);
      },
    ),
    { numRuns: 1500 },
  );
});

test("arbitrary JSON documents end in success or BerthErrors", () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 5 }), (doc) => assertOutcome(doc)),
    { numRuns: 500 },
  );
});
