/**
 * Heartbeat failure detector: phi accrual (as in Cassandra and Akka) over each worker
 * incarnation's observed heartbeat gaps, within bounds derived from the configured interval.
 * A steady worker is suspected soon after it falls silent; one whose heartbeats arrive erratically
 * (a starved machine, a lossy network) is given longer, up to the configured limit:
 * - never before 2.2 intervals: one lost heartbeat (UDP), arriving late, is never enough;
 * - at phi > PHI_THRESHOLD in between (about 2 intervals past the last heartbeat when steady,
 *   more as the gaps vary);
 * - always after `missedHeartbeats` intervals, however erratic the worker was, and until
 *   MIN_GAPS gaps are known (a new worker, or one just forgiven a grace period).
 *
 * Two guards against false suspicion:
 * - grace: when this node starts leading (or restarts), every worker is
 *   treated as just seen, so workers are never blamed for the leader's absence;
 * - stall compensation: if this node's own ticks stop for a while (a GC pause,
 *   a starved CPU), heartbeats sat unread in the socket buffer; the stalled
 *   time is not counted against workers (nor observed as a gap of theirs). A
 *   gap of half an interval already counts as a stall: the shell ticks at least
 *   five times an interval, and the silence a worker is blamed for at wake-up
 *   must stay well below the 2.2-interval floor.
 * Pure: time comes in as arguments.
 * @module
 */
import { ArrivalWindow } from "../../shared/arrival_window.ts";
import { DURATION_BOUNDS_SECONDS, Histogram } from "../../shared/histogram.ts";

export interface FailureDetectorOptions {
  /** How often workers send heartbeats. */
  heartbeatIntervalMs: number;
  /** The most intervals a worker may stay silent before it is suspected, however erratic it was. */
  missedHeartbeats: number;
}

/** Suspicion level at which a worker is declared lost: a live one is this silent once in 10^8. */
export const PHI_THRESHOLD = 8;
/** Heartbeat gaps remembered per worker incarnation. */
const WINDOW_GAPS = 32;
/** Gaps needed before the observed ones are trusted over the configured limit. */
const MIN_GAPS = 4;

export class FailureDetector {
  readonly #intervalMs: number;
  /** Suspect no sooner than this: one lost heartbeat must not make a worker suspect. */
  readonly #minSilenceMs: number;
  /** Suspect at the latest after this: the configured limit. */
  readonly #maxSilenceMs: number;
  /** A gap between ticks longer than this means this node itself stalled (none of it counts). */
  readonly #stallThresholdMs: number;
  /** Arrivals per worker, per incarnation: a dead incarnation is tracked on its own. */
  readonly #seen = new Map<string, Map<string, ArrivalWindow>>();
  #lastTickMs: number | null = null;
  /** Every heartbeat gap observed, in seconds, for /metrics. */
  readonly gapSeconds = new Histogram(DURATION_BOUNDS_SECONDS);

  constructor(options: FailureDetectorOptions) {
    this.#intervalMs = options.heartbeatIntervalMs;
    // Two intervals (one heartbeat lost) plus the scheduling noise the window assumes at least.
    this.#minSilenceMs = 2 * options.heartbeatIntervalMs + minStdDevMs(options.heartbeatIntervalMs);
    this.#maxSilenceMs = Math.max(
      this.#minSilenceMs,
      options.heartbeatIntervalMs * options.missedHeartbeats,
    );
    this.#stallThresholdMs = options.heartbeatIntervalMs / 2;
  }

  /** The longest a silent worker goes unsuspected. */
  get timeoutMs(): number {
    return this.#maxSilenceMs;
  }

  /** Records a heartbeat from a worker incarnation: its gap since the last one is observed. */
  observe(workerId: string, incarnation: string, nowMs: number): void {
    const sinceMs = this.sinceLastSeen(workerId, incarnation, nowMs);
    if (sinceMs !== null && sinceMs > 0) this.gapSeconds.observe(sinceMs / 1000);
    this.#window(workerId, incarnation).record(nowMs);
  }

  /**
   * Counts a worker incarnation as seen at `nowMs` without observing a gap: a sign of life other
   * than a heartbeat (a registration, a connection), or a grace period.
   */
  touch(workerId: string, incarnation: string, nowMs: number): void {
    this.#window(workerId, incarnation).reset(nowMs);
  }

  /** Starts a grace period: everyone counts as seen at `nowMs`. */
  grantGrace(workers: Iterable<{ id: string; incarnation: string }>, nowMs: number): void {
    for (const worker of workers) this.touch(worker.id, worker.incarnation, nowMs);
  }

  /** Milliseconds since the incarnation was last seen, or null if never. */
  sinceLastSeen(workerId: string, incarnation: string, nowMs: number): number | null {
    const last = this.#seen.get(workerId)?.get(incarnation)?.lastMs ?? null;
    return last === null ? null : Math.max(0, nowMs - last);
  }

  /** How long this incarnation may now stay silent before it is suspected. */
  silenceLimitMs(workerId: string, incarnation: string): number {
    const window = this.#seen.get(workerId)?.get(incarnation);
    const adaptive = window === undefined || window.size < MIN_GAPS
      ? this.#maxSilenceMs
      : window.silenceLimitMs(PHI_THRESHOLD);
    return Math.round(Math.min(this.#maxSilenceMs, Math.max(this.#minSilenceMs, adaptive)));
  }

  /** Advances the detector's notion of time; compensates for this node's own stalls. */
  tick(nowMs: number): void {
    const last = this.#lastTickMs;
    this.#lastTickMs = nowMs;
    if (last === null) return;
    const gap = nowMs - last;
    if (gap <= this.#stallThresholdMs) return;
    for (const byIncarnation of this.#seen.values()) {
      // A sighting read at the end of the stall is already current: never move it past now.
      for (const window of byIncarnation.values()) window.shift(gap, nowMs);
    }
  }

  /** The given workers silent for longer than their current limit. */
  suspects(
    workers: Iterable<{ id: string; incarnation: string }>,
    nowMs: number,
  ): Array<{ id: string; incarnation: string; silentMs: number }> {
    const out: Array<{ id: string; incarnation: string; silentMs: number }> = [];
    for (const worker of workers) {
      const last = this.#seen.get(worker.id)?.get(worker.incarnation)?.lastMs ?? null;
      // Never seen by this node: start counting now rather than suspecting at once.
      if (last === null) {
        this.touch(worker.id, worker.incarnation, nowMs);
        continue;
      }
      const silentMs = nowMs - last;
      if (silentMs > this.silenceLimitMs(worker.id, worker.incarnation)) {
        out.push({ id: worker.id, incarnation: worker.incarnation, silentMs });
      }
    }
    return out;
  }

  /** Forgets a worker, every incarnation of it (it left or was declared dead). */
  forget(workerId: string): void {
    this.#seen.delete(workerId);
  }

  #window(workerId: string, incarnation: string): ArrivalWindow {
    let byIncarnation = this.#seen.get(workerId);
    if (byIncarnation === undefined) this.#seen.set(workerId, byIncarnation = new Map());
    let window = byIncarnation.get(incarnation);
    if (window === undefined) {
      window = new ArrivalWindow({
        expectedGapMs: this.#intervalMs,
        minStdDevMs: minStdDevMs(this.#intervalMs),
        capacity: WINDOW_GAPS,
      });
      byIncarnation.set(incarnation, window);
    }
    return window;
  }
}

/** Scheduling noise on a healthy machine: a small fraction of the interval. */
function minStdDevMs(heartbeatIntervalMs: number): number {
  return heartbeatIntervalMs / 5;
}
