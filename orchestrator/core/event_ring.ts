/**
 * A bounded ring of the most recent stream events on this node, in log order, and the read that
 * resumes after an event id: the events after it, or a gap when some of them are no longer held
 * (older than the ring, or before the first entry this node applied, such as those inside the
 * snapshot it started from).
 * @module
 */
import { assert } from "../../shared/assert.ts";
import { compareEventIds, type EventId, formatEventId, type StreamEvent } from "./stream_events.ts";

/** Stream events a node keeps by default. */
export const EVENT_RING_CAPACITY = 100_000;

/** What a read after an id finds. */
export interface RingRead {
  /** True when events after the id were dropped (the reader should re-read state). */
  gap: boolean;
  events: StreamEvent[];
}

export class EventRing {
  readonly capacity: number;
  #events: StreamEvent[] = [];
  #ids: EventId[] = [];
  #start = 0;
  /** Every event after this id is held (null: nothing appended yet). */
  #floor: EventId | null = null;
  #lastIndex = 0;

  constructor(capacity = EVENT_RING_CAPACITY) {
    assert(capacity > 0, "event ring capacity must be positive");
    this.capacity = capacity;
  }

  /** Events held now. */
  get size(): number {
    return this.#events.length - this.#start;
  }

  /** The id after which every event is held (null before the first entry). */
  get floor(): EventId | null {
    return this.#floor;
  }

  /** The id of the newest event held, or of the last entry appended when it had none. */
  get last(): EventId {
    return this.size > 0
      ? this.#ids[this.#ids.length - 1]
      : { index: this.#lastIndex, position: Number.MAX_SAFE_INTEGER };
  }

  /**
   * Appends the events of applied entry `index` (possibly none); entries come in log order, with a
   * jump only after a snapshot was installed (everything held before is then dropped).
   */
  append(index: number, events: readonly StreamEvent[]): void {
    assert(index > this.#lastIndex, `event ring: entry ${index} after ${this.#lastIndex}`);
    if (this.#floor === null || index !== this.#lastIndex + 1) {
      // Entries before were never seen here (before start, or inside a snapshot installed since):
      // what is held is no longer contiguous with what comes, so it goes.
      this.#events = [];
      this.#ids = [];
      this.#start = 0;
      this.#floor = { index: index - 1, position: Number.MAX_SAFE_INTEGER };
    }
    this.#lastIndex = index;
    // An entry's events are numbered 0.. in order (streamEventsOf), so each id is known without
    // parsing its text: parsing it with a regex cost several times more than the rest of append,
    // on every node serving HTTP, whether or not a stream was open.
    for (let position = 0; position < events.length; position++) {
      const id: EventId = { index, position };
      assert(
        events[position].id === formatEventId(id),
        `event ${events[position].id} is not ${index}.${position}`,
      );
      this.#events.push(events[position]);
      this.#ids.push(id);
    }
    while (this.size > this.capacity) {
      this.#floor = this.#ids[this.#start];
      this.#start++;
    }
    // Compact now and then, so dropping the oldest stays amortized O(1).
    if (this.#start >= this.capacity) {
      this.#events = this.#events.slice(this.#start);
      this.#ids = this.#ids.slice(this.#start);
      this.#start = 0;
    }
  }

  /**
   * The events after `after` (at most `limit`), with `gap` when some after it are no longer held.
   * `after` null: none of the past, only what comes next (the read starts at the newest).
   */
  readAfter(after: EventId | null, limit: number): RingRead {
    if (after === null || this.#floor === null) return { gap: false, events: [] };
    const gap = compareEventIds(after, this.#floor) < 0;
    const from = gap ? this.#start : this.#firstAfter(after);
    const to = Math.min(this.#events.length, from + limit);
    return { gap, events: this.#events.slice(from, to) };
  }

  /** The position in #events of the first event after `id` (binary search: ids ascend). */
  #firstAfter(id: EventId): number {
    let low = this.#start;
    let high = this.#events.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareEventIds(this.#ids[middle], id) <= 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
