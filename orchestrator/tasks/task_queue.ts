/**
 * The tasks waiting for a worker, in dispatch order. Each task waits in a lane: its queue (named,
 * `--queue`) and its priority within it (higher first). Within a lane, requeued attempts go first
 * (they have waited longest), then fresh submissions, each first in, first out. Tasks put off
 * until a time (a delay, `--at`, or the pause before a retry) wait apart, in time order, and go
 * ahead of every lane once due. Queues take turns, one task each, so a busy queue cannot hold
 * back another. No task starves behind a stream of higher priorities: once it has waited its
 * queue's aging time since it was submitted, it goes ahead of every priority, oldest first.
 *
 * Removal is O(1) within a lane and a binary search among timed tasks, so cancelling a queued task
 * is cheap; a task's lane is remembered while it waits.
 * @module
 */
import { DEFAULT_QUEUE } from "../../shared/protocol/messages.ts";
import { TimeIndex } from "./time_index.ts";

/** Where a task waits: its queue and its priority in it. */
export interface Lane {
  queue: string;
  priority: number;
}

export const DEFAULT_LANE: Lane = { queue: DEFAULT_QUEUE, priority: 0 };

/** The lane a task waits in. */
export function laneOf(task: { queue: string; priority: number }): Lane {
  return task.queue === DEFAULT_QUEUE && task.priority === 0
    ? DEFAULT_LANE
    : { queue: task.queue, priority: task.priority };
}

/** One priority of one queue. */
interface Bucket {
  retry: Set<string>;
  fresh: Set<string>;
}

/** One queue: its buckets, and their priorities from highest to lowest. */
class NamedQueue {
  readonly buckets = new Map<number, Bucket>();
  priorities: number[] = [];
  size = 0;

  bucket(priority: number): Bucket {
    let bucket = this.buckets.get(priority);
    if (bucket === undefined) {
      bucket = { retry: new Set(), fresh: new Set() };
      this.buckets.set(priority, bucket);
      this.priorities = [...this.buckets.keys()].sort((a, b) => b - a);
    }
    return bucket;
  }

  delete(id: string, priority: number): boolean {
    const bucket = this.buckets.get(priority);
    if (bucket === undefined) return false;
    const deleted = bucket.retry.delete(id) || bucket.fresh.delete(id);
    if (!deleted) return false;
    this.size -= 1;
    if (bucket.retry.size === 0 && bucket.fresh.size === 0) {
      this.buckets.delete(priority);
      this.priorities = this.priorities.filter((p) => p !== priority);
    }
    return true;
  }

  *inOrder(): IterableIterator<string> {
    for (const priority of this.priorities) {
      const bucket = this.buckets.get(priority)!;
      yield* bucket.retry;
      yield* bucket.fresh;
    }
  }
}

export class TaskQueue {
  /** Queues by name, in the order they first held a task (the order they take turns in). */
  readonly #queues = new Map<string, NamedQueue>();
  /** Tasks not to start before their time, by time, then in the order they came. */
  readonly #timed = new TimeIndex();
  /** Every waiting task's lane (timed ones too: where they belong once due). */
  readonly #lanes = new Map<string, Lane>();
  /** When each waiting task was submitted (its age decides when it goes ahead of priorities). */
  readonly #since = new Map<string, number>();

  get size(): number {
    return this.#lanes.size;
  }

  has(taskId: string): boolean {
    return this.#lanes.has(taskId);
  }

