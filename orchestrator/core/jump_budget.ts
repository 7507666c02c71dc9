/**
 * How far untrusted senders (clients, peers, heartbeats) may push a node's Lamport clock ahead, in
 * total over time: a token bucket of clock units. One message may jump at most
 * LAMPORT_CLIENT_JUMP_MAX, but without a budget 40,000 frames a second of that size would bring
 * the clock to LAMPORT_MAX in about a day, after which nothing could be stamped. With the default
 * budget (2^20 units a second) that takes over 60 years; honest senders follow the node's clock and
 * jump by a few units, far inside it.
 * @module
 */

/** Clock units untrusted senders may add per second (refill) and at once (burst). */
export const JUMP_BUDGET_PER_SEC = 2 ** 20;
export const JUMP_BUDGET_BURST = 2 ** 21;

export class JumpBudget {
  readonly #perSec: number;
  readonly #burst: number;
  #available: number;
  #lastMs: number | null = null;

  constructor(options: { perSec: number; burst: number } = {
    perSec: JUMP_BUDGET_PER_SEC,
    burst: JUMP_BUDGET_BURST,
  }) {
    this.#perSec = options.perSec;
    this.#burst = options.burst;
    this.#available = options.burst;
  }

  /** Grants up to `wanted` units at `nowMs` (what is left of the budget) and spends them. */
  take(wanted: number, nowMs: number): number {
    if (this.#lastMs !== null && nowMs > this.#lastMs) {
      this.#available = Math.min(
        this.#burst,
        this.#available + ((nowMs - this.#lastMs) / 1000) * this.#perSec,
      );
    }
    this.#lastMs = Math.max(this.#lastMs ?? nowMs, nowMs);
    const granted = Math.max(0, Math.min(wanted, Math.floor(this.#available)));
    this.#available -= granted;
    return granted;
  }
}
