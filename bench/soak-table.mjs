#!/usr/bin/env node
// soak-table.mjs FILE: build/reliability/soak.json (test/reliability/soak.test.ts) as markdown
// tables, berth beside runc: per loop and resource, the count after the warm-up, after the
// cycles, and the growth; then the CLI's peak RSS per command; then the library API.
import { readFileSync } from "node:fs";

const s = JSON.parse(readFileSync(process.argv[2], "utf8"));
const resources = ["ownFds", "memfds", "mounts", "cgroups", "state", "processes", "zombies"];
const what = {
  ownFds: "fds of the test process",
  memfds: "fds on the runtime's memfds",
  mounts: "mounts",
  cgroups: "cgroup dirs under the parent",
  state: "state entries",
  processes: "live processes in the parent",
  zombies: "zombies",
};
const out = [];
out.push(
  `Soak: ${s.cycles} cycles per loop after ${s.warmup} warm-up, ${s.date} (commit ${s.commit}). Counts: after warm-up → after the cycles (growth; must be 0).`,
  "",
);
const rts = ["berth", "runc"].filter((rt) => s[rt]);
out.push(`| loop | resource | ${rts.join(" | ")} |`, `|---|---|${rts.map(() => "---:|").join("")}`);
const loops = Object.keys(s.berth ?? {});
for (const loop of loops) {
  for (const k of resources) {
    const cell = (rt) => {
      const r = s[rt]?.[loop];
      if (!r) return "-";
      const g = r.growth[k];
      return `${r.before[k]} → ${r.after[k]} (${g > 0 ? `**+${g}**` : g})`;
    };
    out.push(`| ${loop} | ${what[k]} | ${rts.map(cell).join(" | ")} |`);
  }
  const fail = (rt) => (s[rt]?.[loop] ? `${s[rt][loop].failures} failed, ${s[rt][loop].medianCycleMs} ms/cycle` : "-");
  out.push(`| ${loop} | commands failed; median cycle | ${rts.map(fail).join(" | ")} |`);
}
out.push("", `CLI peak RSS per command (GNU time %M, KiB): median, max, and the trend (mean of the last 10 against the first 10):`, "");
out.push(
  `| loop | command | ${rts.map((rt) => `${rt} median / max / trend`).join(" | ")} |`,
  `|---|---|${rts.map(() => "---:|").join("")}`,
);
for (const loop of loops) {
  const steps = Object.keys(s.berth[loop].peakRssKb ?? {});
  const runcSteps = Object.keys(s.runc?.[loop]?.peakRssKb ?? {});
  for (const step of [...new Set([...steps, ...runcSteps])]) {
    const cell = (rt) => {
      const r = s[rt]?.[loop]?.peakRssKb?.[step];
      return r ? `${r.median} / ${r.max} / ${(r.trend * 100).toFixed(1)} %` : "-";
    };
    out.push(`| ${loop} | ${step} | ${rts.map(cell).join(" | ")} |`);
  }
}
if (s.library) {
  const l = s.library;
  out.push(
    "",
    `Library API (one Node process, ${l.cycles} cycles of create/start/wait/delete + create/start/exec/delete --force, ${l.msPerCycle} ms each):`,
    "",
  );
  out.push("| resource | after warm-up → after (growth) |", "|---|---:|");
  for (const k of resources) out.push(`| ${what[k]} | ${l.before[k]} → ${l.after[k]} (${l.growth[k]}) |`);
  const h = l.heapUsedBytes;
  out.push(
    `| V8 heap used after a full GC | ${(h.before / 1048576).toFixed(1)} → ${(h.after / 1048576).toFixed(1)} MiB (${h.perCycle} B/cycle overall; the floor of the last quarter against the second: ${h.secondHalfPerCycle} B/cycle) |`,
  );
  out.push(`| RSS of the process | ${(l.rssBytes.before / 1048576).toFixed(1)} → ${(l.rssBytes.after / 1048576).toFixed(1)} MiB |`);
}
console.log(out.join("\n"));
