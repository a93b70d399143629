/** The Runtime of the real world: the native addon and a state store under `root`. */
import { fsCgroupDriver } from "../cgroups";
import * as native from "../native";
import { StateStore } from "../state";
import { gatherHostFactsAndLayout } from "./host-facts";
import type { LifecycleNative, Runtime } from "./runtime";

export function defaultRuntime(root: string, warn: (msg: string) => void = () => undefined): Runtime {
  const surface: LifecycleNative = native.nativeSurface;
  return {
    native: surface,
    store: new StateStore(root, (fd, op, nb) => surface.flock(fd, op, nb)),
    cgroups: fsCgroupDriver,
    hostFacts: gatherHostFactsAndLayout,
    warn,
  };
}
