/**
 * Bounds the scrypt work an orchestrator does at once. Logins, current-password checks and new
 * password hashes share it, so a flood of any of them costs at most `maxRunning` hashes of CPU at
 * a time and waits in a bounded queue; past the queue it is refused at once (issue 13, hole 6).
 * @module
 */

export interface HashGateOptions {
  /** scrypt runs at once, at most (each takes ~55 ms of one core). */
  maxRunning: number;
  /** Jobs waiting for a slot, at most; more are refused. */
  maxQueued: number;
}

/** scrypt on two of the four libuv threads leaves the event loop and the log room to breathe. */
export const DEFAULT_HASH_GATE: HashGateOptions = { maxRunning: 2, maxQueued: 64 };

export class HashGate {
  readonly #options: HashGateOptions;
  #running = 0;
  readonly #queue: Array<() => void> = [];

  constructor(options: HashGateOptions = DEFAULT_HASH_GATE) {
    this.#options = options;
  }

  /** Hash jobs running now (for tests and status). */
  get running(): number {
    return this.#running;
  }

  /**
   * Runs `job` once a slot is free; null, without running it, when the queue is full.
   * @throws whatever `job` throws (its slot is released first).
   */
  async run<T>(job: () => Promise<T>): Promise<{ value: T } | null> {
    if (this.#running >= this.#options.maxRunning) {
      if (this.#queue.length >= this.#options.maxQueued) return null;
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      return { value: await job() };
    } finally {
      // Hand the slot straight to the next job (the count stays), or free it.
      const next = this.#queue.shift();
      if (next === undefined) this.#running -= 1;
      else next();
    }
  }
}
