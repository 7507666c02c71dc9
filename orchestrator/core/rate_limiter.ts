/**
 * A token bucket per key (per user for submissions): `ratePerSec` tokens are
 * added each second up to `burst`; an action costing more tokens than are
 * left is refused with the time until it would fit. Pure: time comes in as an
 * argument; the table is bounded.
 * @module
 */

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Keys remembered at most; the least recently used are forgotten (a forgotten key starts full). */
const KEYS_MAX = 100_000;

export class RateLimiter {
  readonly #ratePerSec: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, Bucket>();

  /** A rate of 0 means unlimited. */
  constructor(options: { ratePerSec: number; burst: number }) {
    this.#ratePerSec = options.ratePerSec;
    this.#burst = Math.max(options.burst, options.ratePerSec);
  }

  /** Takes `cost` tokens if available; otherwise returns how long until they would be. */
  take(
    key: string,
    cost: number,
    nowMs: number,
  ): { ok: true } | { ok: false; retryAfterMs: number } {
    if (this.#ratePerSec <= 0) return { ok: true };
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, updatedMs: nowMs };
    this.#buckets.delete(key); // re-insert: map order is least recently used first
    const refill = (Math.max(0, nowMs - bucket.updatedMs) / 1000) * this.#ratePerSec;
    bucket.tokens = Math.min(this.#burst, bucket.tokens + refill);
    bucket.updatedMs = nowMs;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > KEYS_MAX) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (cost <= bucket.tokens) {
      bucket.tokens -= cost;
      return { ok: true };
    }
    if (cost > this.#burst) return { ok: false, retryAfterMs: Infinity };
    return {
      ok: false,
      retryAfterMs: Math.ceil(((cost - bucket.tokens) / this.#ratePerSec) * 1000),
    };
  }
}
