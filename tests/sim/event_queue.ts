/**
 * The simulator's agenda: events ordered by simulated time, ties broken by the
 * order they were scheduled in, so one seed always runs them in one order.
 * @module
 */

/** Something that happens at a simulated instant. */
export interface SimEvent {
  /** Simulated time, integer milliseconds. */
  at: number;
  /** Scheduling order; breaks ties between events at the same `at`. */
  seq: number;
  /**
   * The endpoint that carries the event out (an orchestrator, worker or client
   * id), or null for the world itself. A paused endpoint's events wait.
   */
  owner: string | null;
  run: () => void;
}

/** A binary min-heap of {@link SimEvent}s by `(at, seq)`. */
export class EventQueue {
  readonly #heap: SimEvent[] = [];
  #nextSeq = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** Time of the earliest event, or null when there is none. */
  peekTime(): number | null {
    return this.#heap.length === 0 ? null : this.#heap[0].at;
  }

  /**
   * Adds an event; its `seq` is assigned here.
   * @example
   * queue.push({ at: 10, owner: "o1", run: () => node.tick() });
   */
  push(event: Omit<SimEvent, "seq">): SimEvent {
    const full: SimEvent = { ...event, seq: this.#nextSeq++ };
    const heap = this.#heap;
    heap.push(full);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
    return full;
  }

  /** Removes and returns the earliest event, or null when there is none. */
  pop(): SimEvent | null {
    const heap = this.#heap;
    if (heap.length === 0) return null;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
