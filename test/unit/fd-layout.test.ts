/**
 * berth-init's fd table (src/plan/fd-layout.ts), decided once for create and `check --explain`:
 * a table of requests and the slots they get.
 */
import { childFdLayout, type ChildFdRequest } from "../../src/plan";
import { explainSpec } from "../../src/container/explain";
import { defaultSpec } from "../../src/spec";

const none: ChildFdRequest = { inherited: 0, startResult: false, joined: [], idmapped: [], bindTrees: [] };

test.each<[string, Partial<ChildFdRequest>, ReturnType<typeof childFdLayout>]>([
  ["nothing but the exec fifo", {}, { count: 4, fifo: 3, namespaces: {}, idmapped: {}, bindTrees: {} }],
  [
    "--preserve-fds 2 (and LISTEN_FDS) come before the fifo",
    { inherited: 2 },
    { count: 6, fifo: 5, namespaces: {}, idmapped: {}, bindTrees: {} },
  ],
  [
    "the start-result fifo right after the exec fifo",
    { startResult: true },
    { count: 5, fifo: 3, startResult: 4, namespaces: {}, idmapped: {}, bindTrees: {} },
  ],
  [
    "joined namespaces in config order; pid gets no slot, user its own",
    { joined: ["network", "pid", "user", "time", "ipc"] },
    { count: 8, fifo: 3, namespaces: { network: 4, time: 6, ipc: 7 }, userns: 5, idmapped: {}, bindTrees: {} },
  ],
  [
    "then idmapped trees, then host-opened binds, by mount index",
    { inherited: 1, startResult: true, joined: ["uts"], idmapped: [7, 2], bindTrees: [3] },
    { count: 10, fifo: 4, startResult: 5, namespaces: { uts: 6 }, idmapped: { 7: 7, 2: 8 }, bindTrees: { 3: 9 } },
  ],
])("%s", (_name, req, expected) => {
  expect(childFdLayout({ ...none, ...req })).toEqual(expected);
});

test("check --explain plans a config that joins a time namespace by path (it threw: no fd for joined time namespace)", () => {
  const spec = defaultSpec();
  spec.linux!.namespaces = [...(spec.linux!.namespaces ?? []), { type: "time", path: "/proc/1/ns/time" }];
  const explained = explainSpec(spec, "/tmp/bundle");
  expect(explained.ops.find((o) => o.op === "setns" && o.origin.startsWith("linux.namespaces"))).toBeDefined();
});
