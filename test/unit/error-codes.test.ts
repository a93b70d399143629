/** BerthError.code (src/errors.ts): the default when a throw site names none, kept by the copies, and never in the message. */
import { BerthError, problemsError, toBerthError } from "../../src/errors";

test("the code defaults by kind: internal, invalid-config (problems), system (errno), other", () => {
  expect(new BerthError({ op: "x", reason: "boom", internal: true }).code).toBe("internal");
  expect(problemsError("create", "c", [{ field: "process.cwd", reason: "must be an absolute path", severity: "error" }]).code).toBe(
    "invalid-config",
  );
  expect(new BerthError({ op: "x", reason: "open", errno: "ENOENT" }).code).toBe("system");
  expect(new BerthError({ op: "x", reason: "something" }).code).toBe("other");
  expect(toBerthError(Object.assign(new Error("x"), { code: "EACCES", syscall: "open", path: "/p" }), "create", "c").code).toBe("system");
  expect(toBerthError(new Error("surprise"), "create", "c").code).toBe("internal");
});

test("an explicit code survives withContext and withExitCode and is not rendered", () => {
  const e = new BerthError({ code: "container-not-found", op: "state", id: "c", reason: "container does not exist" });
  expect(e.message).toBe("berth: state c: container does not exist");
  expect(e.withContext("kill", "d").code).toBe("container-not-found");
  expect(e.withExitCode(255).code).toBe("container-not-found");
});

test("a missing native part is native-missing, one line naming the path, not internal", () => {
  const native = Object.assign(new Error("berth_native.node not found in /x/build/Release: reinstall berth"), {
    code: "ERR_BERTH_NATIVE_NOT_FOUND",
  });
  const e = toBerthError(native, "create", "c");
  expect(e.code).toBe("native-missing");
  expect(e.internal).toBe(false);
  expect(e.message).toBe("berth: create c: berth_native.node not found in /x/build/Release: reinstall berth");
});

test('a reason that quotes a value with a newline stays one line (found by the long config fuzz: mounts[i].destination "\\n")', () => {
  const e = new BerthError({
    op: "create",
    id: "c1",
    field: "mounts[5].destination",
    value: "\n",
    reason: 'is relative: deprecated, taken as "/\n"',
  });
  expect(e.message).toBe('berth: create c1: mounts[5].destination "\\n": is relative: deprecated, taken as "/\\n"');
  expect(e.message.split("\n")).toHaveLength(1);
});

test("one error is one line: an id, field or reason holding a newline is escaped (the long CLI fuzz found `kill $'a\\nb'`)", () => {
  const e = new BerthError({ op: "kill", id: "a\nb", field: "signal", value: "a b", reason: "unknown\tsignal" });
  expect(e.message).toBe('berth: kill a\\nb: signal "a b": unknown\\tsignal');
  expect(e.lines()).toHaveLength(1);
  expect(e.logLine()).toBe('kill a\\nb: signal "a b": unknown\\tsignal');
  const many = problemsError("create", "x\ry", [
    { field: "process.cwd", reason: "must be an absolute path", severity: "error" },
    { field: "hostname", reason: "too long", severity: "error" },
  ]);
  for (const line of many.lines()) expect(line).toMatch(/^berth: create x\\ry: [^\n\r]+$/);
});
