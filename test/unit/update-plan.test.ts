/**
 * update's pure part (planUpdate): what is written and recorded for a request, on either cgroup
 * version. The same requests run for real against runc in test/integration/update.test.ts.
 */
import { orderMemoryWrites, v1Writes, v2Writes } from "../../src/cgroups";
import { planUpdate } from "../../src/container";
import type { Resources } from "../../src/spec";

const MiB = 1 << 20;
const created: Resources = {
  devices: [{ allow: false, access: "rwm" }],
  memory: { limit: 64 * MiB, swap: 128 * MiB, reservation: 32 * MiB },
  cpu: { quota: 10000, period: 100000 },
  pids: { limit: 100 },
};
const pairs = (ws: { file: string; value: string }[]) => ws.map((w) => [w.file, w.value]);

describe("-1 means unlimited (issue 15), as runc", () => {
  test("--memory -1 alone also makes memory+swap unlimited: v1 writes both, memory+swap first; v2 writes max to both", () => {
    const { writes, merged } = planUpdate(created, { memory: { limit: -1 } }, true);
    // Without memory+swap going to -1 first, v1 refuses the limit (EINVAL: above memsw).
    const v1 = orderMemoryWrites(
      v1Writes(writes).map((write) => ({ write })),
      128 * MiB,
    ).map((x) => x.write);
    expect(pairs(v1)).toEqual([
      ["memory.memsw.limit_in_bytes", "-1"],
      ["memory.limit_in_bytes", "-1"],
    ]);
    // v2 has no swap alone to derive from an unlimited limit plus the old memory+swap.
    expect(pairs(v2Writes(writes))).toEqual([
      ["memory.max", "max"],
      ["memory.swap.max", "max"],
    ]);
    expect(merged.memory).toEqual({ limit: -1, swap: -1, reservation: 32 * MiB });
  });

  test("a swap of 0 counts as not given (runc's zero value), so a CRI-style request with swap 0 is the same", () => {
    expect(planUpdate(created, { memory: { limit: -1, swap: 0 } }, true).merged.memory?.swap).toBe(-1);
  });

  test("an explicit memory+swap is kept; a host without swap accounting gets no swap write", () => {
    expect(planUpdate(created, { memory: { limit: -1, swap: -1 } }, true).writes.memory).toMatchObject({ limit: -1, swap: -1 });
    expect(planUpdate({}, { memory: { limit: -1 } }, false).writes.memory).toEqual({ limit: -1 });
  });

  test("the other -1 values: reservation, memory+swap, cpu quota, pids", () => {
    const { writes } = planUpdate(created, { memory: { reservation: -1, swap: -1 }, cpu: { quota: -1 }, pids: { limit: -1 } }, true);
    expect(pairs(v1Writes(writes))).toEqual([
      ["memory.limit_in_bytes", String(64 * MiB)],
      ["memory.memsw.limit_in_bytes", "-1"],
      ["memory.soft_limit_in_bytes", "-1"],
      ["cpu.cfs_period_us", "100000"],
      ["cpu.cfs_quota_us", "-1"],
      ["pids.max", "max"],
    ]);
    expect(pairs(v2Writes({ memory: { limit: -1, swap: -1, reservation: -1 }, cpu: writes.cpu, pids: writes.pids }))).toEqual([
      ["memory.max", "max"],
      ["memory.swap.max", "max"],
      ["memory.low", "max"],
      ["cpu.max", "max 100000"],
      ["pids.max", "max"],
    ]);
  });
});

describe("device rules in an update (issue 15): checked as create checks them, neither written nor recorded (runc 1.1.5 skips them)", () => {
  test("runc's access strings are accepted; the recorded rules stay the container's own", () => {
    for (const access of ["rwm", "mr", "wr", "rwmm"]) {
      const { writes, merged } = planUpdate(
        created,
        { devices: [{ allow: true, type: "c", major: 1, minor: 11, access }], pids: { limit: 5 } },
        true,
      );
      expect(writes).toEqual({ pids: { limit: 5 } });
      expect(merged.devices).toEqual(created.devices);
    }
  });

  test("the same rules as recorded (engines send their whole LinuxResources) are not worth a warning; others are", () => {
    expect(planUpdate(created, { devices: [{ allow: false, access: "rwm" }] }, true).devicesIgnored).toBe(false);
    expect(planUpdate(created, { devices: [{ allow: false, access: "mwr" }] }, true).devicesIgnored).toBe(false);
    expect(planUpdate(created, { devices: [{ allow: true, access: "rwm" }] }, true).devicesIgnored).toBe(true);
    expect(planUpdate(created, { memory: { limit: MiB } }, true).devicesIgnored).toBe(false);
  });

  test("an empty access is refused at its field, as create refuses it", () => {
    expect(() => planUpdate(created, { devices: [{ allow: true, type: "c", major: 1, minor: 11, access: "" }] }, true)).toThrow(
      "linux.resources.devices[0].access: must not be empty",
    );
  });
});
