/**
 * Login throttling. Every password check (a login, or the current password of a password
 * change) is admitted by `begin` and reported by `finish`; an attempt counts as pending from the
 * moment it is admitted, so attempts fired at once cannot all slip past a throttle that would
 * stop them one after the other (issue 13, hole 1). Three tiers of keys:
 *
 * - a user name from one source address (`pair`): strict, and locks out after many failures.
 *   The owner's address is another pair, so an attacker's address cannot lock the owner out;
 * - a source address, whatever the names (`source`): an address guessing many accounts;
 * - a user name from addresses it has not recently logged in from (`user`): the brake on
 *   guessing one account from many addresses. It never locks out and its wait is capped, and
 *   the owner's known addresses skip it, so it cannot shut the owner out (issue 13, hole 4).
 *
 * Failures decay (one is forgotten per `failureDecayMs`), so a lockout ends for good unless the
 * failures go on. Pure: time comes in as arguments; the tables are bounded.
 * @module
 */
import { assert } from "../../shared/assert.ts";

/** How one tier of keys slows attempts down. */
export interface ThrottleTier {
  /** Failures (pending attempts included) allowed before any waiting is imposed. */
  freeFailures: number;
  /** Wait after the first failure past the free ones; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures at which the key is locked out for `lockoutMs`; Infinity: never. */
  lockoutFailures: number;
  lockoutMs: number;
  /** Attempts of this key being checked at once, at most. */
  maxPending: number;
}

export interface LoginThrottleOptions {
  pair: ThrottleTier;
  source: ThrottleTier;
  user: ThrottleTier;
  /** One failure of a key is forgotten per this much time. */
  failureDecayMs: number;
  /** After a success from an address, that user skips the `user` tier from there this long. */
  knownSourceMs: number;
  /** The wait named when an attempt is refused because too many are pending. */
  pendingRetryMs: number;
  /** Keys remembered at most (per table); the least recently used are forgotten first. */
  maxKeys: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  pair: {
    freeFailures: 3,
    baseDelayMs: 1000,
    maxDelayMs: 60_000,
    lockoutFailures: 10,
    lockoutMs: 5 * 60_000,
    maxPending: 2,
  },
  source: {
    freeFailures: 10,
    baseDelayMs: 1000,
    maxDelayMs: 60_000,
    lockoutFailures: 30,
    lockoutMs: 5 * 60_000,
    maxPending: 8,
  },
  user: {
    // Above what one address can fail before its pair locks out: one attacking address alone
    // never brakes the owner's other addresses.
    freeFailures: 20,
    baseDelayMs: 1000,
    maxDelayMs: 15_000,
    lockoutFailures: Infinity,
    lockoutMs: 0,
    maxPending: 4,
  },
  failureDecayMs: 60_000,
  knownSourceMs: 30 * 24 * 3600 * 1000,
  pendingRetryMs: 1000,
  maxKeys: 100_000,
};

/** An admitted attempt: hand it back to `finish` (or `cancel`) exactly once. */
export interface LoginAttempt {
  readonly keys: ReadonlyArray<{ key: string; tier: ThrottleTier; clearedBySuccess: boolean }>;
  readonly user: string;
  readonly source: string;
}

export type LoginAdmission =
  | { kind: "admitted"; attempt: LoginAttempt }
  | { kind: "throttled"; retryAfterMs: number };

interface Entry {
  /** Failures not yet forgotten. */
  failures: number;
  /** Admitted attempts not yet finished: each counts as a failure until it is known not to be. */
  pending: number;
  /** When the last attempt was admitted or failed: waits run from here. */
  lastMs: number;
  lockedUntilMs: number;
  /** Decay is applied up to this time. */
  decayedAtMs: number;
}

export class LoginThrottle {
  readonly #options: LoginThrottleOptions;
  readonly #entries = new Map<string, Entry>();
  /** `user|source` → until when that user skips the `user` tier from that source. */
  readonly #knownSources = new Map<string, number>();

  constructor(options: Partial<LoginThrottleOptions> = {}) {
    this.#options = { ...DEFAULT_LOGIN_THROTTLE, ...options };
  }

  /**
   * Admits an attempt to check `user`'s password from `source`, or says how long to wait.
   * An admitted attempt is pending (it counts as a failure) until `finish` or `cancel`.
   */
  begin(user: string, source: string, nowMs: number): LoginAdmission {
    const keys = this.#keysOf(user, source, nowMs);
    const waitMs = this.#waitFor(keys, nowMs);
    if (waitMs > 0) return { kind: "throttled", retryAfterMs: waitMs };
    for (const { key } of keys) {
      const entry = this.#touch(key, nowMs);
      entry.pending += 1;
      entry.lastMs = nowMs;
    }
    return { kind: "admitted", attempt: { keys, user, source } };
  }

