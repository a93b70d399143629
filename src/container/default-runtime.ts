/**
 * The Runtime of the real world: the native addon and a state store under `root`. This file is
 * the only one of container/ that loads src/native's values (eslint.config.mjs holds it): every
 * other one gets the addon's calls and the host facts from the Runtime it is given, so that
 * test/unit runs over test/helpers/fake-runtime.ts without a native build.
 */
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
    hostFacts: () => gatherHostFactsAndLayout(native.nativeSurface),
    warn,
  };
}
