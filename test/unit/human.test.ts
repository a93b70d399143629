/** Sizes, ages and load progress as `image ls`, `image history` and `image load` print them (src/cli/human.ts, src/cli/image.ts). */
import { createdAgo, humanDuration, humanSize } from "../../src/cli/human";
import { progressPrinter } from "../../src/cli/image";

test("sizes: decimal units, three significant digits, as docker images prints them", () => {
  const table: [number, string][] = [
    [0, "0B"],
    [512, "512B"],
    [999, "999B"],
    [1000, "1kB"],
    [1024, "1.02kB"],
    [65_200_000, "65.2MB"],
    [2_129_920, "2.13MB"],
    [999_999, "1MB"],
    [1_500_000_000, "1.5GB"],
    [4_400_000_000_000, "4.4TB"],
  ];
  expect(table.map(([n]) => [n, humanSize(n)])).toEqual(table);
});

test("ages: go-units' HumanDuration steps", () => {
  const s = 1000;
  const h = 3600 * s;
  const table: [number, string][] = [
    [500, "Less than a second"],
    [s, "1 second"],
    [59 * s, "59 seconds"],
    [60 * s, "About a minute"],
    [59 * 60 * s, "59 minutes"],
    [h, "About an hour"],
    [47 * h, "47 hours"],
    [3 * 24 * h, "3 days"],
    [15 * 24 * h, "2 weeks"],
    [90 * 24 * h, "3 months"],
    [800 * 24 * h, "2 years"],
  ];
  expect(table.map(([ms]) => [ms, humanDuration(ms)])).toEqual(table);
});

test("CREATED: an age from the config's time, N/A without one (or Go's zero time)", () => {
  const now = Date.parse("2026-12-07T12:00:00Z");
  expect(createdAgo("2026-12-04T11:00:00.123456789Z", now)).toBe("3 days ago");
  expect(createdAgo("2026-12-07T11:59:30+00:00", now)).toBe("30 seconds ago");
  expect(createdAgo(undefined, now)).toBe("N/A");
  expect(createdAgo("", now)).toBe("N/A");
  expect(createdAgo("0001-01-01T00:00:00Z", now)).toBe("N/A");
  expect(createdAgo("yesterday", now)).toBe("N/A");
  expect(createdAgo("2027-01-01T00:00:00Z", now)).toBe("2027-01-01T00:00:00Z");
});

test("load progress: a line rewritten at most ten times a second, one line per finished layer", () => {
  let t = 0;
  let screen = "";
  const show = progressPrinter(
    (s) => (screen += s),
    () => t,
  );
  const layer = { phase: "layer", image: "x", layer: `sha256:${"ab".repeat(32)}`, index: 1, count: 2, total: 65_200_000 } as const;
  show({ ...layer, bytes: 0, done: false });
  t = 50;
  show({ ...layer, bytes: 1_000_000, done: false }); // within 100 ms: not drawn
  t = 150;
  show({ ...layer, bytes: 32_600_000, done: false });
  show({ ...layer, bytes: 65_200_000, done: true });
  show({ ...layer, index: 2, layer: `sha256:${"cd".repeat(32)}`, bytes: 10, total: 10, done: true, existing: true });
  expect(screen).toBe(
    "\r\x1b[KLayer 1/2 abababababab: 0B / 65.2MB (0%)" +
      "\r\x1b[KLayer 1/2 abababababab: 32.6MB / 65.2MB (50%)" +
      "\r\x1b[KLayer 1/2 abababababab: 65.2MB unpacked\n" +
      "Layer 2/2 cdcdcdcdcdcd: already exists\n",
  );
});
