/** Signal names and numbers as `kill` accepts them: KILL, SIGKILL, 9 (runc accepts all three), and 0. */
import { constants } from "node:os";
import { BerthError } from "../errors";

const byName = constants.signals as Record<string, number>;

export function parseSignal(op: string, id: string, value: string | number | undefined): number {
  if (value === undefined || value === "") return byName.SIGTERM!;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    // 0 sends nothing: kill(2)'s "does it exist?", which runc passes through (`kill ID 0`).
    if (n >= 0 && n <= 64) return n;
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = byName[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
    if (rt) return 34 + Number(rt[1] ?? 0);
  }
  throw new BerthError({ code: "invalid-argument", op, id, field: "signal", value: text, reason: "unknown signal" });
}
