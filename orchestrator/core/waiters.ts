/**
 * Pending `wait` requests: each is answered when its task reaches a final
 * state, or at its deadline with the task as it is then. Bounded in number.
 * @module
 */
import type { ConnId } from "./node_io.ts";

export interface Waiter {
  conn: ConnId;
  requestId: number;
  taskId: string;
  deadlineMs: number;
}

export class Waiters {
  readonly #max: number;
  readonly #byTask = new Map<string, Waiter[]>();
  #count = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#count;
  }

  /** Registers a waiter; false when the bound is reached. */
  add(waiter: Waiter): boolean {
    if (this.#count >= this.#max) return false;
    const list = this.#byTask.get(waiter.taskId);
    if (list === undefined) this.#byTask.set(waiter.taskId, [waiter]);
    else list.push(waiter);
    this.#count += 1;
    return true;
  }

  /** Removes and returns every waiter of a task. */
  take(taskId: string): Waiter[] {
    const list = this.#byTask.get(taskId);
    if (list === undefined) return [];
    this.#byTask.delete(taskId);
    this.#count -= list.length;
    return list;
  }

  /** Removes and returns the waiters whose deadline has passed. */
  expired(nowMs: number): Waiter[] {
    return this.#removeWhere((w) => w.deadlineMs <= nowMs);
  }

  /** Forgets the waiters of a closed connection. */
  dropConnection(conn: ConnId): void {
    this.#removeWhere((w) => w.conn === conn);
  }

  #removeWhere(predicate: (waiter: Waiter) => boolean): Waiter[] {
    const removed: Waiter[] = [];
    for (const [taskId, list] of this.#byTask) {
      const kept = list.filter((w) => !predicate(w));
      if (kept.length === list.length) continue;
      for (const w of list) if (predicate(w)) removed.push(w);
      if (kept.length === 0) this.#byTask.delete(taskId);
      else this.#byTask.set(taskId, kept);
    }
    this.#count -= removed.length;
    return removed;
  }
}
