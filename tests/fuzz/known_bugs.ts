/**
 * Product bugs the fuzzers found that are not fixed yet. Each is recognized precisely from the
 * failure it causes; `deno task test` and `deno task fuzz` count and report them (with a replay
 * command) instead of failing, so the rest of the run still finds everything else, and
 * `deno task fuzz --strict` fails on them. Remove an entry once its bug is fixed (and add its minimal
 * reproduction to fuzz_regressions_test.ts).
 * @module
 */

/** A known bug: where it is, what it does, and how its failure is recognized. */
export interface KnownBug {
  where: string;
  summary: string;
  /** True when `error`, thrown while fuzzing `target`, is this bug. */
  recognize(target: string, error: unknown): boolean;
}

/** None open: every bug the fuzzers found is fixed (fuzz_regressions_test.ts guards them). */
export const KNOWN_BUG_IDS: readonly string[] = [];
export type KnownBugId = string;

export const KNOWN_BUGS: Record<KnownBugId, KnownBug> = {};

/** The known bug `error` is, or null. */
export function recognizeKnownBug(target: string, error: unknown): KnownBugId | null {
  for (const id of KNOWN_BUG_IDS) {
    if (KNOWN_BUGS[id].recognize(target, error)) return id;
  }
  return null;
}
