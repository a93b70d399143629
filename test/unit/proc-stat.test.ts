/** /proc/<pid>/stat as berth reads it (proc(5)): by position, after the last ")". */
import { readFileSync } from "node:fs";
import { parseProcStat, procStat } from "../../src/container/proc";

// Fields 3..52 of a real line, after a command name with spaces and parentheses in it.
const tail =
  "Z 77 4242 4242 0 -1 4194560 120 0 0 0 3 5 0 0 20 0 1 0 987654 4096 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 9";

test("state, ppid, start time and exit code, whatever the command name holds", () => {
  for (const comm of ["sh", "a b", "x) S 1 2 (y", ")"]) {
    expect(parseProcStat(`4242 (${comm}) ${tail}\n`)).toEqual({ state: "Z", ppid: 77, startTime: "987654", exitCode: 9 });
  }
});

test("this process, as the kernel writes it", () => {
  const text = readFileSync(`/proc/${process.pid}/stat`, "utf8");
  const fields = text
    .slice(text.lastIndexOf(")") + 2)
    .trim()
    .split(" ");
  expect(procStat(process.pid)).toEqual({ state: fields[0], ppid: process.ppid, startTime: fields[19], exitCode: 0 });
  expect(procStat(2 ** 22 + 1)).toBeUndefined();
});
