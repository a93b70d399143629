/**
 * The built bin/containerd-shim-berth-v1 (sh) without containerd: its flags, the `delete` it
 * answers without Node (a DeleteResponse, decoded here), and that its socket names are the ones
 * src/shim/flags.ts makes (the server and the Node entry use those).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { socketPath } from "../../src/shim/flags";
import { decode } from "../../src/shim/proto";

const repoRoot = join(__dirname, "../..");
const shim = join(repoRoot, "bin/containerd-shim-berth-v1");
const maybe = existsSync(shim) && existsSync(join(repoRoot, "bin/berth-shim-entry.js")) ? describe : describe.skip;
const isRoot = process.getuid?.() === 0;

maybe("bin/containerd-shim-berth-v1", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-shim-cli-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("-v and an unknown flag go to the Node entry", () => {
    const v = spawnSync(shim, ["-v"], { encoding: "utf8" });
    expect([v.status, v.stdout]).toEqual([0, expect.stringMatching(/^containerd-shim-berth-v1:\n {2}Version: /)]);
    const bad = spawnSync(shim, ["-nosuch", "start"], { encoding: "utf8" });
    expect([bad.status, bad.stderr]).toEqual([2, "containerd-shim-berth-v1: flag provided but not defined: -nosuch\n"]);
  });

  test("delete with nothing of berth's left: DeleteResponse{exit_status 137, exited_at now}", () => {
    const before = Date.now();
    const r = spawnSync(shim, ["-namespace", "none", "-address", "/none.sock", "-id", "x", "-bundle", join(dir, "nobundle"), "delete"]);
    expect(r.status).toBe(0);
    const res = decode<{ pid: number; exit_status: number; exited_at: { seconds: string; nanos: number } }>(
      "containerd.task.v2.DeleteResponse",
      r.stdout,
    );
    expect(res.exit_status).toBe(137);
    const at = Number(res.exited_at.seconds) * 1000 + res.exited_at.nanos / 1e6;
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
  });

  (isRoot ? test : test.skip)("delete removes the socket and pid file of a dead server, named as flags.ts names them", () => {
    const ns = `berth-cli-${process.pid}`;
    const address = join(dir, "containerd.sock");
    for (const [id, annotation] of [
      ["solo", undefined],
      ["member", "pod-1"],
    ] as const) {
      const bundle = join(dir, id);
      mkdirSync(bundle, { recursive: true });
      writeFileSync(
        join(bundle, "config.json"),
        JSON.stringify({ ociVersion: "1.0.2", annotations: annotation ? { "io.kubernetes.cri.sandbox-id": annotation } : {} }),
      );
      const sock = socketPath(address, ns, annotation ?? id);
      mkdirSync("/run/containerd/s", { recursive: true });
      writeFileSync(sock, "");
      const dead = spawnSync("true").pid!; // exited and reaped: not a shim server
      writeFileSync(`${sock}.pid`, String(dead));
      try {
        const r = spawnSync(shim, ["-namespace", ns, "-address", address, "-id", id, "-bundle", bundle, "delete"]);
        expect(r.status).toBe(0);
        expect([existsSync(sock), existsSync(`${sock}.pid`)]).toEqual([false, false]);
      } finally {
        rmSync(sock, { force: true });
        rmSync(`${sock}.pid`, { force: true });
      }
    }
  });
});
