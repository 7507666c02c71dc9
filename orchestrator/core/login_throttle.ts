/**
 * Login throttling: after a few failed logins for a key (a user name, or a
 * source address), each further attempt must wait exponentially longer, and
 * after many the key is locked out for a while. A success clears the key.
 * Pure: time comes in as arguments; the table is bounded.
 * @module
 */

export interface LoginThrottleOptions {
  /** Failures allowed before any waiting is imposed. */
  freeFailures: number;
  /** Wait after the first failure past the free ones; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures after which the key is locked out for `lockoutMs`. */
  lockoutFailures: number;
  lockoutMs: number;
  /** Keys remembered at most; the oldest are forgotten first. */
  maxKeys: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  lockoutFailures: 10,
  lockoutMs: 5 * 60_000,
  maxKeys: 100_000,
};

interface Entry {
  failures: number;
  /** No attempt is allowed before this time. */
  blockedUntilMs: number;
}

export class LoginThrottle {
  readonly #options: LoginThrottleOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: Partial<LoginThrottleOptions> = {}) {
    this.#options = { ...DEFAULT_LOGIN_THROTTLE, ...options };
  }

  /** Milliseconds until any of `keys` may try again; 0 when all may try now. */
  waitMs(keys: readonly string[], nowMs: number): number {
    let wait = 0;
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry !== undefined) wait = Math.max(wait, entry.blockedUntilMs - nowMs);
    }
    return Math.max(0, wait);
  }

  /** Records a failed attempt for every key. */
  recordFailure(keys: readonly string[], nowMs: number): void {
    for (const key of keys) {
      const entry = this.#entries.get(key) ?? { failures: 0, blockedUntilMs: 0 };
      this.#entries.delete(key); // re-insert: the map's order is least recently failed first
      entry.failures += 1;
      entry.blockedUntilMs = nowMs + this.#delayFor(entry.failures);
      this.#entries.set(key, entry);
    }
    while (this.#entries.size > this.#options.maxKeys) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** A successful login clears its keys. */
  recordSuccess(keys: readonly string[]): void {
    for (const key of keys) this.#entries.delete(key);
  }

  #delayFor(failures: number): number {
    const o = this.#options;
    if (failures >= o.lockoutFailures) return o.lockoutMs;
    if (failures <= o.freeFailures) return 0;
    return Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (failures - o.freeFailures - 1));
  }
}
