#!/usr/bin/env node
// lib-api.js ROOT BUNDLE N [create|cycle|delete] PREFIX [FROM]: berth's library API (dist/index.js) in one
// Node process. cycle (default): N x create -> start -> wait -> delete of the bundle (/bin/true),
// prints "containers/s ms_per_container wall_ms". create: creates PREFIX<FROM>..PREFIX<N-1> from bundles BUNDLE<i> (to fill a root
// for `list`); delete: delete -f of PREFIX0..N-1. Used by bench.sh.
"use strict";
const { join } = require("node:path");
const berth = require(join(__dirname, "../dist/index.js"));
const [root, bundle, n = "100", mode = "cycle", prefix = "lib", from = "0"] = process.argv.slice(2);
(async () => {
  const t0 = process.hrtime.bigint();
  for (let i = +from; i < +n; i++) {
    const id = `${prefix}${i}`;
    if (mode === "cycle") {
      await berth.create(id, { root, bundle });
      await berth.start(id, { root });
      await berth.wait(id, { root });
      await berth.delete(id, { root });
    } else if (mode === "create") {
      await berth.create(id, { root, bundle: `${bundle}${i}` });
    } else {
      await berth.delete(id, { root, force: true }).catch(() => {});
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const count = +n - +from;
  console.log(`${((count * 1000) / ms).toFixed(1)} ${(ms / count).toFixed(2)} ${ms.toFixed(0)}`);
})().catch((e) => {
  console.error(String(e && e.message ? e.message : e));
  process.exit(1);
});
