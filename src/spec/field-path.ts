/**
 * Field paths as users read them: `mounts[3].destination`, `linux.sysctl["net.ipv4.ip_forward"]`.
 * ajv reports JSON Pointers (`/mounts/3/destination`); everything berth prints uses this form.
 */

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Append one step (a property name or an array index) to a field path. */
export function joinField(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  if (identifier.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/** `/mounts/3/destination` -> `mounts[3].destination` (RFC 6901 escapes decoded). */
export function pointerToField(pointer: string, data?: unknown): string {
  if (pointer === "" || pointer === "/") return "";
  let path = "";
  let node: unknown = data;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    // A numeric step is an index only where the data really is an array; annotation keys
    // such as "0" stay quoted properties.
    const isIndex = /^\d+$/.test(key) && (node === undefined || Array.isArray(node));
    path = joinField(path, isIndex ? Number(key) : key);
    node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return path;
}

/** The value found at a JSON Pointer, or undefined. */
export function valueAt(data: unknown, pointer: string): unknown {
  if (pointer === "") return data;
  let node: unknown = data;
  for (const raw of pointer.split("/").slice(1)) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[raw.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node;
}
