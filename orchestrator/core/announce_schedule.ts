/**
 * When a leader announces itself (to the multicast group, carried out by the shell): at once
 * when it leads in a new term, then every {@link ANNOUNCE_INTERVAL_MS} while it still leads.
 * @module
 */

/** How often a leader repeats its announcement. */
export const ANNOUNCE_INTERVAL_MS = 250;

export class AnnounceSchedule {
  #announcedAtMs = 0;
  #announcedTerm = -1;

  /** Whether a node that `isLeader` in `term` announces at `nowMs`; if so, counts it as sent. */
  due(isLeader: boolean, term: number, nowMs: number): boolean {
    if (!isLeader) return false;
    if (term === this.#announcedTerm && nowMs - this.#announcedAtMs < ANNOUNCE_INTERVAL_MS) {
      return false;
    }
    this.#announcedTerm = term;
    this.#announcedAtMs = nowMs;
    return true;
  }
}
