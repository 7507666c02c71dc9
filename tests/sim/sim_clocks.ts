/**
 * Every simulated machine's wall clock: true simulated time plus a fixed skew (within
 * ±CLOCK_SKEW_MAX_MS) plus a drift (within ±CLOCK_DRIFT_MAX_PPM), both drawn from the seed and
 * the machine's name, so they neither depend on nor disturb the order of the world's other draws.
 * Whatever a core reads as "now" (session expiry, timestamps in commands, timeouts) comes from its
 * machine's clock; the agenda runs on true simulated time.
 * @module
 */
import { createPrng } from "../../shared/prng.ts";

/** Largest offset of a machine's clock from true time (NTP-synchronised machines stay well inside). */
export const CLOCK_SKEW_MAX_MS = 2_000;
/** Largest rate error of a machine's clock, in parts per million (a cheap quartz crystal). */
export const CLOCK_DRIFT_MAX_PPM = 200;

/** One machine's clock error. */
export interface ClockError {
  skewMs: number;
  driftPpm: number;
}

export class SimClocks {
  readonly #seed: number;
  readonly #errors = new Map<string, ClockError>();
  /** False for runs without skew (e.g. scripted scenarios that reason about exact times). */
  readonly #enabled: boolean;

  constructor(seed: number, options: { enabled?: boolean } = {}) {
    this.#seed = seed;
    this.#enabled = options.enabled ?? true;
  }

  /** The clock error of the machine called `name`. */
  errorOf(name: string): ClockError {
    let error = this.#errors.get(name);
    if (error === undefined) {
      if (!this.#enabled) return { skewMs: 0, driftPpm: 0 };
      const rng = createPrng(hashName(this.#seed, name));
      error = {
        skewMs: Math.round((rng.next() * 2 - 1) * CLOCK_SKEW_MAX_MS),
        driftPpm: Math.round((rng.next() * 2 - 1) * CLOCK_DRIFT_MAX_PPM),
      };
      this.#errors.set(name, error);
    }
    return error;
  }

  /**
   * What the clock of `name` reads at true simulated time `trueMs`: a whole number of ms that
   * never goes backwards (the drift is far below 100%), as Date.now() on one machine.
   */
  wallMs(name: string, trueMs: number): number {
    const { skewMs, driftPpm } = this.errorOf(name);
    // Offset by the bound, so no clock reads below 0 (the world starts at 0; real clocks never do).
    const offsetMs = this.#enabled ? CLOCK_SKEW_MAX_MS : 0;
    return Math.floor(offsetMs + trueMs + skewMs + (trueMs * driftPpm) / 1_000_000);
  }
}

/** A 32-bit seed from the run's seed and a machine name (FNV-1a). */
function hashName(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (const ch of `clock:${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}
