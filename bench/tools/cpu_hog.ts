/**
 * A CPU hog for the false-suspicion benchmark: one busy loop, never yielding, until killed.
 * Started once per core so every core is saturated.
 *
 *   deno run bench/tools/cpu_hog.ts
 * @module
 */

let spins = 0;
// Never yields to the event loop on purpose: the point is a runnable process that never sleeps.
for (;;) spins = (spins + 1) % 1_000_000_007;
