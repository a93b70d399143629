import { parseJson } from "../../src/spec";
import { MAX_JSON_DEPTH } from "../../src/spec/parse";

test.each([
  ['{\n  "ociVersion": "1.0.0",\n  "root": }\n', 'invalid JSON at line 3 column 11: value expected near "}"'],
  ["", "invalid JSON at line 1 column 1: value expected"],
  ['{"a":1,}', 'invalid JSON at line 1 column 8: property name expected near "}"'],
  ['{"a" 1}', 'invalid JSON at line 1 column 6: colon expected near "1"'],
  ["[1,2", "invalid JSON at line 1 column 5: close bracket expected"],
  ['{"a": 1} // comment', 'invalid JSON at line 1 column 10: invalid comment token near "// comment"'],
])("malformed JSON %j is located", (text, reason) => {
  expect(parseJson(text, "/b/config.json")).toEqual({ ok: false, problem: { field: "/b/config.json", reason, severity: "error" } });
});

test("valid JSON parses", () => {
  expect(parseJson('{"ociVersion":"1.0.0"}')).toEqual({ ok: true, value: { ociVersion: "1.0.0" } });
});

// Found by the config fuzzer (test/reliability/fuzz-config.test.ts): 100,000 nested arrays ran
// create (JSON.stringify of the state) and check (jsonc-parser, on malformed text) out of stack.
test("nesting deeper than MAX_JSON_DEPTH is refused at the field it is under", () => {
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  expect(MAX_JSON_DEPTH).toBe(1000);
  expect(parseJson(`{"x":${deep(999)}}`).ok).toBe(true);
  const reason = "nests arrays and objects more than 1000 levels deep";
  expect(parseJson(`{"x":${deep(1000)}}`)).toEqual({ ok: false, problem: { field: "x[0][0]", reason, severity: "error" } });
  expect(parseJson(`{"annotations":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}`)).toEqual({
    ok: false,
    problem: { field: "annotations.a.a", reason, severity: "error" },
  });
  expect(parseJson(deep(100_000), "/b/config.json")).toEqual({
    ok: false,
    problem: { field: "/b/config.json", reason, severity: "error" },
  });
});

test("malformed text nested deeper than MAX_JSON_DEPTH is located without recursing", () => {
  const reason = (col: number) => `invalid JSON at line 1 column ${col}: nests arrays and objects more than 1000 levels deep`;
  expect(parseJson("[".repeat(100_000), "/b/config.json")).toEqual({
    ok: false,
    problem: { field: "/b/config.json", reason: reason(1001), severity: "error" },
  });
  expect(parseJson("[".repeat(100_000) + "]".repeat(99_999) + "}", "/b/config.json")).toEqual({
    ok: false,
    problem: { field: "/b/config.json", reason: reason(1001), severity: "error" },
  });
  // brackets inside strings do not count
  expect(parseJson(`["${"[".repeat(5000)}", 1`, "/b/config.json")).toMatchObject({
    ok: false,
    problem: { reason: expect.stringMatching(/close bracket expected/) },
  });
});
