/** The one mount classification (src/spec/mount-kind.ts) the checks, create and the plan share. */
import { mountKind } from "../../src/spec";

test.each([
  [
    { type: "bind", source: "/a" },
    { bind: true, recursive: false, idmapOption: undefined, idmapped: false },
  ],
  [
    { type: "none", options: ["rbind", "ro"] },
    { bind: true, recursive: true, idmapOption: undefined, idmapped: false },
  ],
  [
    { type: "tmpfs", options: ["nosuid"] },
    { bind: false, recursive: false, idmapOption: undefined, idmapped: false },
  ],
  [{ options: ["bind", "idmap", "ridmap"] }, { bind: true, recursive: false, idmapOption: "ridmap", idmapped: true }],
  [
    { type: "bind", uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] },
    { bind: true, recursive: false, idmapOption: undefined, idmapped: true },
  ],
  // Empty mappings without the option: no idmap (with it, the container's own mappings).
  [
    { type: "bind", uidMappings: [], gidMappings: [] },
    { bind: true, recursive: false, idmapOption: undefined, idmapped: false },
  ],
  // Parsed JSON before the schema: what is not a string option is ignored.
  [
    { type: "bind", options: [1, null, "rbind"] },
    { bind: true, recursive: true, idmapOption: undefined, idmapped: false },
  ],
])("%j", (m, want) => {
  expect(mountKind(m)).toEqual(want);
});
