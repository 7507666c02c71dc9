/**
 * The order in which tasks reached a final state, overall and per owner: the retention sweep
 * removes the oldest finished tasks first and stops at the first one it must keep, so a sweep
 * costs what it removes, not what is retained. Derived state (rebuilt from the tasks on restore,
 * in order of finish time), used only to choose what a leader proposes to remove: the removal
 * command names its tasks, so replicas agree whatever order they hold here.
 * @module
 */

/** Task ids in the order they were added; removed ids are skipped and compacted away lazily. */
export class IdQueue {
  #ids: string[] = [];
  #head = 0;

  /** Ids held, removed ones included until they are compacted away. */
  get length(): number {
    return this.#ids.length - this.#head;
  }

  /** Slots of the backing array, the ones behind the head included (for tests of its bound). */
  get capacityUsed(): number {
    return this.#ids.length;
  }

  push(id: string): void {
    this.#ids.push(id);
  }

  /** Ids from the oldest on, skipping those `isLive` says are gone. */
  *live(isLive: (id: string) => boolean): IterableIterator<string> {
    for (let i = this.#head; i < this.#ids.length; i++) {
      const id = this.#ids[i];
      if (isLive(id)) yield id;
    }
  }

  /**
   * Drops gone ids at the front, and compacts the whole queue once at most half of it is live
   * (amortized O(1) per removal).
   */
  prune(isLive: (id: string) => boolean, liveCount: number): void {
    while (this.#head < this.#ids.length && !isLive(this.#ids[this.#head])) this.#head += 1;
    if (this.#head === this.#ids.length) {
      this.#ids = [];
      this.#head = 0;
    } else if (this.length > 2 * liveCount + 64) {
      this.#ids = this.#ids.slice(this.#head).filter(isLive);
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#ids.length) {
      // Retention's steady state removes from the front while tasks join at the back: the live
      // part never shrinks, so without this the slots behind the head (and their id strings)
      // would be kept for ever.
      this.#ids = this.#ids.slice(this.#head);
      this.#head = 0;
    }
  }
}

export class FinishedOrder {
  /**
   * The order of a restored state: finished tasks by finish time, then by id. (Replicas that
   * applied the log hold them in apply order; a few may differ where leaders' clocks disagreed.)
   */
  static fromTasks(
    tasks: Iterable<{ id: string; seq: number; owner: string; finishedAtMs: number | null }>,
  ): FinishedOrder {
    const finished = [];
    for (const task of tasks) if (task.finishedAtMs !== null) finished.push(task);
    finished.sort((a, b) => a.finishedAtMs! - b.finishedAtMs! || a.seq - b.seq);
    const order = new FinishedOrder();
    for (const task of finished) order.add(task.owner, task.id);
    return order;
  }

  readonly all = new IdQueue();
  readonly #byOwner = new Map<string, IdQueue>();

  /** Records that `taskId` of `owner` reached a final state. */
  add(owner: string, taskId: string): void {
    this.all.push(taskId);
    let queue = this.#byOwner.get(owner);
    if (queue === undefined) this.#byOwner.set(owner, queue = new IdQueue());
    queue.push(taskId);
  }

  ofOwner(owner: string): IdQueue | undefined {
    return this.#byOwner.get(owner);
  }

  /** Owners with finished tasks (or with removed ones not compacted away yet). */
  owners(): IterableIterator<string> {
    return this.#byOwner.keys();
  }

  /** After removals: see IdQueue.prune; an owner left with nothing is forgotten. */
  prune(
    isLive: (id: string) => boolean,
    liveTotal: number,
    owners: Iterable<string>,
    liveOf: (owner: string) => number,
  ): void {
    this.all.prune(isLive, liveTotal);
    for (const owner of owners) {
      const queue = this.#byOwner.get(owner);
      if (queue === undefined) continue;
      queue.prune(isLive, liveOf(owner));
      if (queue.length === 0) this.#byOwner.delete(owner);
    }
  }
}
