/**
 * The addon's rtnetlink calls (native/addon/netlink.cc), observed against what the host says
 * by other means (/sys/class/net, ip(8)). Read-only: nothing here changes an interface; the
 * changing calls are exercised on interfaces of their own by test/integration/netdevices.test.ts.
 * The failures that change nothing (a request for an ifindex no interface has) check the
 * error shape: code, errno, syscall = the request.
 */
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import * as native from "../../src/native";

const sysNames = () => readdirSync("/sys/class/net").sort();
/** An ifindex no interface has. */
const noSuchIndex = 0x7ffffff0;

let sock: number;
beforeAll(() => (sock = native.netlinkOpen()));
afterAll(() => native.closeFd(sock));

test("netLinks lists the interfaces /sys/class/net shows, with their ifindex and flags", () => {
  const links = native.netLinks(sock);
  expect(links.map((l) => l.name).sort()).toEqual(sysNames());
  for (const l of links) {
    expect([l.name, l.index]).toEqual([l.name, Number(readFileSync(`/sys/class/net/${l.name}/ifindex`, "utf8"))]);
    // sysfs shows dev->flags; netlink adds the operational bits (IFF_RUNNING 0x40, and
    // IFF_LOWER_UP / IFF_DORMANT above 16 bits) from the link's state.
    expect([l.name, l.flags & 0xffff & ~0x40]).toEqual([l.name, Number(readFileSync(`/sys/class/net/${l.name}/flags`, "utf8")) & ~0x40]);
  }
  const lo = links.find((l) => l.name === "lo")!;
  expect(lo.flags & 0x8).toBe(0x8); // IFF_LOOPBACK
});

test("netAddresses of lo are ip's, with family, prefix, scope and the permanent flag", () => {
  const lo = native.netLinks(sock).find((l) => l.name === "lo")!;
  const ours = native.netAddresses(sock, lo.index);
  const theirs = execFileSync("ip", ["-o", "addr", "show", "dev", "lo"], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => /\s(inet6?) (\S+)\/(\d+)/.exec(l)!)
    .map((m) => [m[1], m[2], Number(m[3])]);
  expect(ours.map((a) => [a.family, a.local ?? a.address, a.prefixLength])).toEqual(theirs);
  for (const a of ours) {
    expect(a.flags & 0x80).toBe(0x80); // IFA_F_PERMANENT: configured, no lifetime
    expect(a.scope).toBe(254); // RT_SCOPE_HOST
  }
  const v4 = ours.find((a) => a.family === "inet");
  if (v4) expect(v4.label).toBe("lo");
  expect(native.netAddresses(sock, noSuchIndex)).toEqual([]);
});

test("netlinkOpen(nsFd) makes the socket in that namespace (here our own), and refuses a namespace of another type", () => {
  const fd = openSync("/proc/self/ns/net", "r");
  try {
    const inNs = native.netlinkOpen(fd);
    try {
      expect(native.netLinks(inNs).map((l) => l.name).sort()).toEqual(sysNames());
    } finally {
      native.closeFd(inNs);
    }
  } finally {
    closeSync(fd);
  }
  const uts = openSync("/proc/self/ns/uts", "r");
  try {
    expect(() => native.netlinkOpen(uts)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "setns" }));
  } finally {
    closeSync(uts);
  }
});

test("a request for an interface that does not exist fails with ENODEV, named after the request", () => {
  const self = openSync("/proc/self/ns/net", "r");
  try {
    expect(() => native.netLinkMove(sock, noSuchIndex, self, "x0")).toThrow(expect.objectContaining({ code: "ENODEV", errno: 19, syscall: "RTM_NEWLINK" }));
  } finally {
    closeSync(self);
  }
  expect(() => native.netLinkUp(sock, noSuchIndex, true)).toThrow(expect.objectContaining({ code: "ENODEV", syscall: "RTM_NEWLINK" }));
  expect(() => native.netAddressAdd(sock, noSuchIndex, { family: "inet", prefixLength: 24, flags: 0, scope: 0, local: "10.255.255.1" })).toThrow(
    expect.objectContaining({ code: "ENODEV", syscall: "RTM_NEWADDR" }),
  );
});

test("malformed arguments are TypeErrors, before any request", () => {
  const bad = (fn: () => unknown, code: string) => expect(fn).toThrow(expect.objectContaining({ code }));
  bad(() => native.netAddressAdd(sock, 1, { family: "ipx" as "inet", prefixLength: 8, flags: 0, scope: 0, local: "1.2.3.4" }), "ERR_INVALID_ARG_VALUE");
  bad(() => native.netAddressAdd(sock, 1, { family: "inet", prefixLength: 33, flags: 0, scope: 0, local: "1.2.3.4" }), "ERR_INVALID_ARG_VALUE");
  bad(() => native.netAddressAdd(sock, 1, { family: "inet", prefixLength: 8, flags: 0, scope: 0, local: "::1" }), "ERR_INVALID_ARG_VALUE");
  bad(() => native.netAddressAdd(sock, 1, { family: "inet6", prefixLength: 8, flags: 0, scope: 0 }), "ERR_INVALID_ARG_VALUE");
  bad(() => native.netLinkMove(sock, 1, 0, "abcdefghijklmnop"), "ERR_INVALID_ARG_VALUE");
  bad(() => native.netLinkMove(sock, 0, 0, "x"), "ERR_INVALID_ARG_VALUE");
  bad(() => native.netLinkUp(sock, 1, "yes" as unknown as boolean), "ERR_INVALID_ARG_TYPE");
});