  /**
   * Tasks in each queue's lanes, by queue name (queues holding none are absent); tasks still
   * waiting for their time are not in a lane yet (`size` less the sum of these).
   */
  laneSizes(): Map<string, number> {
    const sizes = new Map<string, number>();
    for (const [name, queue] of this.#queues) sizes.set(name, queue.size);
    return sizes;
  }

  /** The lane `taskId` waits in, if it waits. */
  laneOf(taskId: string): Lane | undefined {
    return this.#lanes.get(taskId);
  }

  /** Queues a newly submitted task (submitted at `sinceMs`) at the back of its lane. */
  pushFresh(taskId: string, lane: Lane = DEFAULT_LANE, sinceMs = 0): void {
    this.#queue(lane.queue).bucket(lane.priority).fresh.add(taskId);
    this.#add(taskId, lane, sinceMs);
  }

  /** Queues a requeued task behind other requeued tasks of its lane, ahead of every fresh one. */
  pushRetry(taskId: string, lane: Lane = DEFAULT_LANE, sinceMs = 0): void {
    this.#queue(lane.queue).bucket(lane.priority).retry.add(taskId);
    this.#add(taskId, lane, sinceMs);
  }

  /** Queues a task that may not start before `atMs`, behind others due at the same time. */
  pushTimed(taskId: string, atMs: number, lane: Lane = DEFAULT_LANE, sinceMs = 0): void {
    this.#timed.add(taskId, atMs);
    this.#lanes.set(taskId, lane);
    this.#since.set(taskId, sinceMs);
  }

  remove(taskId: string): boolean {
    const lane = this.#lanes.get(taskId);
    if (lane === undefined) return false;
    this.#lanes.delete(taskId);
    this.#since.delete(taskId);
    if (this.#timed.delete(taskId)) return true;
    const queue = this.#queues.get(lane.queue)!;
    queue.delete(taskId, lane.priority);
    if (queue.size === 0) this.#queues.delete(lane.queue);
    return true;
  }

  /**
   * Task ids in dispatch order at `nowMs`: timed tasks due by then, then the queues in turn, each
   * in priority order, except that tasks submitted by `agedSinceMs` go ahead of the priorities of
   * their queue. Without a time, every timed task comes first (for views and checks of the whole
   * queue).
   */
  *inOrder(nowMs = Infinity, agedSinceMs = -Infinity): IterableIterator<string> {
    // The common case, one queue of one priority and nothing timed: its lane, without the layers.
    if (this.#timed.size === 0 && this.#queues.size === 1) {
      const only = this.#queues.values().next().value!;
      if (only.priorities.length === 1) {
        const bucket = only.buckets.get(only.priorities[0])!;
        yield* bucket.retry;
        yield* bucket.fresh;
        return;
      }
    }
    // Due timed tasks go first in their own queue (they have waited), not ahead of other queues.
    const dueByQueue = new Map<string, string[]>();
    for (const timed of this.#timed.upTo(nowMs)) {
      const queue = this.#lanes.get(timed.id)!.queue;
      let due = dueByQueue.get(queue);
      if (due === undefined) dueByQueue.set(queue, due = []);
      due.push(timed.id);
    }
    const orders: Iterable<string>[] = [];
    for (const [name, queue] of this.#queues) {
      const due = dueByQueue.get(name);
      dueByQueue.delete(name);
      const order = this.#queueOrder(queue, agedSinceMs);
      orders.push(due === undefined ? order : chain(due, order));
    }
    // Queues holding only timed tasks take their turns after the others.
    for (const due of dueByQueue.values()) orders.push(due);
    if (orders.length === 1) {
      yield* orders[0];
      return;
    }
    // Queues take turns, one task each, while any has tasks left.
    let turns = orders.map((order) => order[Symbol.iterator]());
    while (turns.length > 0) {
      const next: Iterator<string>[] = [];
      for (const turn of turns) {
        const step = turn.next();
        if (step.done === true) continue;
        yield step.value;
        next.push(turn);
      }
      turns = next;
    }
  }

  /** Tasks waiting for their time at `nowMs`. */
  notDueCount(nowMs: number): number {
    return this.#timed.countAfter(nowMs);
  }

  /** The earliest time a timed task waits for, if any. */
  get nextDueMs(): number | undefined {
    return this.#timed.firstMs;
  }

  /** One queue's order: its aged tasks, oldest first, then its lanes by priority. */
  *#queueOrder(queue: NamedQueue, agedSinceMs: number): IterableIterator<string> {
    // With a single priority, age changes nothing: each lane is already oldest first.
    if (queue.priorities.length < 2 || agedSinceMs === -Infinity) {
      yield* queue.inOrder();
      return;
    }
    const aged: string[] = [];
    for (const priority of queue.priorities) {
      const bucket = queue.buckets.get(priority)!;
      for (const part of [bucket.retry, bucket.fresh]) {
        for (const id of part) {
          if (this.#since.get(id)! > agedSinceMs) break;
          aged.push(id);
        }
      }
    }
    if (aged.length === 0) {
      yield* queue.inOrder();
      return;
    }
    // Stable: equally old tasks keep their lane order.
    aged.sort((a, b) => this.#since.get(a)! - this.#since.get(b)!);
    yield* aged;
    const skip = new Set(aged);
    for (const id of queue.inOrder()) if (!skip.has(id)) yield id;
  }

  #queue(name: string): NamedQueue {
    let queue = this.#queues.get(name);
    if (queue === undefined) this.#queues.set(name, queue = new NamedQueue());
    return queue;
  }

  #add(taskId: string, lane: Lane, sinceMs: number): void {
    this.#lanes.set(taskId, lane);
    this.#since.set(taskId, sinceMs);
    this.#queues.get(lane.queue)!.size += 1;
  }

  /** The queue as plain data, for snapshots. */
  toJSON(): QueueData {
    const retry: string[] = [];
    const fresh: string[] = [];
    const lanes: Array<[string, string, number]> = [];
    for (const [name, queue] of this.#queues) {
      for (const priority of queue.priorities) {
        const bucket = queue.buckets.get(priority)!;
        for (const id of bucket.retry) retry.push(id);
        for (const id of bucket.fresh) fresh.push(id);
        if (name !== DEFAULT_QUEUE || priority !== 0) {
          for (const id of bucket.retry) lanes.push([id, name, priority]);
          for (const id of bucket.fresh) lanes.push([id, name, priority]);
        }
      }
    }
    for (const { id } of this.#timed.upTo()) {
      const lane = this.#lanes.get(id)!;
      if (lane.queue !== DEFAULT_QUEUE || lane.priority !== 0) {
        lanes.push([id, lane.queue, lane.priority]);
      }
    }
    return {
      retry,
      fresh,
      ...(this.#timed.size > 0
        ? { timed: [...this.#timed.upTo()].map((t): [string, number] => [t.id, t.atMs]) }
        : {}),
      ...(lanes.length > 0 ? { lanes } : {}),
      ...(this.#queues.size > 1 ? { queues: [...this.#queues.keys()] } : {}),
    };
  }

  /** The queue a snapshot holds; `sinceOf` gives each task's submission time. */
  static fromJSON(data: QueueData, sinceOf: (id: string) => number = () => 0): TaskQueue {
    const lanes = new Map<string, Lane>();
    for (const [id, queue, priority] of data.lanes ?? []) lanes.set(id, { queue, priority });
    const laneOf = (id: string) => lanes.get(id) ?? DEFAULT_LANE;
    const queue = new TaskQueue();
    // The queues take turns in the order they had: create them in it.
    for (const name of data.queues ?? []) queue.#queue(name);
    // Retry ids were written queue by queue, priority by priority: re-adding them in that order
    // rebuilds each lane's order.
    for (const id of data.retry) queue.pushRetry(id, laneOf(id), sinceOf(id));
    for (const id of data.fresh) queue.pushFresh(id, laneOf(id), sinceOf(id));
    for (const [id, atMs] of data.timed ?? []) queue.pushTimed(id, atMs, laneOf(id), sinceOf(id));
    return queue;
  }
}

function* chain(first: readonly string[], rest: Iterable<string>): IterableIterator<string> {
  yield* first;
  yield* rest;
}

/**
 * A queue in a snapshot: `timed` and `lanes` (each task's queue and priority, for tasks outside
 * the default lane) are absent when empty, and in snapshots from before they existed.
 */
export interface QueueData {
  retry: string[];
  fresh: string[];
  timed?: Array<[string, number]>;
  lanes?: Array<[string, string, number]>;
  /** The queues' names in the order they take turns, when more than one holds tasks. */
  queues?: string[];
}
