import { parseJson } from "../../src/spec";

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
