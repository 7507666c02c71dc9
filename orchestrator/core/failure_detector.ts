/**
 * Heartbeat failure detector. A worker incarnation is suspected once no
 * heartbeat has arrived for `timeoutMs` (heartbeat interval x missed beats).
 *
 * Two guards against false suspicion:
 * - grace: when this node starts leading (or restarts), every worker is
 *   treated as just seen, so workers are never blamed for the leader's absence;
 * - stall compensation: if this node's own ticks stop for a while (a GC pause,
 *   a starved CPU), heartbeats sat unread in the socket buffer; the stalled
 *   time is not counted against workers.
 * Pure: time comes in as arguments.
 * @module
 */

export interface FailureDetectorOptions {
  timeoutMs: number;
  /** A gap between ticks longer than this means this node itself stalled. */
  stallThresholdMs: number;
}

interface Seen {
  incarnation: string;
  lastSeenMs: number;
}

export class FailureDetector {
  readonly #options: FailureDetectorOptions;
  readonly #seen = new Map<string, Seen>();
  #lastTickMs: number | null = null;

  constructor(options: FailureDetectorOptions) {
    this.#options = options;
  }

  get timeoutMs(): number {
    return this.#options.timeoutMs;
  }

  /** Records a heartbeat (or any other sign of life) from a worker incarnation. */
  observe(workerId: string, incarnation: string, nowMs: number): void {
    const seen = this.#seen.get(workerId);
    if (seen === undefined || seen.incarnation !== incarnation || seen.lastSeenMs < nowMs) {
      this.#seen.set(workerId, { incarnation, lastSeenMs: nowMs });
    }
  }

  /** Starts a grace period: everyone counts as seen at `nowMs`. */
  grantGrace(workers: Iterable<{ id: string; incarnation: string }>, nowMs: number): void {
    for (const worker of workers) {
      this.#seen.set(worker.id, { incarnation: worker.incarnation, lastSeenMs: nowMs });
    }
  }

  /** Milliseconds since the incarnation was last seen, or null if never. */
  sinceLastSeen(workerId: string, incarnation: string, nowMs: number): number | null {
    const seen = this.#seen.get(workerId);
    if (seen === undefined || seen.incarnation !== incarnation) return null;
    return Math.max(0, nowMs - seen.lastSeenMs);
  }

  /** Advances the detector's notion of time; compensates for this node's own stalls. */
  tick(nowMs: number): void {
    const last = this.#lastTickMs;
    this.#lastTickMs = nowMs;
    if (last === null) return;
    const gap = nowMs - last;
    if (gap <= this.#options.stallThresholdMs) return;
    const stalled = gap - this.#options.stallThresholdMs;
    for (const seen of this.#seen.values()) seen.lastSeenMs += stalled;
  }

  /** The given workers whose last sign of life is older than the timeout. */
  suspects(
    workers: Iterable<{ id: string; incarnation: string }>,
    nowMs: number,
  ): Array<{ id: string; incarnation: string; silentMs: number }> {
    const out: Array<{ id: string; incarnation: string; silentMs: number }> = [];
    for (const worker of workers) {
      const seen = this.#seen.get(worker.id);
      // Never seen by this node: start counting now rather than suspecting at once.
      if (seen === undefined || seen.incarnation !== worker.incarnation) {
        this.observe(worker.id, worker.incarnation, nowMs);
        continue;
      }
      const silentMs = nowMs - seen.lastSeenMs;
      if (silentMs > this.#options.timeoutMs) {
        out.push({ id: worker.id, incarnation: worker.incarnation, silentMs });
      }
    }
    return out;
  }

  /** Forgets a worker (it left or was declared dead). */
  forget(workerId: string): void {
    this.#seen.delete(workerId);
  }
}
