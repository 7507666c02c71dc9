// Proves that 300 seeded runs of the whole system — chaos (crashes, torn writes, pauses, partitions,
// lossy networks), then healing, then convergence within a time budget — break no safety guarantee
// and converge; known product bugs (known_bugs.ts) are tolerated, counted and reported loudly.
import assert from "node:assert/strict";
import { KNOWN_BUGS, type KnownBugId, STRICT, TOLERATE_KNOWN_BUGS } from "./known_bugs.ts";
import { runSeed, SimFailure } from "./run_seed.ts";

/** Seeds run in CI: 1..CI_SEEDS (about 30 s on a 2-core machine). */
const CI_SEEDS = 300;
const FIRST_SEED = 1;

Deno.test(`${CI_SEEDS} seeds: chaos, heal, convergence, with safety checks after every step`, async () => {
  const failures: string[] = [];
  const known = new Map<KnownBugId, { hits: number; seeds: number[] }>();
  let stoppedEarly = 0;
  for (let seed = FIRST_SEED; seed < FIRST_SEED + CI_SEEDS; seed++) {
    try {
      const summary = await runSeed(seed, { knownBugs: TOLERATE_KNOWN_BUGS });
      if (summary.stoppedBy !== null) stoppedEarly += 1;
      for (
        const [id, hits] of Object.entries(summary.knownBugHits) as Array<[KnownBugId, number]>
      ) {
        const entry = known.get(id) ?? { hits: 0, seeds: [] };
        entry.hits += hits;
        entry.seeds.push(seed);
        known.set(id, entry);
      }
    } catch (error) {
      if (!(error instanceof SimFailure)) throw error;
      failures.push(
        `${error.message.split("\n")[0]}\n  replay: deno task sim --seed ${seed}\n  ` +
          error.traceTail.slice(-15).join("\n  "),
      );
    }
  }
  for (const [id, { hits, seeds }] of known) {
    console.log(
      `KNOWN PRODUCT BUG ${id} (${KNOWN_BUGS[id].where}) hit ${hits} time(s) in ${seeds.length} ` +
        `of ${CI_SEEDS} seeds, tolerated; replay: deno task sim --seed ${seeds[0]} --fail-on ${id}`,
    );
  }
  if (stoppedEarly > 0) console.log(`${stoppedEarly} seed(s) stopped early by a known bug`);
  assert.equal(
    failures.length,
    0,
    `${failures.length} seed(s) failed:\n${failures.slice(0, 5).join("\n")}`,
  );
});

/**
 * Seeds that failed in soaks, replayed strictly in CI. (A change to the simulator's draws can
 * change what a seed runs; these stay cheap guards either way.)
 * - 50949: a submitBatch acknowledged just before a partition, retried until the session was
 *   revoked: the checker dropped it from its task's history (history_check.ts, isIndeterminate).
 * - 292: an admin's password change retried after a lost reply revoked the sessions opened in
 *   between (fixed in the product: userPasswd carries a change id).
 * - 7143: a killed process's unsynced writes survive it; recovery found more than was durable
 *   (the check was too strict; the product now fsyncs what it recovered).
 * - 55354, 56677: a backlog of long tasks on one slot needs more than the fixed budget to drain
 *   (the budget now includes the queued work).
 * - 56008: a logout whose session a revocation closed meanwhile is done (the model allows it).
 * - 2182: a worker paused right after it registered had not read its answer yet (the stranded
 *   registration probe now waits for it).
 * - 53344 (and 54088): recovery removed an unfinished snapshot before refusing to start on damage
 *   (fixed in the product: repairs happen only once nothing is refused).
 * - 53873: a write in flight that completed at a crash may have truncated the log.
 * - 56874: a snapshot removed the only segment holding the vote while the active segment was
 *   still empty (fixed in the product: covered segments stay until the active one has a record).
 * - 85915, 42946: a deposed leader acknowledged a worker's result as late (its state lacked the new
 *   leader's assignment), the worker dropped it and the task stayed running for ever (fixed in the
 *   product: reports about attempts a node does not know wait for a read barrier).
 * - 49126: a rejoin ended on a new leader's first commit index (0), so an empty log voted again
 *   and the logs diverged (fixed in Raft: a rejoin ends only holding an entry committed in the
 *   leader's own term).
 */
const REGRESSION_SEEDS = [
  50949,
  292,
  7143,
  55354,
  56008,
  56677,
  2182,
  53344,
  53873,
  56874,
  85915,
  42946,
  49126,
  // Sending assignments ahead of their commit (issue 12): a result refused as out of Lamport order
  // (80, 228), a worker that remembered an ignored result or an aborted dispatch as done (128,
  // 182), a second worker's result held back by a refused one's (1013); and a misdirected write
  // that left a gap in the log, now refused as corruption (933).
  80,
  128,
  182,
  228,
  933,
  1013,
];

Deno.test("seeds that once failed in soaks pass", async () => {
  for (const seed of REGRESSION_SEEDS) {
    await runSeed(seed, { knownBugs: STRICT });
  }
});
