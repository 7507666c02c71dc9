/**
 * Pending `wait` requests: each is answered when its task reaches a final
 * state, or at its deadline with the task as it is then. Bounded in number,
 * in all and per user, so that one user's waits cannot crowd out everyone
 * else's.
 * @module
 */
import type { ConnId } from "./node_io.ts";

export interface Waiter {
  /** The user who waits (the per-user bound counts by it). */
  user: string;
  conn: ConnId;
  requestId: number;
  taskId: string;
  deadlineMs: number;
}

/** Why a waiter was not registered. */
export type WaitRefusal = "user" | "total";

export class Waiters {
  readonly #max: number;
  readonly #maxPerUser: number;
  readonly #byTask = new Map<string, Waiter[]>();
  readonly #perUser = new Map<string, number>();
  #count = 0;

  constructor(bounds: { max: number; maxPerUser: number }) {
    this.#max = bounds.max;
    this.#maxPerUser = bounds.maxPerUser;
  }

  /** Waiters of `user`. */
  countOf(user: string): number {
    return this.#perUser.get(user) ?? 0;
  }

  get size(): number {
    return this.#count;
  }

  /** Registers a waiter; otherwise says which bound is reached (the user's first). */
  add(waiter: Waiter): WaitRefusal | null {
    if (this.countOf(waiter.user) >= this.#maxPerUser) return "user";
    if (this.#count >= this.#max) return "total";
    const list = this.#byTask.get(waiter.taskId);
    if (list === undefined) this.#byTask.set(waiter.taskId, [waiter]);
    else list.push(waiter);
    this.#count += 1;
    this.#perUser.set(waiter.user, this.countOf(waiter.user) + 1);
    return null;
  }

  /** Removes and returns every waiter of a task. */
  take(taskId: string): Waiter[] {
    const list = this.#byTask.get(taskId);
    if (list === undefined) return [];
    this.#byTask.delete(taskId);
    this.#forget(list);
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
    this.#forget(removed);
    return removed;
  }

  #forget(removed: readonly Waiter[]): void {
    this.#count -= removed.length;
    for (const { user } of removed) {
      const left = this.countOf(user) - 1;
      if (left > 0) this.#perUser.set(user, left);
      else this.#perUser.delete(user);
    }
  }
}
