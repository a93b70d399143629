/**
 * Sizes and ages as Docker and podman print them in `images` and `history` (go-units'
 * HumanSize and HumanDuration): decimal units with three significant digits ("65.2MB",
 * "1.02kB", "512B"), and ages in the largest whole unit ("3 days ago", "About an hour ago").
 */

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/** 65_200_000 -> "65.2MB"; 1024 -> "1.02kB"; 0 -> "0B". */
export function humanSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  let digits = Number(size.toPrecision(3));
  // 999_999 rounds to 1000kB: that is 1MB.
  if (digits >= 1000 && unit < UNITS.length - 1) {
    digits = Number((digits / 1000).toPrecision(3));
    unit++;
  }
  return `${digits}${UNITS[unit]}`;
}

/** A duration as go-units' HumanDuration words it ("Less than a second", "2 weeks"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/**
 * An image config's `created` (RFC 3339) as "3 days ago"; "N/A" when the image has none or it
 * does not parse (Docker prints N/A for a zero time); a time in the future is printed as is.
 */
export function createdAgo(created: string | undefined, now = Date.now()): string {
  const t = created ? Date.parse(created) : NaN;
  if (Number.isNaN(t) || t <= 0) return "N/A";
  if (t > now + 1000) return created!;
  return `${humanDuration(now - t)} ago`;
}
