// summarize.mjs OUTDIR: bench.sh's samples.tsv (+ mem.tsv, lib.tsv) -> markdown. Medians of wall
// time; ratios are medians of per-round berth/X (same round, so machine noise mostly cancels);
// then the targets, each met or missed.
import fs from "node:fs";

const dir = process.argv[2];
const read = (f) => (fs.existsSync(`${dir}/${f}`) ? fs.readFileSync(`${dir}/${f}`, "utf8").trim().split("\n").filter(Boolean) : []);
const lines = read("samples.tsv");
const head = lines.shift().split("\t");
const rows = lines.map((l) => Object.fromEntries(l.split("\t").map((v, i) => [head[i], isNaN(+v) ? v : +v])));
const median = (a) => {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y),
    m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const RT = ["berth", "runc", "crun", "node -e 0"];
const ms = (us) => (us >= 100000 ? (us / 1000).toFixed(0) : (us / 1000).toFixed(1));
const ops = [...new Map(rows.map((r) => [`${r.section}\0${r.op}`, [r.section, r.op]])).values()];
const ratio = {}; // op -> rt -> median paired ratio berth/rt
const med = {}; // op -> rt -> median wall us
const out = [];
const time = [],
  rss = [];
for (const [section, op] of ops) {
  const sel = rows.filter((r) => r.section === section && r.op === op);
  const by = Object.fromEntries(RT.map((rt) => [rt, sel.filter((r) => r.runtime === rt)]));
  if (section === "i") {
    rss.push(`| ${op} | ${RT.map((rt) => (by[rt].length ? (median(by[rt].map((r) => r.hwm_kb)) / 1024).toFixed(1) : "-")).join(" | ")} |`);
    continue;
  }
  med[op] = {};
  ratio[op] = {};
  const cells = RT.map((rt) => {
    const ok = by[rt].filter((r) => r.rc === 0),
      fails = by[rt].length - ok.length;
    if (!by[rt].length) return "-";
    if (!ok.length) return `fail (${fails})`;
    const w = median(ok.map((r) => r.wall_us));
    med[op][rt] = w;
    let s = ms(w);
    if (section === "h") s += ` (${(ok[0].count / (w / 1e6)).toFixed(1)}/s)`;
    return fails ? `${s} (${fails} failed)` : s;
  });
  const ratios = RT.slice(1).map((rt) => {
    const rs = [];
    for (const b of by.berth) {
      const o = by[rt].find((r) => r.round === b.round);
      if (o && o.rc === 0 && b.rc === 0) rs.push(b.wall_us / o.wall_us);
    }
    ratio[op][rt] = rs.length ? median(rs) : NaN;
    return rs.length ? `${median(rs).toFixed(2)}×` : "-";
  });
  time.push(`| ${section} | ${op} | ${cells.join(" | ")} | ${[ratios[2], ratios[0], ratios[1]].join(" | ")} |`);
}
out.push("Wall ms, medians over rounds; ratios = median of per-round berth/X (paired, same round; < 1 = berth faster).", "");
out.push(
  "| § | operation | berth | runc | crun | node -e 0 | berth/node | berth/runc | berth/crun |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ...time,
  "",
);
const mem = read("mem.tsv").map((l) => l.split("\t"));
const perCtr = {};
if (mem.length) {
  out.push("Memory held per container in the `created` state (the waiting init, /proc/PID/smaps_rollup), KiB:", "");
  out.push("| created | berth RSS / PSS | runc RSS / PSS | crun RSS / PSS |", "|---:|---:|---:|---:|");
  for (const S of [...new Set(mem.map((m) => m[1]))]) {
    const cell = (rt) => {
      const m = mem.find((x) => x[1] === S && x[2] === rt);
      if (!m || !+m[3]) return "-";
      if (rt === "berth") perCtr[S] = +m[4] / +m[3];
      return `${(+m[4] / +m[3]).toFixed(0)} / ${(+m[5] / +m[3]).toFixed(0)}`;
    };
    out.push(`| ${S} | ${cell("berth")} | ${cell("runc")} | ${cell("crun")} |`);
  }
  out.push("");
}
if (rss.length)
  out.push(
    "Peak RSS of the CLI process itself (VmHWM, polled), MiB, median:",
    "",
    `| operation | ${RT.join(" | ")} |`,
    `|---|${RT.map(() => "---:").join("|")}|`,
    ...rss,
    "",
  );
const lib = read("lib.tsv").map((l) => l.split("\t").map(Number));
let libCps = NaN,
  libMs = NaN;
const crunRun = med["crun run /bin/true (same rounds)"]?.crun;
if (lib.length) {
  libCps = median(lib.map((l) => l[2]));
  libMs = median(lib.map((l) => l[3]));
  out.push(
    `Library API (dist/index.js), one Node process, create → start → wait → delete of /bin/true: **${libCps.toFixed(1)} containers/s**, ${libMs.toFixed(1)} ms each (median of ${lib.length} rounds; each round's cps: ${lib.map((l) => l[2]).join(", ")}); \`crun run\` in the same rounds: ${ms(crunRun)} ms.`,
    "",
  );
}
const R = (op, rt) => ratio[op]?.[rt];
// A section this run skipped leaves its value undefined or NaN: shown as "-", "not measured".
const unmeasured = (v) => v === undefined || Number.isNaN(v);
const times = (v) => (unmeasured(v) ? "-" : `${v.toFixed(2)}×`);
const targets = [];
const t = (name, value, ok, shown) =>
  targets.push(`| ${name} | ${unmeasured(value) ? "-" : shown} | ${unmeasured(value) ? "not measured" : ok ? "met" : "**missed**"} |`);
for (const op of ["state (running)", "kill KILL until init exited", "start (/bin/true)", "delete (stopped)"])
  t(
    `\`${op.split(" (")[0].split(" KILL")[0]}\` ≤ 1.15× node -e 0`,
    R(op, "node -e 0"),
    R(op, "node -e 0") <= 1.15,
    times(R(op, "node -e 0")),
  );
for (const op of ["run /bin/true", "create"])
  t(`\`${op.split(" ")[0]}\` ≤ 1.4× node -e 0`, R(op, "node -e 0"), R(op, "node -e 0") <= 1.4, times(R(op, "node -e 0")));
t(
  "`delete -f` running: faster than runc",
  R("delete -f (running), until init exited", "runc"),
  R("delete -f (running), until init exited", "runc") < 1,
  times(R("delete -f (running), until init exited", "runc")),
);
t(
  "`list` of 500: faster than runc",
  R("list, 500 created", "runc"),
  R("list, 500 created", "runc") < 1,
  times(R("list, 500 created", "runc")),
);
// No `d` section in this run: nothing measured (Math.max of nothing is -Infinity).
const worst = Object.keys(perCtr).length ? Math.max(...Object.values(perCtr)) : NaN;
t("RSS per created container ≤ 1 MiB", worst, worst <= 1024, `${worst.toFixed(0)} KiB`);
t("library create→start→wait→delete faster than `crun run`", libMs, libMs < crunRun / 1000, `${libMs.toFixed(1)} vs ${ms(crunRun)} ms`);
t("library ≥ 100 containers/s", libCps, libCps >= 100, `${libCps.toFixed(1)}/s`);
out.push("Targets (ratios from the same run):", "", "| target | measured | |", "|---|---:|---|", ...targets, "");
process.stdout.write(out.join("\n") + "\n");
