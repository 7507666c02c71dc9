/**
 * The queue of tasks waiting for a worker: requeued attempts first (they have
 * waited longest), then fresh submissions, each in FIFO order. Removal is O(1),
 * so cancelling a queued task is cheap.
 * @module
 */

export class TaskQueue {
  readonly #retry = new Set<string>();
  readonly #fresh = new Set<string>();

  get size(): number {
    return this.#retry.size + this.#fresh.size;
  }

  has(taskId: string): boolean {
    return this.#retry.has(taskId) || this.#fresh.has(taskId);
  }

  /** Queues a newly submitted task at the back. */
  pushFresh(taskId: string): void {
    this.#fresh.add(taskId);
  }

  /** Queues a requeued task behind other requeued tasks, ahead of every fresh one. */
  pushRetry(taskId: string): void {
    this.#retry.add(taskId);
  }

  remove(taskId: string): boolean {
    return this.#retry.delete(taskId) || this.#fresh.delete(taskId);
  }

  /** Task ids in dispatch order. */
  *inOrder(): IterableIterator<string> {
    yield* this.#retry;
    yield* this.#fresh;
  }

  /** The queue as plain data, for snapshots. */
  toJSON(): { retry: string[]; fresh: string[] } {
    return { retry: [...this.#retry], fresh: [...this.#fresh] };
  }

  static fromJSON(data: { retry: string[]; fresh: string[] }): TaskQueue {
    const queue = new TaskQueue();
    for (const id of data.retry) queue.pushRetry(id);
    for (const id of data.fresh) queue.pushFresh(id);
    return queue;
  }
}
