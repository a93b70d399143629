/** Tests are TypeScript, transformed by swc (no type-check here: `npm run lint` runs tsc). */
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.(t|j)sx?$": ["@swc/jest"] },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  testTimeout: 60_000,
  globalSetup: "<rootDir>/test/global-setup.js",
};
