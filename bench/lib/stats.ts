/**
 * Percentile summaries of measured samples (latencies, gaps, recovery times).
 * @module
 */

/** p50/p90/p99/max of a set of samples, in the samples' unit. */
export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The nearest-rank percentile `p` (0-100) of sorted samples: the smallest sample such that at
 * least p% of samples are no greater. Nearest rank never invents a value that was not measured.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

/** Summarizes `samples` (any order). An empty list gives NaN figures and count 0. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1],
    mean: sorted.length === 0 ? NaN : sum / sorted.length,
  };
}

/** The median of `samples`, by nearest rank. */
export function median(samples: readonly number[]): number {
  return summarize(samples).p50;
}

/** Rounds to `digits` decimals, for tables and JSON that stay readable. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
