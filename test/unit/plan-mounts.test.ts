/**
 * Mount planning as a table (config in, ops out): recursive attributes, idmapped mounts, a
 * mount that replaces the root, and the errors, each located at its config field.
 */
import { buildPlan, idmappedMountRequests, MOUNT_ATTR, MS, parseMountOptions, PlanError } from "../../src/plan";
import { defaultSpec, type Mount, type Spec } from "../../src/spec";
import { planInput } from "../helpers/plan-input";

const input = planInput;

const withMount = (m: Mount) => (s: Spec) => void s.mounts!.push(m);
const opsOf = (plan: ReturnType<typeof buildPlan>, origin: string) =>
  plan.ops.filter((o) => o.origin === origin).map((o) => [o.op, ...o.args]);
const lastMount = (s: Spec) => `mounts[${s.mounts!.length - 1}]`;

describe("recursive attributes (mount_setattr)", () => {
  test.each([
    [["rro"], MOUNT_ATTR.RDONLY, 0],
    [["rro", "rrw"], 0, MOUNT_ATTR.RDONLY],
    [["rnosuid", "rnodev", "rnoexec"], MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC, 0],
    [["rexec"], 0, MOUNT_ATTR.NOEXEC],
    // The atime mode is a field: setting it clears the whole field first.
    [["rnoatime"], MOUNT_ATTR.NOATIME, MOUNT_ATTR._ATIME],
    [["rstrictatime"], MOUNT_ATTR.STRICTATIME, MOUNT_ATTR._ATIME],
    [["rrelatime"], MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
    [["rnoatime", "rstrictatime"], MOUNT_ATTR.STRICTATIME, MOUNT_ATTR._ATIME],
    [["rnoatime", "ratime"], MOUNT_ATTR.RELATIME, MOUNT_ATTR._ATIME],
    [["rro", "rnodiratime"], MOUNT_ATTR.RDONLY | MOUNT_ATTR.NODIRATIME, 0],
  ])("%j -> set %i clear %i", (options, set, clr) => {
    const o = parseMountOptions(options, "bind");
    expect([o.recSet, o.recClr]).toEqual([set, clr]);
  });

  test("a bind with flags, propagation and recursive attributes: bind, remount, propagation, setattr", () => {
    const m = {
      destination: "/v",
      source: "rel/dir",
      type: "bind",
      options: ["rbind", "noexec", "noatime", "runbindable", "rro", "rnosuid"],
    };
    const inp = input(withMount(m));
    const origin = lastMount(inp.spec);
    expect(opsOf(buildPlan(inp), origin)).toEqual([
      ["mkdirInRoot", "/v", 0o755, 0],
      // The target is checked once resolved: a symlink in the rootfs may lead into /proc.
      ["guardProcTarget"],
      // Relative sources resolve against the bundle.
      ["mount", "/b/rel/dir", "/v", "", MS.BIND | MS.REC, ""],
      ["mount", "", "/v", "", MS.REMOUNT | MS.BIND | MS.NOEXEC | MS.NOATIME, ""],
      ["mount", "", "/v", "", MS.UNBINDABLE | MS.REC, ""],
      ["mountSetattr", "/v", MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID, 0, 1],
    ]);
  });

  test("a plain bind with no flags is just the bind (no remount); a file source makes a file", () => {
    const inp = input(withMount({ destination: "/etc/hosts", source: "/h/hosts", options: ["bind"] }), { bindSourceIsFile: () => true });
    expect(opsOf(buildPlan(inp), lastMount(inp.spec))).toEqual([
      ["mkdirInRoot", "/etc/hosts", 0o755, 1],
      ["guardProcTarget"],
      ["mount", "/h/hosts", "/etc/hosts", "", MS.BIND, ""],
    ]);
  });
});

describe("idmapped mounts", () => {
  const maps = { uidMappings: [{ containerID: 1000, hostID: 2000, size: 1 }], gidMappings: [{ containerID: 1000, hostID: 3000, size: 1 }] };

  test("the parent's request: source resolved, trees and idmap recursive only as asked", () => {
    const spec = defaultSpec();
    spec.mounts!.push({ destination: "/a", source: "vol", type: "bind", options: ["rbind"], ...maps });
    spec.mounts!.push({ destination: "/b", source: "/data", type: "bind", options: ["rbind", "ridmap"], ...maps });
    const n = spec.mounts!.length;
    expect(idmappedMountRequests(spec, "/bundle")).toEqual([
      {
        index: n - 2,
        origin: `mounts[${n - 2}]`,
        source: "/bundle/vol",
        destination: "/a",
        recursiveTree: true,
        recursiveIdmap: false,
        ...maps,
      },
      { index: n - 1, origin: `mounts[${n - 1}]`, source: "/data", destination: "/b", recursiveTree: true, recursiveIdmap: true, ...maps },
    ]);
    expect(idmappedMountRequests(defaultSpec(), "/bundle")).toEqual([]);
  });

  test("idmap without mappings takes the container's user namespace mappings", () => {
    const spec = defaultSpec();
    spec.linux!.namespaces!.push({ type: "user" });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    spec.mounts!.push({ destination: "/a", source: "/data", options: ["bind", "idmap"], uidMappings: [] });
    const [r] = idmappedMountRequests(spec, "/b");
    expect(r).toMatchObject({ uidMappings: spec.linux!.uidMappings, gidMappings: spec.linux!.gidMappings, recursiveIdmap: false });
  });

  test("the plan attaches the parent's tree by fd, then applies the flags", () => {
    const inp = input(withMount({ destination: "/a", source: "/data", type: "bind", options: ["bind", "idmap", "ro"], ...maps }));
    const i = inp.spec.mounts!.length - 1;
    inp.fds.idmapped = { [i]: 7 };
    expect(opsOf(buildPlan(inp), `mounts[${i}]`)).toEqual([
      ["mkdirInRoot", "/a", 0o755, 0],
      ["guardProcTarget"],
      ["moveMount", 7, "/a"],
      ["mount", "", "/a", "", MS.REMOUNT | MS.BIND | MS.RDONLY, ""],
    ]);
  });

  test("errors name the field: not a bind, no mappings and no user namespace", () => {
    const tmpfs = defaultSpec();
    tmpfs.mounts!.push({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["idmap"] });
    expect(() => idmappedMountRequests(tmpfs, "/b")).toThrow(
      expect.objectContaining({ field: `mounts[${tmpfs.mounts!.length - 1}].options` }),
    );
    const nomaps = defaultSpec();
    nomaps.mounts!.push({ destination: "/t", source: "/d", options: ["bind", "idmap"] });
    expect(() => idmappedMountRequests(nomaps, "/b")).toThrow(
      expect.objectContaining({ field: `mounts[${nomaps.mounts!.length - 1}].uidMappings` }),
    );
    expect(() => idmappedMountRequests(nomaps, "/b")).toThrow(PlanError);
  });
});

describe("a mount at / replaces the root filesystem", () => {
  const overlay = { destination: "/", type: "overlay", source: "overlay", options: ["lowerdir=/l", "upperdir=/u", "workdir=/w"] };

  test("it goes right after the rootfs bind, before the mounts listed earlier", () => {
    const inp = input(withMount(overlay));
    const plan = buildPlan(inp);
    const origin = lastMount(inp.spec);
    const at = plan.ops.findIndex((o) => o.origin === origin && o.op === "mount");
    expect(plan.ops.slice(0, at + 1).map((o) => o.origin)).toEqual(["linux.rootfsPropagation", "root.path", origin, origin]);
    expect(plan.ops[at]!.args).toEqual(["overlay", "/", "overlay", 0, "lowerdir=/l,upperdir=/u,workdir=/w"]);
  });

  test("a bind at /, or two mounts at /, are refused at the field", () => {
    const bind = input(withMount({ destination: "/", source: "/x", options: ["rbind"] }));
    expect(() => buildPlan(bind)).toThrow(expect.objectContaining({ field: `${lastMount(bind.spec)}.destination` }));
    const two = input((s) => {
      s.mounts!.push(overlay);
      s.mounts!.push(overlay);
    });
    expect(() => buildPlan(two)).toThrow(/only one mount may replace the root filesystem/);
  });
});

describe("CVE-2019-19921 class: proc and sysfs go only on a real directory", () => {
  test("a proc or sysfs mount is one mountNoFollow (it makes the directory itself, refusing symlinks); its flags follow as usual", () => {
    const inp = input(withMount({ destination: "/a//proc2/", type: "proc", source: "proc", options: ["nosuid", "rslave"] }));
    expect(opsOf(buildPlan(inp), lastMount(inp.spec))).toEqual([
      ["mountNoFollow", "proc", "/a/proc2", "proc", MS.NOSUID, ""],
      ["mount", "", "/a/proc2", "", MS.SLAVE | MS.REC, ""],
    ]);
    const sys = input(withMount({ destination: "/sys2", type: "sysfs", source: "sysfs", options: ["ro"] }));
    expect(opsOf(buildPlan(sys), lastMount(sys.spec))).toEqual([["mountNoFollow", "sysfs", "/sys2", "sysfs", MS.RDONLY, ""]]);
  });

  test("a bind whose type says proc is held to the same rule (as runc: a directory, no symlink); other types are not", () => {
    const inp = input(withMount({ destination: "/hostproc", type: "proc", source: "/proc", options: ["rbind", "ro"] }));
    expect(opsOf(buildPlan(inp), lastMount(inp.spec))).toEqual([
      ["mountNoFollow", "/proc", "/hostproc", "", MS.BIND | MS.REC, ""],
      ["mount", "", "/hostproc", "", MS.REMOUNT | MS.BIND | MS.RDONLY, ""],
    ]);
    const tmp = input(withMount({ destination: "/t", type: "tmpfs", source: "tmpfs" }));
    expect(opsOf(buildPlan(tmp), lastMount(tmp.spec)).map((o) => o[0])).toEqual(["mkdirInRoot", "mount"]);
  });
});

describe("CVE-2019-16884 class: mounts over /proc, as runc's checkProcMount", () => {
  const bind = (destination: string, source = "/h/x") => ({ destination, source, options: ["bind"] });

  test.each([
    ["/proc/self/attr/exec", bind("/proc/self/attr/exec")],
    ["/proc/sys/kernel", bind("/proc/sys/kernel")],
    ["/proc/kcore", { destination: "/proc/kcore", type: "overlay", source: "overlay", options: ["lowerdir=/l"] }],
    ["/proc/1/", bind("/proc/1/")],
    ["proc/keys (relative)", bind("proc/keys")],
  ])("%s: refused at mounts[i].destination, before anything runs", (_name, m) => {
    const inp = input(withMount(m));
    expect(() => buildPlan(inp)).toThrow(
      expect.objectContaining({
        field: `${lastMount(inp.spec)}.destination`,
        value: m.destination,
        reason: expect.stringMatching(/^is inside \/proc: a mount may cover only \/proc\/cpuinfo, /),
      }),
    );
  });

  test("a bind on /proc itself only from a procfs source", () => {
    const other = input(withMount(bind("/proc", "/h/dir")));
    expect(() => buildPlan(other)).toThrow(
      expect.objectContaining({
        field: `${lastMount(other.spec)}.destination`,
        reason: "only a procfs may be mounted on /proc (this source is not one)",
      }),
    );
    const proc = input(withMount(bind("/proc", "/proc")), { bindSourceIsProcfs: () => true });
    expect(opsOf(buildPlan(proc), lastMount(proc.spec)).map((o) => o[0])).toEqual(["mkdirInRoot", "mount"]);
  });

  test("runc's allowed files (lxcfs's) may be covered, with no guard; tmpfs, mqueue and proc go anywhere, as in runc 1.1", () => {
    for (const dest of ["/proc/meminfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"]) {
      const inp = input(withMount(bind(dest)));
      expect(opsOf(buildPlan(inp), lastMount(inp.spec)).map((o) => o[0])).toEqual(["mkdirInRoot", "mount"]);
    }
    for (const type of ["tmpfs", "mqueue"]) {
      const inp = input(withMount({ destination: "/proc/acpi", type, source: type }));
      expect(opsOf(buildPlan(inp), lastMount(inp.spec)).map((o) => o[0])).toEqual(["mkdirInRoot", "mount"]);
    }
  });
});
