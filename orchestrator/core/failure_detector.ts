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

export class FailureDetector {
  readonly #options: FailureDetectorOptions;
  /** Last sign of life per worker, per incarnation: a dead incarnation is tracked on its own. */
  readonly #seen = new Map<string, Map<string, number>>();
  #lastTickMs: number | null = null;

  constructor(options: FailureDetectorOptions) {
    this.#options = options;
  }

  get timeoutMs(): number {
    return this.#options.timeoutMs;
  }

  /** Records a heartbeat (or any other sign of life) from a worker incarnation. */
  observe(workerId: string, incarnation: string, nowMs: number): void {
    let byIncarnation = this.#seen.get(workerId);
    if (byIncarnation === undefined) this.#seen.set(workerId, byIncarnation = new Map());
    const last = byIncarnation.get(incarnation);
    if (last === undefined || last < nowMs) byIncarnation.set(incarnation, nowMs);
  }

  /** Starts a grace period: everyone counts as seen at `nowMs`. */
  grantGrace(workers: Iterable<{ id: string; incarnation: string }>, nowMs: number): void {
    for (const worker of workers) this.observe(worker.id, worker.incarnation, nowMs);
  }

  /** Milliseconds since the incarnation was last seen, or null if never. */
  sinceLastSeen(workerId: string, incarnation: string, nowMs: number): number | null {
    const last = this.#seen.get(workerId)?.get(incarnation);
    return last === undefined ? null : Math.max(0, nowMs - last);
  }

  /** Advances the detector's notion of time; compensates for this node's own stalls. */
  tick(nowMs: number): void {
    const last = this.#lastTickMs;
    this.#lastTickMs = nowMs;
    if (last === null) return;
    const gap = nowMs - last;
    if (gap <= this.#options.stallThresholdMs) return;
    const stalled = gap - this.#options.stallThresholdMs;
    for (const byIncarnation of this.#seen.values()) {
      for (const [incarnation, lastSeen] of byIncarnation) {
        // A sighting read at the end of the stall is already current: never move it past now.
        byIncarnation.set(incarnation, Math.min(lastSeen + stalled, nowMs));
      }
    }
  }

  /** The given workers whose last sign of life is older than the timeout. */
  suspects(
    workers: Iterable<{ id: string; incarnation: string }>,
    nowMs: number,
  ): Array<{ id: string; incarnation: string; silentMs: number }> {
    const out: Array<{ id: string; incarnation: string; silentMs: number }> = [];
    for (const worker of workers) {
      const last = this.#seen.get(worker.id)?.get(worker.incarnation);
      // Never seen by this node: start counting now rather than suspecting at once.
      if (last === undefined) {
        this.observe(worker.id, worker.incarnation, nowMs);
        continue;
      }
      const silentMs = nowMs - last;
      if (silentMs > this.#options.timeoutMs) {
        out.push({ id: worker.id, incarnation: worker.incarnation, silentMs });
      }
    }
    return out;
  }

  /** Forgets a worker, every incarnation of it (it left or was declared dead). */
  forget(workerId: string): void {
    this.#seen.delete(workerId);
  }
}
