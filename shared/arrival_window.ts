/**
 * The gaps between a peer's recent signs of life (heartbeats, keepalives), and the phi accrual
 * suspicion level they imply (Hayashibara et al.; as in Cassandra and Akka): phi is -log10 of the
 * chance that a live peer stays silent this long, given the gaps seen so far. A steady peer is
 * suspected soon after it falls silent; an erratic one (a starved machine, a lossy network) is
 * given longer, with no threshold tuned by hand. Pure: times come in as arguments.
 *
 * ```ts
 * const window = new ArrivalWindow({ expectedGapMs: 500, minStdDevMs: 100 });
 * window.record(0); window.record(500);
 * window.silenceLimitMs(8); // ≈ 1020: silent longer than this, phi exceeds 8
 * ```
 * @module
 */
import { assert } from "./assert.ts";

export interface ArrivalWindowOptions {
  /** The gap assumed before any is observed (the configured interval). */
  expectedGapMs: number;
  /** A floor under the observed standard deviation, so a very steady peer is not hair-trigger. */
  minStdDevMs: number;
  /** Gaps remembered (default 32): old behaviour is forgotten, memory stays bounded. */
  capacity?: number;
}

/** Logistic approximation of the normal tail used by Akka's detector; z ≥ 0. */
function tailProbability(z: number): number {
  const e = Math.exp(-z * (1.5976 + 0.070566 * z * z));
  return e / (1 + e);
}

/** The z at which the tail probability is 10^-phi (bisection; the tail falls monotonically). */
function zForPhi(phi: number): number {
  const target = 10 ** -phi;
  let low = 0;
  let high = 40;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (tailProbability(mid) > target) low = mid;
    else high = mid;
  }
  return high;
}

const zCache = new Map<number, number>();

export class ArrivalWindow {
  readonly #options: Required<ArrivalWindowOptions>;
  readonly #gaps: number[] = [];
  #next = 0;
  #sum = 0;
  #sumSquares = 0;
  #lastMs: number | null = null;

  constructor(options: ArrivalWindowOptions) {
    assert(options.expectedGapMs > 0, "expected gap must be positive");
    assert(options.minStdDevMs > 0, "minimum standard deviation must be positive");
    this.#options = { ...options, capacity: options.capacity ?? 32 };
    assert(this.#options.capacity >= 1, "arrival window needs room for a gap");
  }

  /** When the last sign of life arrived (or counts as having arrived), or null if never. */
  get lastMs(): number | null {
    return this.#lastMs;
  }

  /** Gaps observed and remembered. */
  get size(): number {
    return this.#gaps.length;
  }

  /** A sign of life at `nowMs`: the gap since the last one joins the window. */
  record(nowMs: number): void {
    const last = this.#lastMs;
    if (last !== null && nowMs <= last) return;
    if (last !== null) this.#addGap(nowMs - last);
    this.#lastMs = nowMs;
  }

  /** Counts the peer as seen at `nowMs` without observing a gap (a grace period, a restart). */
  reset(nowMs: number): void {
    if (this.#lastMs === null || this.#lastMs < nowMs) this.#lastMs = nowMs;
  }

  /** Moves the last sighting later by `ms`, never past `nowMs` (this node's own stall). */
  shift(ms: number, nowMs: number): void {
    if (this.#lastMs === null) return;
    this.#lastMs = Math.max(this.#lastMs, Math.min(this.#lastMs + ms, nowMs));
  }

  /** The mean gap observed, or the expected gap before any. */
  meanGapMs(): number {
    return this.#gaps.length === 0 ? this.#options.expectedGapMs : this.#sum / this.#gaps.length;
  }

  /** The standard deviation of the gaps, never below the configured floor. */
  stdDevMs(): number {
    const n = this.#gaps.length;
    if (n < 2) return this.#options.minStdDevMs;
    const mean = this.#sum / n;
    const variance = Math.max(0, this.#sumSquares / n - mean * mean);
    return Math.max(this.#options.minStdDevMs, Math.sqrt(variance));
  }

  /** Suspicion after `silentMs` without a sign of life: -log10 P(a live peer is this silent). */
  phi(silentMs: number): number {
    const z = (silentMs - this.meanGapMs()) / this.stdDevMs();
    if (z <= 0) return 0;
    // Past z ≈ 20 the tail underflows: the peer is as suspect as it can be.
    return Math.min(300, -Math.log10(Math.max(tailProbability(z), 1e-300)));
  }

  /** The silence after which phi exceeds `phiThreshold`. */
  silenceLimitMs(phiThreshold: number): number {
    let z = zCache.get(phiThreshold);
    if (z === undefined) zCache.set(phiThreshold, z = zForPhi(phiThreshold));
    return this.meanGapMs() + z * this.stdDevMs();
  }

  #addGap(gapMs: number): void {
    const capacity = this.#options.capacity;
    if (this.#gaps.length < capacity) {
      this.#gaps.push(gapMs);
    } else {
      const old = this.#gaps[this.#next];
      this.#sum -= old;
      this.#sumSquares -= old * old;
      this.#gaps[this.#next] = gapMs;
      this.#next = (this.#next + 1) % capacity;
    }
    this.#sum += gapMs;
    this.#sumSquares += gapMs * gapMs;
  }
}
