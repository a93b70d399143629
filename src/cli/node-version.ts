/**
 * The oldest Node berth runs on (package.json "engines": ">=20.5"). An older one gets one line
 * naming both versions, not a stack from an API it lacks. Pure: the version is an argument, so a
 * unit test can call it; bin/berth (entry.ts) passes process.versions.node.
 */
export const MIN_NODE = "20.5.0";

/** The line to print when `version` (process.versions.node, "20.4.1") is below MIN_NODE; undefined when it is new enough. */
export function nodeTooOld(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map((n) => Number.parseInt(n, 10) || 0);
  const [minMajor = 0, minMinor = 0] = MIN_NODE.split(".").map(Number);
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return undefined;
  return `berth: node v${version} is too old: berth needs node ${minMajor}.${minMinor} or later\n`;
}
