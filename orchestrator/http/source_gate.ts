/**
 * Requests in progress per client address on the HTTP port, capped like the TCP port's
 * connections per source (`maxConnectionsPerSource`, SECURITY.md "Hostile input"): one address
 * cannot hold every request slot of an orchestrator by opening requests it never finishes. Only
 * addresses with requests in progress are kept, so the map is bounded by the requests themselves.
 * @module
 */

export class SourceGate {
  readonly #maxPerSource: number;
  readonly #inProgress = new Map<string, number>();

  /** @param maxPerSource requests one address may have in progress at once (at least 1) */
  constructor(maxPerSource: number) {
    if (!Number.isInteger(maxPerSource) || maxPerSource < 1) {
      throw new RangeError(
        `Cannot gate sources: the cap must be a positive integer, got ${maxPerSource}`,
      );
    }
    this.#maxPerSource = maxPerSource;
  }

  /** Admits a request of `source`, or false when it has the most in progress already. */
  enter(source: string): boolean {
    const count = this.#inProgress.get(source) ?? 0;
    if (count >= this.#maxPerSource) return false;
    this.#inProgress.set(source, count + 1);
    return true;
  }

  /** An admitted request of `source` was answered. */
  leave(source: string): void {
    const count = this.#inProgress.get(source);
    if (count === undefined) throw new RangeError(`Cannot leave: no request of ${source} entered`);
    if (count === 1) this.#inProgress.delete(source);
    else this.#inProgress.set(source, count - 1);
  }

  /** Requests `source` has in progress. */
  inProgress(source: string): number {
    return this.#inProgress.get(source) ?? 0;
  }
}
