/**
 * Poll a condition until it holds, with a deadline: tests wait for what they can observe, never
 * for a fixed time. Resolves to the condition's (truthy) value.
 */
export async function until<T>(what: string, fn: () => T | undefined | false, ms = 10_000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
