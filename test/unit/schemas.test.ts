/**
 * The JSON Schemas in spec-schemas/ (our own, written from the runtime-spec v1.3.0 text).
 *
 * - They compile under ajv's strict mode with the options the generator uses, with no warning.
 * - Every fixture in test/fixtures/valid validates against the schema its name selects:
 *     process-*.json   -> config.json#/definitions/Process   (exec process.json)
 *     resources-*.json -> config-linux.json#/definitions/Resources (update --resources)
 *     state-*.json     -> state.json
 *     features-*.json  -> features.json
 *     anything else    -> config.json
 * - Broken documents are rejected at the instancePath a user would be pointed to.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import * as fs from "node:fs";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../..");
const schemaDir = path.join(repo, "spec-schemas");
const validDir = path.join(repo, "test/fixtures/valid");
const BASE = "https://berth.dev/schemas/";

const IDS = {
  defs: `${BASE}defs.json`,
  config: `${BASE}config.json`,
  linux: `${BASE}config-linux.json`,
  state: `${BASE}state.json`,
  features: `${BASE}features.json`,
  process: `${BASE}config.json#/definitions/Process`,
  linuxDef: `${BASE}config-linux.json#/definitions/Linux`,
  resources: `${BASE}config-linux.json#/definitions/Resources`,
  processState: `${BASE}state.json#/definitions/ContainerProcessState`,
} as const;

const EXPECTED_FILES: Record<string, string> = {
  "defs.schema.json": IDS.defs,
  "config-linux.schema.json": IDS.linux,
  "config.schema.json": IDS.config,
  "state.schema.json": IDS.state,
  "features.schema.json": IDS.features,
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function readJson(file: string): Json {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Json;
}

function loadSchemas(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const f of fs
    .readdirSync(schemaDir)
    .filter((n) => n.endsWith(".schema.json"))
    .sort()) {
    out[f] = readJson(path.join(schemaDir, f));
  }
  return out;
}

const messages: string[] = [];
const ajv = new Ajv({
  strict: true,
  allErrors: true,
  allowUnionTypes: true,
  logger: {
    log: () => undefined,
    warn: (...args: unknown[]) => void messages.push(args.map(String).join(" ")),
    error: (...args: unknown[]) => void messages.push(args.map(String).join(" ")),
  },
});
const schemas = loadSchemas();
for (const s of Object.values(schemas)) ajv.addSchema(s as object);

function validator(id: string): ValidateFunction {
  const v = ajv.getSchema(id);
  if (!v) throw new Error(`no schema ${id}`);
  return v;
}

/** Walk every schema object in a document (values of keyword positions and definitions). */
function walk(node: Json, visit: (obj: { [k: string]: Json }, at: string) => void, at = ""): void {
  if (Array.isArray(node)) {
    node.forEach((n, i) => walk(n, visit, `${at}/${i}`));
  } else if (node !== null && typeof node === "object") {
    visit(node, at);
    for (const [k, v] of Object.entries(node)) {
      if (k === "enum" || k === "const" || k === "required") continue;
      walk(v, visit, `${at}/${k}`);
    }
  }
}

