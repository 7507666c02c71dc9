/**
 * Ids ordered by a time, each once: the tasks put off until a time (TaskQueue) and the queued
 * tasks' queue deadlines (the expiry sweep). Equal times keep the order ids came in; adding and
 * deleting are a binary search (plus the array's shift), reading what is due is a walk from the
 * front. Deterministic: replicas that add and delete the same ids hold the same order.
 * @module
 */

interface Timed {
  id: string;
  atMs: number;
}

export class TimeIndex {
  readonly #byTime: Timed[] = [];
  readonly #atMs = new Map<string, number>();

  get size(): number {
    return this.#byTime.length;
  }

  /** The earliest time held, if any. */
  get firstMs(): number | undefined {
    return this.#byTime[0]?.atMs;
  }

  has(id: string): boolean {
    return this.#atMs.has(id);
  }

  /** Adds `id` at `atMs`, behind ids of the same time; an id held already is left where it is. */
  add(id: string, atMs: number): void {
    if (this.#atMs.has(id)) return;
    this.#byTime.splice(this.#firstAfter(atMs), 0, { id, atMs });
    this.#atMs.set(id, atMs);
  }

  /** Deletes `id`; false when it was not held. */
  delete(id: string): boolean {
    const atMs = this.#atMs.get(id);
    if (atMs === undefined) return false;
    this.#atMs.delete(id);
    for (let i = this.#firstAtOrAfter(atMs); i < this.#byTime.length; i++) {
      if (this.#byTime[i].id === id) {
        this.#byTime.splice(i, 1);
        break;
      }
    }
    return true;
  }

  /** Ids with their times, earliest first, up to those at `nowMs` (all of them by default). */
  *upTo(nowMs = Infinity): IterableIterator<Timed> {
    for (const timed of this.#byTime) {
      if (timed.atMs > nowMs) return;
      yield timed;
    }
  }

  /** Up to `limit` ids at or before `nowMs`, earliest first. */
  due(nowMs: number, limit: number): string[] {
    const ids: string[] = [];
    for (const { id } of this.upTo(nowMs)) {
      if (ids.length >= limit) break;
      ids.push(id);
    }
    return ids;
  }

  /** How many ids are after `nowMs`. */
  countAfter(nowMs: number): number {
    return this.#byTime.length - this.#firstAfter(nowMs);
  }

  #firstAfter(atMs: number): number {
    let lo = 0, hi = this.#byTime.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#byTime[mid].atMs <= atMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #firstAtOrAfter(atMs: number): number {
    let lo = 0, hi = this.#byTime.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#byTime[mid].atMs < atMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
