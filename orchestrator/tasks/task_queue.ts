/**
 * The queue of tasks waiting for a worker. Tasks put off until a time (a delay, `--at`, or the
 * pause before a retry) wait in time order and come first once due; then requeued attempts (they
 * have waited longest), then fresh submissions, each in FIFO order. Removal is O(1) for the FIFO
 * parts and a binary search for the timed part, so cancelling a queued task is cheap.
 * @module
 */

interface Timed {
  id: string;
  atMs: number;
}

export class TaskQueue {
  readonly #retry = new Set<string>();
  readonly #fresh = new Set<string>();
  /** Tasks not to start before their time, by time, then in the order they came. */
  readonly #timed: Timed[] = [];
  readonly #timedAt = new Map<string, number>();

  get size(): number {
    return this.#retry.size + this.#fresh.size + this.#timed.length;
  }

  has(taskId: string): boolean {
    return this.#retry.has(taskId) || this.#fresh.has(taskId) || this.#timedAt.has(taskId);
  }

  /** Queues a newly submitted task at the back. */
  pushFresh(taskId: string): void {
    this.#fresh.add(taskId);
  }

  /** Queues a requeued task behind other requeued tasks, ahead of every fresh one. */
  pushRetry(taskId: string): void {
    this.#retry.add(taskId);
  }

  /** Queues a task that may not start before `atMs`, behind others due at the same time. */
  pushTimed(taskId: string, atMs: number): void {
    const at = this.#firstAfter(atMs);
    this.#timed.splice(at, 0, { id: taskId, atMs });
    this.#timedAt.set(taskId, atMs);
  }

  remove(taskId: string): boolean {
    if (this.#retry.delete(taskId) || this.#fresh.delete(taskId)) return true;
    const atMs = this.#timedAt.get(taskId);
    if (atMs === undefined) return false;
    this.#timedAt.delete(taskId);
    for (let i = this.#firstAtOrAfter(atMs); i < this.#timed.length; i++) {
      if (this.#timed[i].id === taskId) {
        this.#timed.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /**
   * Task ids in dispatch order at `nowMs`: timed tasks due by then, then requeued, then fresh.
   * Without a time, every timed task comes first (for views and checks of the whole queue).
   */
  *inOrder(nowMs = Infinity): IterableIterator<string> {
    for (const timed of this.#timed) {
      if (timed.atMs > nowMs) break;
      yield timed.id;
    }
    yield* this.#retry;
    yield* this.#fresh;
  }

  /** Tasks waiting for their time at `nowMs`. */
  notDueCount(nowMs: number): number {
    return this.#timed.length - this.#firstAfter(nowMs);
  }

  /** The earliest time a timed task waits for, if any. */
  get nextDueMs(): number | undefined {
    return this.#timed[0]?.atMs;
  }

  /** Index of the first timed task due after `atMs`. */
  #firstAfter(atMs: number): number {
    let lo = 0, hi = this.#timed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#timed[mid].atMs <= atMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first timed task due at or after `atMs`. */
  #firstAtOrAfter(atMs: number): number {
    let lo = 0, hi = this.#timed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#timed[mid].atMs < atMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The queue as plain data, for snapshots. */
  toJSON(): QueueData {
    return {
      retry: [...this.#retry],
      fresh: [...this.#fresh],
      ...(this.#timed.length > 0 ? { timed: this.#timed.map((t) => [t.id, t.atMs]) } : {}),
    };
  }

  static fromJSON(data: QueueData): TaskQueue {
    const queue = new TaskQueue();
    for (const id of data.retry) queue.pushRetry(id);
    for (const id of data.fresh) queue.pushFresh(id);
    for (const [id, atMs] of data.timed ?? []) queue.pushTimed(id, atMs);
    return queue;
  }
}

/** A queue in a snapshot; `timed` is absent when empty (and in snapshots from before it existed). */
export interface QueueData {
  retry: string[];
  fresh: string[];
  timed?: Array<[string, number]>;
}
