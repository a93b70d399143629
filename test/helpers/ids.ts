/**
 * The preamble the integration suites share: container ids unique to this test process (its
 * pid and a random number, so suites running side by side on one host never collide), each
 * remembered until the suite's afterEach deletes it.
 *
 *   const ids = testIds("exec");
 *   const id = ids.uniq("c");                          // t-exec-c-<pid>-<n>
 *   afterEach(() => ids.deleteAll((id) => run(["delete", "--force", id])));
 */
export interface TestIds {
  /** A new id, remembered for deleteAll. */
  uniq(name: string): string;
  /** Remember ids the test made itself (fixed names a script uses), for deleteAll. */
  push(...ids: string[]): void;
  /** The ids made since the last deleteAll. */
  readonly made: readonly string[];
  /** Pass each id made since the last call to `remove` (delete --force), and forget them; all get their turn. */
  deleteAll(remove: (id: string) => void): void;
}

/** `prefix`: the suite's short name ("exec", "cg"); none gives t-<name>-<pid>-<n>. */
export function testIds(prefix?: string): TestIds {
  const made: string[] = [];
  return {
    uniq(name) {
      const id = `t-${prefix ? `${prefix}-` : ""}${name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
      made.push(id);
      return id;
    },
    push(...ids) {
      made.push(...ids);
    },
    made,
    deleteAll(remove) {
      // Every id gets its turn even when one fails (an assertion in `remove`); the first
      // failure is thrown after.
      let failure: { error: unknown } | undefined;
      for (const id of made.splice(0)) {
        try {
          remove(id);
        } catch (error) {
          failure ??= { error };
        }
      }
      if (failure) throw failure.error;
    },
  };
}