describe("spec-schemas: files and compilation", () => {
  test("exactly the expected schema files, each with its $id and draft-07", () => {
    expect(Object.keys(schemas).sort()).toEqual(Object.keys(EXPECTED_FILES).sort());
    for (const [file, id] of Object.entries(EXPECTED_FILES)) {
      const s = schemas[file] as { [k: string]: Json };
      expect(s.$id).toBe(id);
      expect(s.$schema).toBe("http://json-schema.org/draft-07/schema#");
    }
  });

  test("every $id and named definition compiles in strict mode without warnings", () => {
    for (const id of Object.values(IDS)) {
      expect(typeof validator(id)).toBe("function");
    }
    // Compile every definition of every file, not only the ones reached from a root.
    for (const [file, id] of Object.entries(EXPECTED_FILES)) {
      const defs = (schemas[file] as { definitions?: Record<string, Json> }).definitions ?? {};
      for (const name of Object.keys(defs)) {
        expect(typeof validator(`${id}#/definitions/${name}`)).toBe("function");
      }
    }
    expect(messages).toEqual([]);
  });

  test("a fresh strict Ajv compiles them too (no state from other tests)", () => {
    const fresh = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
    for (const s of Object.values(loadSchemas())) fresh.addSchema(s as object);
    expect(() => fresh.compile({ $ref: IDS.config })).not.toThrow();
    expect(() => fresh.compile({ $ref: IDS.state })).not.toThrow();
    expect(() => fresh.compile({ $ref: IDS.features })).not.toThrow();
  });

  test("no object is closed (runtimes must ignore unknown properties) and no 'format' keyword", () => {
    for (const [file, s] of Object.entries(schemas)) {
      walk(s, (obj, at) => {
        if (obj.additionalProperties === false) throw new Error(`${file}${at}: additionalProperties:false`);
        // A keyword "format" has a string value; a property *named* format has a schema object.
        if (typeof obj.format === "string") {
          throw new Error(`${file}${at}: format keyword`);
        }
      });
    }
  });
});

function schemaFor(file: string): string {
  if (file.startsWith("process-")) return IDS.process;
  if (file.startsWith("resources-")) return IDS.resources;
  if (file.startsWith("state-")) return IDS.state;
  if (file.startsWith("features-")) return IDS.features;
  return IDS.config;
}

const fixtures = fs
  .readdirSync(validDir)
  .filter((f) => f.endsWith(".json"))
  .sort();

