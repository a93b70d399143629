/**
 * Network interface names as the kernel takes them (config-linux.md "Network Devices"): the
 * keys of linux.netDevices name host interfaces, `name` the interface inside the container.
 *
 * The kernel's rules (net/core/dev.c dev_valid_name, __dev_alloc_name):
 *   - not empty, at most IFNAMSIZ - 1 = 15 bytes (the 16th is the NUL);
 *   - not "." or ".." (each interface has a directory in /sys/class/net);
 *   - no "/", ":" or white space (the kernel's isspace: tab, LF, VT, FF, CR, space, and the
 *     Latin-1 no-break space 0xa0, which as a byte also occurs inside UTF-8 characters);
 *   - a name holding "%" is a template: exactly one "%", followed by "d"; the kernel picks the
 *     lowest free number ("eth%d" -> "eth0", "eth1", ...). Only a new name can be one: an
 *     existing interface never has a "%" in its name.
 * runc checks less (empty, length, "/", ":", " "); berth checks what the kernel will refuse,
 * so the user reads it at the field before anything is made.
 */

export const IFNAMSIZ = 16;

/** Where an entry of linux.netDevices is reported: `linux.netDevices["eth0"]`. */
export function netDeviceField(key: string): string {
  // Always the bracket form: a key is an interface name, not a property (eth0 would otherwise
  // read as linux.netDevices.eth0).
  return `linux.netDevices[${JSON.stringify(key)}]`;
}

/** Whether a (valid) name is a template the kernel fills in. */
export function isNameTemplate(name: string): boolean {
  return name.includes("%");
}

const spaceBytes = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]);

/**
 * Why the kernel would refuse `name` as an interface name, or undefined if it takes it.
 * `template`: whether a "%d" template is allowed (a new name) or not (an existing interface).
 */
export function interfaceNameProblem(name: string, template: boolean): string | undefined {
  if (name === "") return "an interface name must not be empty";
  const bytes = new TextEncoder().encode(name);
  if (bytes.length >= IFNAMSIZ)
    return `is ${bytes.length} bytes long: an interface name has at most ${IFNAMSIZ - 1} (IFNAMSIZ is ${IFNAMSIZ}, with the NUL)`;
  if (name === "." || name === "..") return 'is not a valid interface name (the kernel refuses "." and "..")';
  if (name.includes("\0")) return "an interface name must not contain a NUL character";
  if (name.includes("/")) return 'an interface name must not contain "/"';
  if (name.includes(":")) return 'an interface name must not contain ":"';
  if (bytes.some((b) => spaceBytes.has(b))) return "an interface name must not contain white space";
  if (name.includes("%")) {
    if (!template) return "names an existing interface, so it cannot be a %d template";
    const at = name.indexOf("%");
    if (name[at + 1] !== "d" || name.indexOf("%", at + 1) >= 0) return 'a name template must hold exactly one "%", as "%d" (e.g. "eth%d")';
  }
  return undefined;
}

/**
 * Whether `actual` is a name the kernel could have made from `template`: the text around the
 * "%d" with a decimal number in its place.
 */
export function matchesNameTemplate(template: string, actual: string): boolean {
  const at = template.indexOf("%d");
  if (at < 0) return template === actual;
  const head = template.slice(0, at);
  const tail = template.slice(at + 2);
  if (!actual.startsWith(head) || !actual.endsWith(tail) || actual.length <= head.length + tail.length) return false;
  return /^(0|[1-9]\d*)$/.test(actual.slice(head.length, actual.length - tail.length));
}
