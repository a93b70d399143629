/**
 * The cgroup v2 device filter (native/addon/device-filter.cc), on this host's cgroup2
 * hierarchy: a cgroup2 directory of our own gets the program, a shell moved into it tries
 * device nodes we made. Works on a hybrid host too (the BPF hook is cgroup2's whatever v1
 * does). Needs root and a cgroup2 mount; the pure-v2 path through `berth` is in test/vm.
 */
import { spawnSync } from "node:child_process";
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultAllowedDevices, deviceFilterRules, detectCgroups } from "../../src/cgroups";
import { deviceFilterAttach } from "../../src/native";

const layout = detectCgroups();
const why = process.getuid?.() !== 0 ? "needs root" : !layout.v2Mount ? "this host has no cgroup2 mount" : "";
const maybe = why ? test.skip : test;
if (why) test("device filter tests skipped", () => console.log(`skipped: ${why}`));

const dirs: string[] = [];
let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "berth-devfilter-"));
  // A block device no driver here serves (98:0 is UML's ubd): the cgroup check comes before
  // the driver's open, so EPERM means the filter said no, ENXIO that it said yes.
  spawnSync("mknod", [join(tmp, "blk"), "b", "98", "0"]);
});
afterEach(() => {
  for (const d of dirs.splice(0).reverse()) rmdirSync(d);
  rmSync(tmp, { recursive: true, force: true });
});

/** A cgroup2 directory of ours with the filter for `rules`; run `script` in a shell in it. */
function inFilteredCgroup(rules: ReturnType<typeof deviceFilterRules>, script: string): string {
  const dir = join(layout.v2Mount!, `berth-devfilter-${process.pid}-${dirs.length}`);
  mkdirSync(dir);
  dirs.push(dir);
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    expect(deviceFilterAttach(fd, rules)).toBeGreaterThan(2);
  } finally {
    closeSync(fd);
  }
  const r = spawnSync("sh", ["-c", `echo $$ > ${dir}/cgroup.procs && { ${script}; }`], { encoding: "utf8", cwd: tmp });
  return r.stdout + r.stderr;
}

const probe = "for f in /dev/null blk; do if (exec 3<$f) 2>/dev/null; then echo $f ok; else echo $f no; fi; done; head -c1 blk 2>&1 | sed 's/.*: //'";

maybe("deny all but the defaults: /dev/null opens, a block node does not (EPERM)", () => {
  const out = inFilteredCgroup(deviceFilterRules([{ allow: false, access: "rwm" }]), probe);
  expect(out).toBe("/dev/null ok\nblk no\nOperation not permitted\n");
});

maybe("a later rule allowing b 98:0 r lets it through to the driver (ENXIO, not EPERM)", () => {
  const out = inFilteredCgroup(deviceFilterRules([{ allow: false, access: "rwm" }, { allow: true, type: "b", major: 98, minor: 0, access: "r" }]), probe);
  expect(out).toBe("/dev/null ok\nblk no\nNo such device or address\n");
});

maybe("the last matching rule wins: a deny of c 1:3 w after the defaults' allow stops writes, not reads", () => {
  const rules = [...deviceFilterRules([{ allow: false, access: "rwm" }]), { allow: false, type: "c" as const, major: 1, minor: 3, access: "w" }];
  const out = inFilteredCgroup(rules, "cat /dev/null && echo read ok; (echo x > /dev/null) 2>&1 | sed 's/.*: //'");
  expect(out).toBe("read ok\nOperation not permitted\n");
});

maybe("device cgroup allow-list bypass (GHSA-g54h-m393-cpwq class, issue 15): deny-all refuses a c 1:11 node (the filter has no rule for it); an explicit allow after it admits it", () => {
  spawnSync("mknod", [join(tmp, "kmsg"), "c", "1", "11"]);
  // Opened write-only, nothing written: /dev/kmsg asks for no capability, only the filter decides.
  const open = "if (exec 3>kmsg) 2>/dev/null; then echo kmsg ok; else (exec 3>kmsg) 2>&1 | sed 's/.*: //'; fi";
  expect(inFilteredCgroup(deviceFilterRules([{ allow: false, access: "rwm" }]), open)).toBe("Operation not permitted\n");
  expect(inFilteredCgroup(deviceFilterRules(undefined), open)).toBe("Operation not permitted\n");
  expect(inFilteredCgroup(deviceFilterRules([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 11, access: "w" }]), open)).toBe("kmsg ok\n");
});

test("deviceFilterRules: config rules, then the defaults, numbers resolved", () => {
  const rules = deviceFilterRules([{ allow: false, access: "rwm" }, { allow: true, type: "b", major: 98, minor: 0, access: "r" }]);
  expect(rules[0]).toEqual({ allow: false, type: "a", major: -1, minor: -1, access: "rwm" });
  expect(rules[1]).toEqual({ allow: true, type: "b", major: 98, minor: 0, access: "r" });
  expect(rules.length).toBe(2 + defaultAllowedDevices.length);
  expect(rules[2]).toEqual({ allow: true, type: "c", major: -1, minor: -1, access: "m" });
});

test("a malformed rule is a TypeError before anything is loaded", () => {
  expect(() => deviceFilterAttach(0, [{ allow: true, type: "x" as "a", major: -1, minor: -1, access: "r" }])).toThrow(/type must be/);
  expect(() => deviceFilterAttach(0, [{ allow: true, type: "c", major: -1, minor: -1, access: "q" }])).toThrow(/access must be/);
});
