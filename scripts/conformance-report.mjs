#!/usr/bin/env node
// conformance-report.mjs RESULTS.json: berth's spec-derived conformance coverage, from jest's
// JSON results (`jest test/conformance --json --outputFile=...`) and the clause registry
// (test/conformance/clauses.ts, compiled on the fly with esbuild). Each test title starts with
// its clause id. Prints per clause: tested and passing / failing, known deviation, or not
// applicable and why; flags registry entries with no test and tests with no entry.
// Exit status 1 if a test failed unexpectedly or the registry and the tests disagree.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const resultsPath = process.argv[2];
if (!resultsPath) {
  console.error("usage: conformance-report.mjs RESULTS.json");
  process.exit(2);
}
const src = readFileSync(join(root, "test/conformance/clauses.ts"), "utf8");
const { code } = transformSync(src, { loader: "ts", format: "esm" });
const { clauses } = await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
const byId = new Map(clauses.map((c) => [c.id, c]));

const results = JSON.parse(readFileSync(resultsPath, "utf8"));
const tests = results.testResults.flatMap((f) => f.assertionResults.map((a) => ({ title: a.title, status: a.status, file: f.name })));
const perClause = new Map();
const orphans = [];
for (const t of tests) {
  const id = t.title.split(" ")[0];
  if (!byId.has(id)) {
    orphans.push(t);
    continue;
  }
  if (!perClause.has(id)) perClause.set(id, []);
  perClause.get(id).push(t);
}

// harness.ts skips a test where the host lacks what it needs, and says so in its title:
// "... (needs cgroup-v2: why)". Any other skipped test is not accounted for.
const hostSkipped = (t) => (t.status === "pending" || t.status === "skipped") && / \(needs [a-z0-9-]+: [^)]*\)$/.test(t.title);
const needsOf = (ts) => [...new Set(ts.filter(hostSkipped).map((t) => / \(needs ([^)]*)\)$/.exec(t.title)[1]))].join("; ");

const rows = [];
let pass = 0,
  fail = 0,
  deviation = 0,
  na = 0,
  untested = 0,
  unexpected = 0,
  hostLimited = 0;
for (const c of clauses) {
  const ts = perClause.get(c.id) ?? [];
  let verdict;
  if (c.status === "not-applicable") {
    verdict = `n/a: ${c.why}`;
    na++;
    if (ts.length) {
      unexpected++;
      verdict += " (but has tests!)";
    }
  } else if (ts.length && ts.every(hostSkipped)) {
    verdict = `not on this host: ${needsOf(ts)}`;
    hostLimited++;
  } else if (!ts.length) {
    verdict = "NO TEST";
    untested++;
  } else if (c.deviation) {
    // test.failing passes when the assertion fails: berth still deviates.
    const still = ts.every((t) => t.status === "passed");
    verdict = still ? `known deviation: ${c.deviation}` : "deviation entry, but the test now passes: drop `deviation`";
    deviation++;
    if (!still) unexpected++;
  } else if (ts.every((t) => t.status === "passed" || hostSkipped(t))) {
    const ran = ts.filter((t) => t.status === "passed").length;
    const skipped = ts.length - ran;
    verdict = `pass (${ran} test${ran > 1 ? "s" : ""}${skipped ? `; ${skipped} not on this host: ${needsOf(ts)}` : ""})`;
    pass++;
  } else {
    verdict = `FAIL (${ts.filter((t) => t.status !== "passed").length}/${ts.length})`;
    fail++;
    unexpected++;
  }
  rows.push([c.id, c.level, verdict]);
}

const w = Math.max(...rows.map((r) => r[0].length));
let file = "";
for (const [id, level, verdict] of rows) {
  const f = id.split("#")[0];
  if (f !== file) console.log(`\n${(file = f)}`);
  console.log(`  ${id.padEnd(w)}  ${level.padEnd(8)}  ${verdict}`);
}
if (orphans.length) {
  console.log("\ntests whose title names no registry entry:");
  for (const t of orphans) console.log(`  ${t.title}  (${t.file})`);
}
const tested = pass + fail + deviation;
console.log(
  `\nclauses: ${clauses.length}; tested ${tested} (passing ${pass}, failing ${fail}, known deviations ${deviation}); not on this host ${hostLimited}; not applicable ${na}; without a test ${untested}; tests ${tests.length}, orphan tests ${orphans.length}`,
);
process.exit(unexpected || untested || orphans.length || fail ? 1 : 0);
