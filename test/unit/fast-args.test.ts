/** The fast path's parser for create and run (src/cli/fast-args.ts): what it takes, and what it leaves to yargs. */
import { parseFast } from "../../src/cli/fast-args";
import { IMAGE_ANNOTATION } from "../../src/container/image";
import { IMAGE_ANNOTATION as ROOM_IMAGE_ANNOTATION } from "../../src/image";

test("create and run in the forms engines use, globals before or after the verb", () => {
  const c = parseFast([
    "--root",
    "/r",
    "--log",
    "/l",
    "--log-format",
    "json",
    "create",
    "--bundle",
    "/b",
    "--pid-file",
    "/p",
    "--console-socket",
    "/s",
    "--no-pivot",
    "--no-new-keyring",
    "--preserve-fds",
    "2",
    "c1",
  ]);
  expect(c).toMatchObject({
    verb: "create",
    index: 6,
    id: "c1",
    root: "/r",
    log: "/l",
    logFormat: "json",
    bundle: "/b",
    pidFile: "/p",
    consoleSocket: "/s",
    noPivot: true,
    noNewKeyring: true,
    preserveFds: 2,
    detach: false,
  });
  expect(parseFast(["run", "-d", "-b", "/b", "--root=/r", "c1"])).toMatchObject({
    verb: "run",
    index: 0,
    id: "c1",
    root: "/r",
    bundle: "/b",
    detach: true,
    preserveFds: 0,
  });
  expect(parseFast(["run", "--detach", "--bundle=/b", "c1", "--debug"])).toMatchObject({ detach: true, debug: true, bundle: "/b" });
  expect(parseFast(["create", "c1"])).toMatchObject({
    verb: "create",
    id: "c1",
    root: "/run/berth",
    bundle: undefined,
    pidFile: undefined,
  });
});

test("kill's signal: a name, or a number from 0 (exists?) to 99, as yargs would give it", () => {
  expect(parseFast(["kill", "c1", "0"])).toMatchObject({ verb: "kill", id: "c1", signal: 0, all: false });
  expect(parseFast(["kill", "--all", "c1", "0"])).toMatchObject({ verb: "kill", id: "c1", signal: 0, all: true });
  expect(parseFast(["kill", "c1", "9"])).toMatchObject({ signal: 9 });
  expect(parseFast(["kill", "c1", "KILL"])).toMatchObject({ signal: "KILL" });
});

test("anything unusual goes to the full CLI", () => {
  for (const args of [
    ["create"],
    ["create", "c1", "c2"],
    ["create", "--bundle", "c1"],
    ["create", "--bundle", "/b", "--bundle", "/c", "c1"],
    ["create", "--bogus", "c1"],
    ["create", "-d", "c1"],
    ["run", "-d", "-d", "c1"],
    ["create", "--preserve-fds", "x", "c1"],
    ["create", "--preserve-fds", "-1", "c1"],
    ["create", "--no-pivot=true", "c1"],
    ["run", "--keep", "c1"],
    ["run", "--pidfd-socket", "/s", "c1"],
    ["run", "--no-subreaper", "c1"],
    ["create", "--root", "/a", "--root", "/b", "c1"],
    ["--root", "/a", "create", "--root", "/b", "c1"],
    ["create", "--log-format", "xml", "c1"],
    ["create", "--help"],
    ["create", "-h", "c1"],
    ["create", "--", "c1"],
    ["create", "123"],
    ["create", "--image-root", "/i", "c1"],
    ["create", "-bd", "c1"],
    // found by the CLI fuzzer: a --format without its value was taken as the default
    ["list", "--format"],
    ["list", "-q", "-f"],
  ]) {
    expect([args, parseFast(args)]).toEqual([args, undefined]);
  }
});

test("the container room's IMAGE_ANNOTATION is the image room's", () => {
  expect(IMAGE_ANNOTATION).toBe(ROOM_IMAGE_ANNOTATION);
});
