/**
 * The CLI loads the image room from a bundle of its own, with its own copy of src/errors.ts:
 * a BerthError made by one copy is a BerthError to the other (Symbol.for brand), and nothing
 * else is.
 */
import { BerthError, toBerthError } from "../../src/errors";

test("instanceof BerthError holds across two copies of the module", () => {
  let Other: typeof BerthError | undefined;
  jest.isolateModules(() => {
    Other = (require("../../src/errors") as typeof import("../../src/errors")).BerthError;
  });
  expect(Other).toBeDefined();
  expect(Other).not.toBe(BerthError);
  const theirs = new Other!({ op: "image load", id: "x.tar", reason: "archive" });
  expect(theirs instanceof BerthError).toBe(true);
  expect(toBerthError(theirs, "other")).toBe(theirs);
  expect(new BerthError({ op: "kill", reason: "r" }) instanceof Other!).toBe(true);
  expect(new Error("plain") instanceof BerthError).toBe(false);
  expect(Object.assign(new Error("lookalike"), { name: "BerthError", op: "x" }) instanceof BerthError).toBe(false);
  expect((null as unknown as object) instanceof BerthError).toBe(false);
});
