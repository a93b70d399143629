/**
 * What kind of mount a config entry asks for, decided in one place for the semantic checks, the
 * host check, create and the plan: a bind mount or not, recursive or not, idmapped or not.
 * Takes the entry as parsed JSON too (the semantic checks see it before it is typed).
 */
export interface MountKind {
  /** type "bind", or a "bind" / "rbind" option. */
  bind: boolean;
  /** "rbind": the source's submounts come along. */
  recursive: boolean;
  /** The idmap option, if given (the last one counts): "ridmap" maps the submounts too. */
  idmapOption?: "idmap" | "ridmap";
  /**
   * An idmapped mount: the option, or non-empty uidMappings / gidMappings (config.md "Mounts";
   * empty mappings with the option mean the container's own user namespace's).
   */
  idmapped: boolean;
}

export interface MountLike {
  type?: unknown;
  options?: unknown;
  uidMappings?: unknown;
  gidMappings?: unknown;
}

export function mountKind(m: MountLike): MountKind {
  const options = Array.isArray(m.options) ? m.options.filter((o): o is string => typeof o === "string") : [];
  let bind = m.type === "bind";
  let recursive = false;
  let idmapOption: MountKind["idmapOption"];
  for (const o of options) {
    if (o === "bind" || o === "rbind") bind = true;
    if (o === "rbind") recursive = true;
    if (o === "idmap" || o === "ridmap") idmapOption = o;
  }
  const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;
  const idmapped = idmapOption !== undefined || nonEmpty(m.uidMappings) || nonEmpty(m.gidMappings);
  return { bind, recursive, idmapOption, idmapped };
}
