// The tests that need a real systemd (test/systemd/*.sd-test.ts): `npm test` runs them through
// in-namespace.test.ts, under a systemd of their own (scripts/systemd-ns/run.sh) where the
// host's PID 1 is not systemd, or directly where it is. Not in the main config's testMatch,
// so that a host without systemd does not list them as skipped beside the run that did them.
const base = require("../../jest.config.js");
module.exports = {
  ...base,
  rootDir: "../..",
  testMatch: ["<rootDir>/test/systemd/**/*.sd-test.ts"],
};
