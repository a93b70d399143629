/**
 * A resources request for `update` (the CLI's --resources document, or the library's object),
 * checked before anything is written: a LinuxResources object, validated with the schema of
 * config.json's linux.resources, so problems carry the same field paths.
 */
import { BerthError, problemsError } from "../errors";
import { defaultSpec, validateConfig, type Resources } from "../spec";

export function checkResourcesRequest(id: string, request: unknown, field: string, value?: string): Resources {
  if (!request || typeof request !== "object" || Array.isArray(request))
    throw new BerthError({ code: "invalid-argument", op: "update", id, field, value, reason: "must be a LinuxResources object" });
  const probe = defaultSpec();
  probe.linux = { ...probe.linux, resources: request as Resources };
  const checked = validateConfig(probe);
  if (!checked.value)
    throw problemsError(
      "update",
      id,
      checked.problems.filter((p) => p.field?.startsWith("linux.resources")),
    );
  return request as Resources;
}