describe("valid fixtures", () => {
  test("there are enough of each kind", () => {
    const kinds = fixtures.map(schemaFor);
    expect(kinds.filter((k) => k === IDS.config).length).toBeGreaterThanOrEqual(8);
    expect(kinds.filter((k) => k === IDS.process).length).toBeGreaterThanOrEqual(2);
    expect(kinds.filter((k) => k === IDS.features).length).toBeGreaterThanOrEqual(1);
    expect(fixtures).toEqual(
      expect.arrayContaining([
        "runc-spec.json",
        "runc-spec-rootless.json",
        "podman-config.json",
        "containerd-config.json",
        "features-runc.json",
      ]),
    );
  });

  test.each(fixtures)("%s validates", (file) => {
    const v = validator(schemaFor(file));
    const ok = v(readJson(path.join(validDir, file)));
    expect(v.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test("process sections of the config fixtures validate against the Process definition alone", () => {
    const v = validator(IDS.process);
    for (const file of fixtures.filter((f) => schemaFor(f) === IDS.config)) {
      const doc = readJson(path.join(validDir, file)) as { process?: Json };
      if (doc.process === undefined) continue;
      expect([file, v(doc.process), v.errors ?? []]).toEqual([file, true, []]);
    }
  });

  test("linux sections validate against config-linux.json as a root and as #/definitions/Linux", () => {
    const asRoot = validator(IDS.linux);
    const asDef = validator(IDS.linuxDef);
    for (const file of fixtures.filter((f) => schemaFor(f) === IDS.config)) {
      const doc = readJson(path.join(validDir, file)) as { linux?: Json };
      if (doc.linux === undefined) continue;
      expect([file, asRoot(doc.linux), asDef(doc.linux)]).toEqual([file, true, true]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Rejections. Each case mutates a small valid document and names where ajv must complain.

type JsonObject = { [k: string]: Json };

/** The container holding the last segment of a JSON pointer, and that segment. */
function parentOf(doc: Json, pointer: string): [JsonObject | Json[], string] {
  const parts = pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  const last = parts.pop();
  if (last === undefined) throw new Error(`empty pointer`);
  let node: Json | undefined = doc;
  for (const p of parts) {
    if (Array.isArray(node)) node = node[Number(p)];
    else if (node !== null && typeof node === "object") node = node[p];
    else node = undefined;
    if (node === undefined) throw new Error(`nothing at ${p} in ${pointer}`);
  }
  if (node === null || typeof node !== "object") throw new Error(`not a container: ${pointer}`);
  return [node, last];
}

function set(doc: Json, pointer: string, value: Json): void {
  const [parent, key] = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent[Number(key)] = value;
  else parent[key] = value;
}

function del(doc: Json, pointer: string): void {
  const [parent, key] = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
}

function push(doc: Json, pointer: string, value: Json): void {
  const [parent, key] = parentOf(doc, pointer);
  const list = Array.isArray(parent) ? parent[Number(key)] : parent[key];
  if (!Array.isArray(list)) throw new Error(`not an array: ${pointer}`);
  list.push(value);
}

const baseConfig = (): Json => ({
  ociVersion: "1.3.0",
  root: { path: "rootfs" },
  process: {
    user: { uid: 0, gid: 0 },
    args: ["/bin/sh"],
    cwd: "/",
    rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1024 }],
  },
  mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
  hooks: { createRuntime: [{ path: "/bin/true" }], poststop: [{ path: "/bin/true" }] },
  linux: {
    namespaces: [{ type: "pid" }, { type: "mount" }],
    uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
    devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229 }],
    timeOffsets: { monotonic: { secs: 1, nanosecs: 0 } },
    resources: {
      devices: [{ allow: false, access: "rwm" }],
      memory: { limit: 1024 },
      cpu: { shares: 1024 },
      blockIO: { weight: 100, weightDevice: [{ major: 8, minor: 0, weight: 10 }] },
      pids: { limit: 10 },
      rdma: { mlx0: { hcaHandles: 1 } },
    },
    seccomp: {
      defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] }],
    },
  },
  annotations: { "com.example.a": "b" },
});

interface RejectCase {
  name: string;
  mutate: (c: Json) => void;
  at: string;
  keyword: string;
  missing?: string;
}

const configRejects: RejectCase[] = [
  { name: "namespace type foo", mutate: (c) => set(c, "/linux/namespaces/0/type", "foo"), at: "/linux/namespaces/0/type", keyword: "enum" },
  {
    name: "namespace without type",
    mutate: (c) => del(c, "/linux/namespaces/1/type"),
    at: "/linux/namespaces/1",
    keyword: "required",
    missing: "type",
  },
  {
    name: "mount without destination",
    mutate: (c) => del(c, "/mounts/0/destination"),
    at: "/mounts/0",
    keyword: "required",
    missing: "destination",
  },
  {
    name: "rlimit soft not an integer",
    mutate: (c) => set(c, "/process/rlimits/0/soft", "1024"),
    at: "/process/rlimits/0/soft",
    keyword: "type",
  },
  { name: "rlimit soft fractional", mutate: (c) => set(c, "/process/rlimits/0/soft", 1.5), at: "/process/rlimits/0/soft", keyword: "type" },
  {
    name: "rlimit without hard",
    mutate: (c) => del(c, "/process/rlimits/0/hard"),
    at: "/process/rlimits/0",
    keyword: "required",
    missing: "hard",
  },
  { name: "uid negative", mutate: (c) => set(c, "/process/user/uid", -1), at: "/process/user/uid", keyword: "minimum" },
  { name: "uid above 2^32-1", mutate: (c) => set(c, "/process/user/uid", 4294967296), at: "/process/user/uid", keyword: "maximum" },
  { name: "POSIX user without gid", mutate: (c) => del(c, "/process/user/gid"), at: "/process/user", keyword: "required", missing: "gid" },
  {
    name: "additionalGids entry negative",
    mutate: (c) => set(c, "/process/user/additionalGids", [1, -2]),
    at: "/process/user/additionalGids/1",
    keyword: "minimum",
  },
  { name: "ociVersion missing", mutate: (c) => del(c, "/ociVersion"), at: "", keyword: "required", missing: "ociVersion" },
  { name: "ociVersion not a string", mutate: (c) => set(c, "/ociVersion", 1.3), at: "/ociVersion", keyword: "type" },
  { name: "root missing on a non-Windows config", mutate: (c) => del(c, "/root"), at: "", keyword: "required", missing: "root" },
  { name: "root.path missing", mutate: (c) => set(c, "/root", { readonly: true }), at: "/root", keyword: "required", missing: "path" },
  { name: "process.cwd missing", mutate: (c) => del(c, "/process/cwd"), at: "/process", keyword: "required", missing: "cwd" },
  { name: "process.args missing", mutate: (c) => del(c, "/process/args"), at: "/process", keyword: "required", missing: "args" },
  { name: "process.args empty", mutate: (c) => set(c, "/process/args", []), at: "/process/args", keyword: "minItems" },
  {
    name: "consoleSize without width",
    mutate: (c) => set(c, "/process/consoleSize", { height: 10 }),
    at: "/process/consoleSize",
    keyword: "required",
    missing: "width",
  },
  { name: "oomScoreAdj a string", mutate: (c) => set(c, "/process/oomScoreAdj", "100"), at: "/process/oomScoreAdj", keyword: "type" },
  {
    name: "scheduler policy unknown",
    mutate: (c) => set(c, "/process/scheduler", { policy: "SCHED_FAST" }),
    at: "/process/scheduler/policy",
    keyword: "enum",
  },
  {
    name: "scheduler without policy",
    mutate: (c) => set(c, "/process/scheduler", { nice: 1 }),
    at: "/process/scheduler",
    keyword: "required",
    missing: "policy",
  },
  {
    name: "scheduler flag unknown",
    mutate: (c) => set(c, "/process/scheduler", { policy: "SCHED_OTHER", flags: ["SCHED_FLAG_X"] }),
    at: "/process/scheduler/flags/0",
    keyword: "enum",
  },
  {
    name: "ioPriority class unknown",
    mutate: (c) => set(c, "/process/ioPriority", { class: "IOPRIO_CLASS_NONE", priority: 0 }),
    at: "/process/ioPriority/class",
    keyword: "enum",
  },
  {
    name: "ioPriority priority 8",
    mutate: (c) => set(c, "/process/ioPriority", { class: "IOPRIO_CLASS_BE", priority: 8 }),
    at: "/process/ioPriority/priority",
    keyword: "maximum",
  },
  {
    name: "execCPUAffinity initial a number",
    mutate: (c) => set(c, "/process/execCPUAffinity", { initial: 7 }),
    at: "/process/execCPUAffinity/initial",
    keyword: "type",
  },
  {
    name: "hook without path",
    mutate: (c) => set(c, "/hooks/poststop/0", { args: ["x"] }),
    at: "/hooks/poststop/0",
    keyword: "required",
    missing: "path",
  },
  {
    name: "hook timeout zero",
    mutate: (c) => set(c, "/hooks/createRuntime/0/timeout", 0),
    at: "/hooks/createRuntime/0/timeout",
    keyword: "minimum",
  },
  {
    name: "hooks.startContainer not an array",
    mutate: (c) => set(c, "/hooks/startContainer", { path: "/x" }),
    at: "/hooks/startContainer",
    keyword: "type",
  },
  {
    name: "annotation value not a string",
    mutate: (c) => set(c, "/annotations/com.example.n", 2),
    at: "/annotations/com.example.n",
    keyword: "type",
  },
  { name: "annotation key empty", mutate: (c) => set(c, "/annotations/", "x"), at: "/annotations", keyword: "propertyNames" },
  { name: "linux not an object", mutate: (c) => set(c, "/linux", []), at: "/linux", keyword: "type" },
  {
    name: "uid mapping without size",
    mutate: (c) => del(c, "/linux/uidMappings/0/size"),
    at: "/linux/uidMappings/0",
    keyword: "required",
    missing: "size",
  },
  {
    name: "uid mapping hostID negative",
    mutate: (c) => set(c, "/linux/uidMappings/0/hostID", -5),
    at: "/linux/uidMappings/0/hostID",
    keyword: "minimum",
  },
  {
    name: "mount uidMappings without gidMappings",
    mutate: (c) => set(c, "/mounts/0/uidMappings", [{ containerID: 0, hostID: 1, size: 1 }]),
    at: "/mounts/0",
    keyword: "dependencies",
  },
  {
    name: "mount idmapping without containerID",
    mutate: (c) => {
      set(c, "/mounts/0/uidMappings", [{ hostID: 1, size: 1 }]);
      set(c, "/mounts/0/gidMappings", [{ containerID: 0, hostID: 1, size: 1 }]);
    },
    at: "/mounts/0/uidMappings/0",
    keyword: "required",
    missing: "containerID",
  },
  {
    name: "timeOffsets nanosecs negative",
    mutate: (c) => set(c, "/linux/timeOffsets/monotonic/nanosecs", -1),
    at: "/linux/timeOffsets/monotonic/nanosecs",
    keyword: "minimum",
  },
  { name: "device type x", mutate: (c) => set(c, "/linux/devices/0/type", "x"), at: "/linux/devices/0/type", keyword: "enum" },
  {
    name: "device without path",
    mutate: (c) => del(c, "/linux/devices/0/path"),
    at: "/linux/devices/0",
    keyword: "required",
    missing: "path",
  },
  {
    name: "char device without major",
    mutate: (c) => del(c, "/linux/devices/0/major"),
    at: "/linux/devices/0",
    keyword: "required",
    missing: "major",
  },
  {
    name: "device fileMode negative",
    mutate: (c) => set(c, "/linux/devices/0/fileMode", -1),
    at: "/linux/devices/0/fileMode",
    keyword: "minimum",
  },
  {
    name: "netDevice name not a string",
    mutate: (c) => set(c, "/linux/netDevices", { eth0: { name: 5 } }),
    at: "/linux/netDevices/eth0/name",
    keyword: "type",
  },
  {
    name: "rootfsPropagation unknown",
    mutate: (c) => set(c, "/linux/rootfsPropagation", "bogus"),
    at: "/linux/rootfsPropagation",
    keyword: "enum",
  },
  {
    name: "cgroup device rule without allow",
    mutate: (c) => del(c, "/linux/resources/devices/0/allow"),
    at: "/linux/resources/devices/0",
    keyword: "required",
    missing: "allow",
  },
  {
    name: "cgroup device rule type u",
    mutate: (c) => set(c, "/linux/resources/devices/0/type", "u"),
    at: "/linux/resources/devices/0/type",
    keyword: "enum",
  },
  {
    name: "cgroup device access q",
    mutate: (c) => set(c, "/linux/resources/devices/0/access", "rq"),
    at: "/linux/resources/devices/0/access",
    keyword: "pattern",
  },
  {
    name: "memory limit a string",
    mutate: (c) => set(c, "/linux/resources/memory/limit", "1G"),
    at: "/linux/resources/memory/limit",
    keyword: "type",
  },
  {
    name: "memory checkBeforeUpdate a string",
    mutate: (c) => set(c, "/linux/resources/memory/checkBeforeUpdate", "yes"),
    at: "/linux/resources/memory/checkBeforeUpdate",
    keyword: "type",
  },
  {
    name: "cpu shares negative",
    mutate: (c) => set(c, "/linux/resources/cpu/shares", -1),
    at: "/linux/resources/cpu/shares",
    keyword: "minimum",
  },
  {
    name: "cpu burst negative",
    mutate: (c) => set(c, "/linux/resources/cpu/burst", -1),
    at: "/linux/resources/cpu/burst",
    keyword: "minimum",
  },
  {
    name: "cpu idle fractional",
    mutate: (c) => set(c, "/linux/resources/cpu/idle", 0.5),
    at: "/linux/resources/cpu/idle",
    keyword: "type",
  },
  {
    name: "blockIO weight above uint16",
    mutate: (c) => set(c, "/linux/resources/blockIO/weight", 70000),
    at: "/linux/resources/blockIO/weight",
    keyword: "maximum",
  },
  {
    name: "weightDevice with neither weight",
    mutate: (c) => set(c, "/linux/resources/blockIO/weightDevice/0", { major: 8, minor: 0 }),
    at: "/linux/resources/blockIO/weightDevice/0",
    keyword: "anyOf",
  },
  {
    name: "throttle device without rate",
    mutate: (c) => set(c, "/linux/resources/blockIO/throttleReadBpsDevice", [{ major: 8, minor: 0 }]),
    at: "/linux/resources/blockIO/throttleReadBpsDevice/0",
    keyword: "required",
    missing: "rate",
  },
  {
    name: "hugepage limit without pageSize",
    mutate: (c) => set(c, "/linux/resources/hugepageLimits", [{ limit: 1 }]),
    at: "/linux/resources/hugepageLimits/0",
    keyword: "required",
    missing: "pageSize",
  },
  {
    name: "hugepage pageSize with a lower-case prefix",
    mutate: (c) => set(c, "/linux/resources/hugepageLimits", [{ pageSize: "64kB", limit: 1 }]),
    at: "/linux/resources/hugepageLimits/0/pageSize",
    keyword: "pattern",
  },
  {
    name: "pids limit fractional",
    mutate: (c) => set(c, "/linux/resources/pids/limit", 1.5),
    at: "/linux/resources/pids/limit",
    keyword: "type",
  },
  {
    name: "rdma entry with neither limit",
    mutate: (c) => set(c, "/linux/resources/rdma/mlx0", {}),
    at: "/linux/resources/rdma/mlx0",
    keyword: "anyOf",
  },
  {
    name: "unified value a number",
    mutate: (c) => set(c, "/linux/resources/unified", { "memory.max": 5 }),
    at: "/linux/resources/unified/memory.max",
    keyword: "type",
  },
  {
    name: "intelRdt schemata not an array",
    mutate: (c) => set(c, "/linux/intelRdt", { schemata: "L3:0=f" }),
    at: "/linux/intelRdt/schemata",
    keyword: "type",
  },
  {
    name: "intelRdt enableMonitoring a string",
    mutate: (c) => set(c, "/linux/intelRdt", { enableMonitoring: "true" }),
    at: "/linux/intelRdt/enableMonitoring",
    keyword: "type",
  },
  {
    name: "memoryPolicy without mode",
    mutate: (c) => set(c, "/linux/memoryPolicy", { nodes: "0" }),
    at: "/linux/memoryPolicy",
    keyword: "required",
    missing: "mode",
  },
  {
    name: "memoryPolicy mode unknown",
    mutate: (c) => set(c, "/linux/memoryPolicy", { mode: "MPOL_RANDOM" }),
    at: "/linux/memoryPolicy/mode",
    keyword: "enum",
  },
  {
    name: "memoryPolicy flag unknown",
    mutate: (c) => set(c, "/linux/memoryPolicy", { mode: "MPOL_BIND", flags: ["MPOL_F_X"] }),
    at: "/linux/memoryPolicy/flags/0",
    keyword: "enum",
  },
  {
    name: "personality domain unknown",
    mutate: (c) => set(c, "/linux/personality", { domain: "BSD" }),
    at: "/linux/personality/domain",
    keyword: "enum",
  },
  {
    name: "seccomp without defaultAction",
    mutate: (c) => del(c, "/linux/seccomp/defaultAction"),
    at: "/linux/seccomp",
    keyword: "required",
    missing: "defaultAction",
  },
  {
    name: "seccomp defaultAction unknown",
    mutate: (c) => set(c, "/linux/seccomp/defaultAction", "SCMP_ACT_PANIC"),
    at: "/linux/seccomp/defaultAction",
    keyword: "enum",
  },
  {
    name: "seccomp architecture unknown",
    mutate: (c) => set(c, "/linux/seccomp/architectures/0", "SCMP_ARCH_VAX"),
    at: "/linux/seccomp/architectures/0",
    keyword: "enum",
  },
  {
    name: "seccomp flag unknown",
    mutate: (c) => set(c, "/linux/seccomp/flags", ["SECCOMP_FILTER_FLAG_FAST"]),
    at: "/linux/seccomp/flags/0",
    keyword: "enum",
  },
  {
    name: "seccomp listenerMetadata without listenerPath",
    mutate: (c) => set(c, "/linux/seccomp/listenerMetadata", "m"),
    at: "/linux/seccomp",
    keyword: "dependencies",
  },
  {
    name: "seccomp syscall names empty",
    mutate: (c) => set(c, "/linux/seccomp/syscalls/0/names", []),
    at: "/linux/seccomp/syscalls/0/names",
    keyword: "minItems",
  },
  {
    name: "seccomp syscall without names",
    mutate: (c) => del(c, "/linux/seccomp/syscalls/0/names"),
    at: "/linux/seccomp/syscalls/0",
    keyword: "required",
    missing: "names",
  },
  {
    name: "seccomp syscall without action",
    mutate: (c) => del(c, "/linux/seccomp/syscalls/0/action"),
    at: "/linux/seccomp/syscalls/0",
    keyword: "required",
    missing: "action",
  },
  {
    name: "seccomp syscall errnoRet negative",
    mutate: (c) => set(c, "/linux/seccomp/syscalls/0/errnoRet", -1),
    at: "/linux/seccomp/syscalls/0/errnoRet",
    keyword: "minimum",
  },
  {
    name: "seccomp arg operator unknown",
    mutate: (c) => set(c, "/linux/seccomp/syscalls/0/args/0/op", "SCMP_CMP_LIKE"),
    at: "/linux/seccomp/syscalls/0/args/0/op",
    keyword: "enum",
  },
  {
    name: "seccomp arg without value",
    mutate: (c) => del(c, "/linux/seccomp/syscalls/0/args/0/value"),
    at: "/linux/seccomp/syscalls/0/args/0",
    keyword: "required",
    missing: "value",
  },
  {
    name: "seccomp arg value negative",
    mutate: (c) => set(c, "/linux/seccomp/syscalls/0/args/0/value", -1),
    at: "/linux/seccomp/syscalls/0/args/0/value",
    keyword: "minimum",
  },
  {
    name: "vm without kernel",
    mutate: (c) => set(c, "/vm", { hypervisor: { path: "/usr/bin/qemu" } }),
    at: "/vm",
    keyword: "required",
    missing: "kernel",
  },
  { name: "windows not an object", mutate: (c) => set(c, "/windows", "yes"), at: "/windows", keyword: "type" },
];

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.keyword} ${JSON.stringify(e.params)}`).join("\n");
}

function expectRejected(id: string, doc: unknown, at: string, keyword: string, missing?: string): void {
  const v = validator(id);
  const ok = v(doc);
  expect(ok).toBe(false);
  const hit = (v.errors ?? []).some(
    (e) =>
      e.instancePath === at &&
      e.keyword === keyword &&
      (missing === undefined || (e.params as { missingProperty?: string }).missingProperty === missing),
  );
  if (!hit) {
    throw new Error(`expected ${keyword}${missing ? `(${missing})` : ""} at "${at}", got:\n${describeErrors(v.errors)}`);
  }
}

describe("config.json rejections", () => {
  test("the base document used by the cases is itself valid", () => {
    const v = validator(IDS.config);
    const ok = v(baseConfig());
    expect(describeErrors(v.errors)).toBe("");
    expect(ok).toBe(true);
  });

  test.each(configRejects.map((c) => [c.name, c] as const))("rejects: %s", (_name, c) => {
    const doc = baseConfig();
    c.mutate(doc);
    expectRejected(IDS.config, doc, c.at, c.keyword, c.missing);
  });

  test("root may be left out on Windows, and a Windows user needs only username", () => {
    const v = validator(IDS.config);
    const doc = { ociVersion: "1.0.0", windows: {}, process: { cwd: "C:\\", commandLine: "cmd", user: { username: "u" } } };
    expect(v(doc)).toBe(true);
  });

  test("FIFO devices need no major/minor; unknown properties are ignored everywhere", () => {
    const doc = baseConfig();
    push(doc, "/linux/devices", { path: "/run/fifo", type: "p" });
    set(doc, "/x_vendor", { anything: [1, 2] });
    set(doc, "/process/x_extra", true);
    set(doc, "/linux/namespaces/0/x_note", "ok");
    set(doc, "/linux/seccomp/x_profile", "custom");
    expect(validator(IDS.config)(doc)).toBe(true);
  });
});

describe("exec process.json (Process definition)", () => {
  const base = (): Json => ({ user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/" });

  test("a small process validates", () => {
    expect(validator(IDS.process)(base())).toBe(true);
  });

  test("rejects a process without cwd", () => {
    const p = base();
    del(p, "/cwd");
    expectRejected(IDS.process, p, "", "required", "cwd");
  });

  test("rejects a gid above 2^32-1", () => {
    const p = base();
    set(p, "/user/gid", 2 ** 32);
    expectRejected(IDS.process, p, "/user/gid", "maximum");
  });
});

describe("update --resources (Resources definition)", () => {
  test("rejects a negative cpu period", () => {
    expectRejected(IDS.resources, { cpu: { period: -1 } }, "/cpu/period", "minimum");
  });
});

describe("state.json", () => {
  const sample = (): Json => ({
    ociVersion: "1.3.0",
    id: "c1",
    status: "created",
    pid: 1234,
    bundle: "/run/bundles/c1",
    annotations: { "com.example.k": "v" },
  });

  test("accepts a sample state", () => {
    const v = validator(IDS.state);
    expect(v(sample())).toBe(true);
  });

  test("rejects a bad status", () => {
    const s = sample();
    set(s, "/status", "exploded");
    expectRejected(IDS.state, s, "/status", "enum");
  });

  test("rejects a created or running state without pid", () => {
    for (const status of ["created", "running"]) {
      const s = sample();
      set(s, "/status", status);
      del(s, "/pid");
      expectRejected(IDS.state, s, "", "required", "pid");
    }
  });

  test("creating and stopped states may omit pid", () => {
    for (const status of ["creating", "stopped"]) {
      const s = sample();
      set(s, "/status", status);
      del(s, "/pid");
      expect(validator(IDS.state)(s)).toBe(true);
    }
  });

  test("rejects missing id and bundle, and a negative pid", () => {
    const s = sample();
    del(s, "/id");
    del(s, "/bundle");
    set(s, "/pid", -1);
    expectRejected(IDS.state, s, "", "required", "id");
    expectRejected(IDS.state, s, "", "required", "bundle");
    expectRejected(IDS.state, s, "/pid", "minimum");
  });

  test("the container process state for a seccomp agent", () => {
    const v = validator(IDS.processState);
    const msg: Json = { ociVersion: "1.3.0", fds: ["seccompFd"], pid: 42, metadata: "m", state: sample() };
    expect(v(msg)).toBe(true);
    set(msg, "/state/status", "zombie");
    expectRejected(IDS.processState, msg, "/state/status", "enum");
  });
});

describe("features.json", () => {
  test("accepts runc's 'runc features' output", () => {
    const v = validator(IDS.features);
    expect(v(readJson(path.join(validDir, "features-runc.json")))).toBe(true);
  });

  test("rejects a document without ociVersionMax", () => {
    expectRejected(IDS.features, { ociVersionMin: "1.0.0" }, "", "required", "ociVersionMax");
  });

  test("rejects a non-boolean, non-null flag", () => {
    const doc = { ociVersionMin: "1.0.0", ociVersionMax: "1.3.0", linux: { cgroup: { v2: "yes" } } };
    expectRejected(IDS.features, doc, "/linux/cgroup/v2", "type");
  });

  test("rejects a hooks list that is neither an array nor null", () => {
    expectRejected(IDS.features, { ociVersionMin: "1.0.0", ociVersionMax: "1.3.0", hooks: "prestart" }, "/hooks", "type");
  });
});
