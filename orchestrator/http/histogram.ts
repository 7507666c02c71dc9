/**
 * A Prometheus histogram: fixed upper bounds in seconds, counts per bucket, a sum and a count.
 * Pure and allocation-free to observe (one typed-array increment), so the shell may record on
 * hot paths (each fsync, each applied task event); `toFamily` spells the cumulative `le` buckets,
 * `_sum` and `_count` only at a scrape.
 * @module
 */
import type { MetricFamily, Sample } from "./prometheus_text.ts";

/** Bounds for latencies from a fraction of a millisecond (an fsync) to a few seconds. */
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

/** Bounds for durations from milliseconds to an hour (queueing, run times, heartbeat gaps). */
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

export class Histogram {
  readonly name: string;
  readonly help: string;
  readonly #bounds: readonly number[];
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  /**
   * @param name `mutirao_…_seconds`, without the `_bucket`/`_sum`/`_count` suffixes
   * @param options help text and the bucket upper bounds, strictly increasing and finite
   * @throws {RangeError} when the bounds are empty, not finite or not increasing (a bug)
   */
  constructor(name: string, options: { help: string; bounds: readonly number[] }) {
    const { bounds } = options;
    if (bounds.length === 0) throw new RangeError(`Cannot make histogram "${name}": no bounds`);
    for (let i = 0; i < bounds.length; i++) {
      if (!Number.isFinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
        throw new RangeError(
          `Cannot make histogram "${name}": bounds must be finite and increasing, got ${bounds}`,
        );
      }
    }
    this.name = name;
    this.help = options.help;
    this.#bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** Records one observation, in seconds; NaN and negative values (clock steps) are dropped. */
  observe(seconds: number): void {
    if (!(seconds >= 0)) return;
    const bounds = this.#bounds;
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

  /** The metric family: cumulative `_bucket{le}` samples ending in `+Inf`, `_sum`, `_count`. */
  toFamily(): MetricFamily {
    const samples: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i];
      samples.push({
        suffix: "_bucket",
        labels: { le: String(this.#bounds[i]) },
        value: cumulative,
      });
    }
    samples.push({ suffix: "_bucket", labels: { le: "+Inf" }, value: this.#count });
    samples.push({ suffix: "_sum", value: this.#sum });
    samples.push({ suffix: "_count", value: this.#count });
    return { name: this.name, help: this.help, type: "histogram", samples };
  }
}
