/**
 * A histogram of durations: fixed upper bounds in seconds, a count per bucket, a sum and a count
 * (Prometheus' model; orchestrator/http/prometheus_text.ts spells it). Pure and allocation-free
 * to observe (a loop over the bounds and a typed-array increment), so cores and shells may record
 * on hot paths: each fsync, each task started or finished.
 * @module
 */

/** Bounds for latencies from a fraction of a millisecond (an fsync) to seconds. */
export const LATENCY_BOUNDS_SECONDS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** Bounds for durations from milliseconds to an hour (waiting, run times, heartbeat gaps). */
export const DURATION_BOUNDS_SECONDS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
  900,
  3600,
];

/** A histogram read at one moment: cumulative counts of observations ≤ each bound. */
export interface HistogramReading {
  bounds: readonly number[];
  /** cumulative[i]: observations ≤ bounds[i]. */
  cumulative: readonly number[];
  sum: number;
  count: number;
}

export class Histogram {
  readonly bounds: readonly number[];
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  /**
   * @param bounds bucket upper bounds in seconds, finite and strictly increasing
   * @throws {RangeError} when the bounds are empty, not finite or not increasing (a bug)
   */
  constructor(bounds: readonly number[]) {
    if (bounds.length === 0) throw new RangeError("Cannot make a histogram without bounds");
    for (let i = 0; i < bounds.length; i++) {
      if (!Number.isFinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
        throw new RangeError(
          `Cannot make a histogram: bounds must be finite and increasing, got ${bounds}`,
        );
      }
    }
    this.bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** Records one observation, in seconds; NaN and negative values (clock steps) are dropped. */
  observe(seconds: number): void {
    if (!(seconds >= 0)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    this.#counts[i]++;
    this.#sum += seconds;
    this.#count++;
  }

  /** Observations so far. */
  get count(): number {
    return this.#count;
  }

  /** The histogram now (a copy: later observations do not change it). */
  read(): HistogramReading {
    const cumulative: number[] = [];
    let total = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      total += this.#counts[i];
      cumulative.push(total);
    }
    return { bounds: this.bounds, cumulative, sum: this.#sum, count: this.#count };
  }
}
