/** The Node version check of bin/berth (src/cli/node-version.ts): one line below 20.5, nothing from 20.5 on. */
import { nodeTooOld } from "../../src/cli/node-version";

test("a Node below 20.5 gets one line naming it and the minimum", () => {
  for (const v of ["18.19.0", "20.4.1", "16.0.0", "20.0.0"]) {
    expect(nodeTooOld(v)).toBe(`berth: node v${v} is too old: berth needs node 20.5 or later\n`);
  }
});

test("20.5 and later pass", () => {
  for (const v of ["20.5.0", "20.20.2", "21.0.0", "22.11.0", "24.1.0"]) expect(nodeTooOld(v)).toBeUndefined();
});
