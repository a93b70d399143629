/** A PlanInput for the plan builders' table tests: the default spec (no terminal), edited. */
import type { PlanInput } from "../../src/plan";
import { defaultSpec, type Spec } from "../../src/spec";

export function planInput(mutate: (s: Spec) => void = () => undefined, extra: Partial<PlanInput> = {}): PlanInput {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  mutate(spec);
  return {
    spec,
    rootfs: "/b/rootfs",
    bundle: "/b",
    fds: { fifo: 3, namespaces: {} },
    bindSourceIsFile: () => false,
    cgroup: { mode: "unified", hierarchies: [], v2Mount: "/sys/fs/cgroup", path: "/berth/c1", intoUnified: true },
    capLastCap: 40,
    ...extra,
  };
}