  /** Milliseconds before an attempt for `user` from `source` would be admitted (0: now). */
  waitMs(user: string, source: string, nowMs: number): number {
    return this.#waitFor(this.#keysOf(user, source, nowMs), nowMs);
  }

  /** Ends an admitted attempt: a failure counts against every key; a success clears its pair. */
  finish(attempt: LoginAttempt, succeeded: boolean, nowMs: number): void {
    for (const { key, tier, clearedBySuccess } of attempt.keys) {
      const entry = this.#touch(key, nowMs);
      entry.pending = Math.max(0, entry.pending - 1);
      if (succeeded) {
        if (clearedBySuccess) Object.assign(entry, { failures: 0, lockedUntilMs: 0 });
        continue;
      }
      entry.failures += 1;
      entry.lastMs = nowMs;
      if (entry.failures >= tier.lockoutFailures) entry.lockedUntilMs = nowMs + tier.lockoutMs;
    }
    if (succeeded) {
      const known = `${attempt.user}|${attempt.source}`;
      this.#knownSources.delete(known); // re-insert: least recently used first
      this.#knownSources.set(known, nowMs + this.#options.knownSourceMs);
      this.#bound(this.#knownSources);
    }
  }

  /** Ends an admitted attempt that was never checked (the server was too busy): it counts for nothing. */
  cancel(attempt: LoginAttempt, nowMs: number): void {
    for (const { key } of attempt.keys) {
      const entry = this.#entry(key, nowMs);
      if (entry !== undefined) entry.pending = Math.max(0, entry.pending - 1);
    }
  }

  /** The keys an attempt counts against: the `user` tier only from addresses not known for it. */
  #keysOf(user: string, source: string, nowMs: number): LoginAttempt["keys"] {
    const o = this.#options;
    // Only the pair starts over on a success: a success must not wipe what an address or a
    // name failed elsewhere (an attacker with an account of their own would reset their address).
    const keys = [
      { key: `pair:${user}|${source}`, tier: o.pair, clearedBySuccess: true },
      { key: `addr:${source}`, tier: o.source, clearedBySuccess: false },
    ];
    const knownUntilMs = this.#knownSources.get(`${user}|${source}`);
    if (knownUntilMs === undefined || knownUntilMs <= nowMs) {
      keys.push({ key: `user:${user}`, tier: o.user, clearedBySuccess: false });
    }
    return keys;
  }

  #waitFor(keys: LoginAttempt["keys"], nowMs: number): number {
    let waitMs = 0;
    for (const { key, tier } of keys) {
      const entry = this.#entry(key, nowMs);
      if (entry === undefined) continue;
      if (entry.pending >= tier.maxPending) waitMs = Math.max(waitMs, this.#options.pendingRetryMs);
      waitMs = Math.max(waitMs, entry.lockedUntilMs - nowMs);
      const count = entry.failures + entry.pending;
      if (count > tier.freeFailures) {
        const delayMs = tier.baseDelayMs * 2 ** (count - tier.freeFailures - 1);
        waitMs = Math.max(waitMs, entry.lastMs + Math.min(tier.maxDelayMs, delayMs) - nowMs);
      }
    }
    return waitMs;
  }

  /** The key's entry with decay applied, or undefined when it has none. */
  #entry(key: string, nowMs: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const decayMs = this.#options.failureDecayMs;
    const steps = Math.floor((nowMs - entry.decayedAtMs) / decayMs);
    if (steps > 0) {
      entry.failures = Math.max(0, entry.failures - steps);
      entry.decayedAtMs += steps * decayMs;
    }
    assert(entry.failures >= 0, "login throttle failures went negative");
    return entry;
  }

  /** The key's entry (created if missing), marked most recently used. */
  #touch(key: string, nowMs: number): Entry {
    const entry = this.#entry(key, nowMs) ??
      { failures: 0, pending: 0, lastMs: nowMs, lockedUntilMs: 0, decayedAtMs: nowMs };
    if (entry.failures === 0) entry.decayedAtMs = nowMs; // decay runs from the first failure
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#bound(this.#entries);
    return entry;
  }

  #bound(table: Map<string, unknown>): void {
    while (table.size > this.#options.maxKeys) table.delete(table.keys().next().value!);
  }
}
