// Before any test: the schema validators must be generated (they are build output, not
// sources). Generating them takes a second, so do it here if a plain `npx jest` comes first.
const { existsSync } = require("node:fs");
const { execFileSync } = require("node:child_process");
const { join } = require("node:path");

module.exports = async function globalSetup() {
  const root = join(__dirname, "..");
  if (!existsSync(join(root, "src/spec/generated/validators.js"))) {
    execFileSync(process.execPath, [join(root, "scripts/gen-validators.mjs")], { stdio: "inherit" });
  }
};
