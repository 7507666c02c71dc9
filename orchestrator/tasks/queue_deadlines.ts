/**
 * Queued tasks with a queue timeout, by deadline: what the leader's expiry sweep looks at. A task
 * is here from its submission until it is first assigned, cancelled, failed or expired, so the
 * sweep costs what expires, not what waits. Derived state (rebuilt from the tasks on restore).
 * @module
 */

interface Deadline {
  id: string;
  atMs: number;
}

export class QueueDeadlines {
  readonly #byTime: Deadline[] = [];
  readonly #atMs = new Map<string, number>();

  get size(): number {
    return this.#byTime.length;
  }

  has(taskId: string): boolean {
    return this.#atMs.has(taskId);
  }

  add(taskId: string, atMs: number): void {
    if (this.#atMs.has(taskId)) return;
    this.#byTime.splice(this.#firstAfter(atMs), 0, { id: taskId, atMs });
    this.#atMs.set(taskId, atMs);
  }

  delete(taskId: string): void {
    const atMs = this.#atMs.get(taskId);
    if (atMs === undefined) return;
    this.#atMs.delete(taskId);
    for (let i = this.#firstAtOrAfter(atMs); i < this.#byTime.length; i++) {
      if (this.#byTime[i].id === taskId) {
        this.#byTime.splice(i, 1);
        return;
      }
    }
  }

  /** Up to `limit` tasks whose deadline is at or before `nowMs`, earliest first. */
  due(nowMs: number, limit: number): string[] {
    const ids: string[] = [];
    for (const { id, atMs } of this.#byTime) {
      if (atMs > nowMs || ids.length >= limit) break;
      ids.push(id);
    }
    return ids;
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
