// Lint rules that hold berth's architecture (the rooms of src/ and the direction of imports):
//   cli -> container -> {spec, plan, cgroups, state, hooks, image, native};  plan -> spec;
//   every room may import errors, fault and netlink-types (the netlink records native and plan
//   share, types only); nothing imports cli; only cli imports yargs;
//   spec and plan are pure (no fs, no child_process, no native);
//   rooms import each other only through their index.ts (no deep imports);
//   shim (containerd-shim-berth-v1) is a client of the library: it imports ../index and
//   errors, never a room directly;
//   only container/default-runtime.ts loads the addon: the rest of container/ and the library
//   (src/index.ts) may import native's types only, and get its calls from the Runtime they are
//   given, so that test/unit runs without a native build.
import tseslint from "typescript-eslint";

const rooms = ["cli", "container", "spec", "plan", "cgroups", "state", "hooks", "image", "native", "shim"];
const allowed = {
  cli: ["container", "spec", "errors"],
  container: ["spec", "plan", "cgroups", "state", "hooks", "image", "native", "errors"],
  spec: ["errors"],
  plan: ["spec", "errors"],
  cgroups: ["spec", "errors"],
  state: ["spec", "errors"],
  hooks: ["spec", "state", "errors"],
  image: ["spec", "state", "errors"],
  native: ["errors"],
  shim: ["errors"],
};
const impure = [
  "fs",
  "node:fs",
  "fs/promises",
  "node:fs/promises",
  "child_process",
  "node:child_process",
  "net",
  "node:net",
  "os",
  "node:os",
];

function roomRules(room) {
  const forbiddenRooms = rooms.filter((r) => r !== room && !allowed[room].includes(r));
  const patterns = [
    { regex: "^\\.\\./[a-z-]+/", message: "Import another room through its index.ts (no deep imports)." },
    ...(forbiddenRooms.length
      ? [{ group: forbiddenRooms.map((r) => `../${r}`), message: `The ${room} room may import only: ${allowed[room].join(", ")}.` }]
      : []),
  ];
  const paths = room === "cli" ? [] : [{ name: "yargs", message: "Only src/cli imports yargs." }];
  if (room === "spec" || room === "plan") {
    paths.push(...impure.map((name) => ({ name, message: `src/${room} is pure: no I/O.` })));
  }
  return { files: [`src/${room}/**/*.ts`], rules: { "no-restricted-imports": ["error", { paths, patterns }] } };
}

export default tseslint.config(
  { ignores: ["node_modules/", "build/", "dist/", "bin/", "src/spec/generated/", "coverage/"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  ...rooms.map(roomRules),
  {
    files: ["src/container/**/*.ts", "src/index.ts"],
    ignores: ["src/container/default-runtime.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^\\.\\.?/native$",
              allowTypeImports: true,
              message: "Only container/default-runtime.ts loads the addon: take its calls from the Runtime (import type is fine).",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/index.ts", "src/errors.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "yargs", message: "Only src/cli imports yargs." }],
          patterns: [
            { regex: "^\\./[a-z-]+/", message: "Import a room through its index.ts." },
            { group: ["./cli"], message: "Nothing imports cli." },
          ],
        },
      ],
    },
  },
  {
    files: ["scripts/**/*.mjs", "bench/**/*.mjs", "bench/**/*.js", "*.mjs", "*.js", "test/**/*.js"],
    languageOptions: {
      globals: { process: "readonly", console: "readonly", require: "readonly", module: "writable", __dirname: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
