/**
 * Which entries a catching-up follower applies as history: entries that reached it already
 * committed (an appendEntries carried them with a leader commit index at or past them) were
 * decided by the cluster without this node, so applying them is not news and their log lines go
 * at debug. Once it has applied all the leader had committed, one line says it caught up.
 * @module
 */

/**
 * At most one "Caught up" line at info this often; the others go at debug. A follower that keeps
 * falling a little behind under load (a busy machine, a large state) would otherwise log one
 * several times a second.
 */
export const CAUGHT_UP_INFO_EVERY_MS = 10_000;

export class CatchUpHistory {
  /** Entries in (after, upTo] arrived already committed. */
  #after = 0;
  #upTo = 0;
  /** The highest leader commit index heard; caught up once applied. */
  #leaderCommitHeard = 0;
  /** Entries applied as history since the last "Caught up" line. */
  #applied = 0;
  /** When the last "Caught up" line went out at info. */
  #lastInfoMs = -Infinity;

  /**
   * Records which entries an appendEntries brought that were committed before they arrived:
   * the log held `lastBefore` entries before it and `lastIndex` after.
   */
  noteArrivals(lastBefore: number, leaderCommit: number, lastIndex: number): void {
    this.#leaderCommitHeard = Math.max(this.#leaderCommitHeard, leaderCommit);
    const from = lastBefore + 1;
    const upTo = Math.min(leaderCommit, lastIndex);
    if (upTo < from) return;
    // Catching up arrives in consecutive pieces: extend the range rather than restart it.
    if (from > this.#upTo + 1 || this.#upTo === 0) this.#after = from - 1;
    this.#upTo = upTo;
  }

  /** True (and counted) when the entry at `index`, being applied, is history. */
  applying(index: number): boolean {
    const isHistory = index > this.#after && index <= this.#upTo;
    if (isHistory) this.#applied += 1;
    return isHistory;
  }

  /** Like caughtUpLine, with its level at `nowMs`: info at most every CAUGHT_UP_INFO_EVERY_MS. */
  caughtUp(
    appliedIndex: number,
    nowMs: number,
  ): { line: string; level: "info" | "debug" } | null {
    const line = this.caughtUpLine(appliedIndex);
    if (line === null) return null;
    const level = nowMs - this.#lastInfoMs >= CAUGHT_UP_INFO_EVERY_MS ? "info" : "debug";
    if (level === "info") this.#lastInfoMs = nowMs;
    return { line, level };
  }

  /** The "Caught up" line once the history is all applied at `appliedIndex` (then starts over). */
  caughtUpLine(appliedIndex: number): string | null {
    if (this.#applied === 0 || appliedIndex < this.#leaderCommitHeard) return null;
    const line = `Caught up with the leader: applied ${this.#applied} entries committed while ` +
      `this node was behind (through index ${appliedIndex})`;
    this.#applied = 0;
    return line;
  }
}
