/**
 * What the CI fuzz tests share: a fixed seed (so `deno task test` is repeatable; set
 * MUTIRAO_FUZZ_SEED to explore others), a run per target, and one assertion that names the
 * replay command of any failure. Known product bugs are tolerated and printed.
 * @module
 */
import assert from "node:assert/strict";
import { formatReport, type FuzzTarget, runTarget, type TargetReport } from "./fuzz_runner.ts";

/** The seed CI runs with unless MUTIRAO_FUZZ_SEED says otherwise. */
export const CI_SEED = 20_250_601;

/** The seed for this run. */
export function ciSeed(): number {
  const text = Deno.env.get("MUTIRAO_FUZZ_SEED");
  if (text === undefined) return CI_SEED;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`Invalid MUTIRAO_FUZZ_SEED: expected a 32-bit integer, got "${text}"`);
  }
  return seed;
}

/**
 * Runs `target` for `iterations` and fails with its report (and replay command) on a failure.
 * @throws {AssertionError} when the run found a failure that is not a known bug.
 */
export function fuzzInCi(target: FuzzTarget, iterations: number): TargetReport {
  const report = runTarget(target, { seed: ciSeed(), iterations });
  console.log(formatReport(report));
  const frames = report.tallies.get("frames");
  if (frames !== undefined) console.log(`  ${frames} frames fed`);
  assert.equal(report.failure, null, formatReport(report));
  assert.equal(report.iterations > 0, true, "no iteration ran");
  return report;
}
