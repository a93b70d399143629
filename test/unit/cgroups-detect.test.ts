/** Cgroup layout detection from mountinfo text (no root, no host state). */
import { cgroupPathFor, layoutFromMountinfo, systemdCgroupPath } from "../../src/cgroups";

const line = (id: number, mp: string, fstype: string, superOpts: string) =>
  `${id} 1 0:${id} / ${mp} rw,nosuid,nodev,noexec,relatime shared:${id} - ${fstype} ${fstype} ${superOpts}`;
const controllers = () => ["cpu", "memory"];

const hybrid = [
  line(20, "/sys/fs/cgroup", "tmpfs", "ro,mode=755"),
  line(21, "/sys/fs/cgroup/unified", "cgroup2", "rw,nsdelegate"),
  line(22, "/sys/fs/cgroup/systemd", "cgroup", "rw,xattr,name=systemd"),
  line(23, "/sys/fs/cgroup/cpu,cpuacct", "cgroup", "rw,cpu,cpuacct"),
  line(24, "/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
];

test("hybrid: v1 hierarchies with their mount data, cgroup2 at unified", () => {
  const l = layoutFromMountinfo(hybrid.join("\n"), controllers);
  expect(l.mode).toBe("hybrid");
  expect(l.v2Mount).toBe("/sys/fs/cgroup/unified");
  expect(l.v1Mounts).toEqual({ cpu: "/sys/fs/cgroup/cpu,cpuacct", cpuacct: "/sys/fs/cgroup/cpu,cpuacct", memory: "/sys/fs/cgroup/memory" });
  expect(l.v1Hierarchies).toEqual([
    { mountPoint: "/sys/fs/cgroup/systemd", data: "none,xattr,name=systemd" },
    { mountPoint: "/sys/fs/cgroup/cpu,cpuacct", data: "cpu,cpuacct" },
    { mountPoint: "/sys/fs/cgroup/memory", data: "memory" },
  ]);
});

test("the same hierarchies mounted again elsewhere (a container sharing the host's mount namespace) change nothing", () => {
  const again = hybrid
    .filter((l) => !l.includes("tmpfs"))
    .map((l, i) => line(50 + i, `/bundles/c1/rootfs${l.split(" ")[4]}`, l.includes("cgroup2") ? "cgroup2" : "cgroup", l.split(" ").pop()!));
  const l = layoutFromMountinfo([...hybrid, ...again].join("\n"), controllers);
  expect(l).toEqual(layoutFromMountinfo(hybrid.join("\n"), controllers));
});

test("unified: cgroup2 alone, with its root's controllers", () => {
  const l = layoutFromMountinfo(line(30, "/sys/fs/cgroup", "cgroup2", "rw,nsdelegate"), controllers);
  expect(l).toMatchObject({ mode: "unified", v2Mount: "/sys/fs/cgroup", v2Controllers: ["cpu", "memory"], v1Hierarchies: [] });
});

test("a later mount hides a cgroup mount at or below its mount point", () => {
  const shadowed = [...hybrid, line(40, "/sys/fs/cgroup/unified", "tmpfs", "rw,size=65536k")].join("\n");
  const l = layoutFromMountinfo(shadowed, controllers);
  expect(l.mode).toBe("legacy");
  expect(l.v2Mount).toBeUndefined();
  const all = layoutFromMountinfo([...hybrid, line(41, "/sys/fs/cgroup", "tmpfs", "rw")].join("\n"), controllers);
  expect(all.mode).toBe("none");
  expect(all.v1Hierarchies).toEqual([]);
});

test("nothing mounted: none", () => {
  expect(layoutFromMountinfo("", controllers).mode).toBe("none");
});

test("--systemd-cgroup paths: slice:prefix:name laid out as systemd nests them", () => {
  expect(systemdCgroupPath("system.slice:docker:abc", "c1")).toBe("/system.slice/docker-abc.scope");
  expect(systemdCgroupPath("machine-pod1.slice:libpod:abc", "c1")).toBe("/machine.slice/machine-pod1.slice/libpod-abc.scope");
  expect(systemdCgroupPath(":berth:abc", "c1")).toBe("/system.slice/berth-abc.scope");
  expect(systemdCgroupPath(undefined, "c1")).toBe("/system.slice/berth-c1.scope");
  expect(systemdCgroupPath("user.slice::my-app.slice", "c1")).toBe("/user.slice/my-app.slice");
  expect(() => systemdCgroupPath("/a/b", "c1")).toThrow('linux.cgroupsPath "/a/b": with --systemd-cgroup it must be slice:prefix:name');
  expect(() => systemdCgroupPath("system:docker:abc", "c1")).toThrow('"system" is not a systemd slice name');
  // Without --systemd-cgroup the same string is a relative cgroupfs path, under /berth.
  expect(cgroupPathFor("system.slice:docker:abc", "c1")).toBe("/berth/system.slice:docker:abc");
});
