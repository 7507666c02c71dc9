/**
 * Live output on the leader: per running attempt, the newest part of its stdout and of its stderr
 * as the worker sends it (`output` messages), with the stream offset where the kept text starts,
 * so a reader (`logs --follow`) resumes where it stopped and sees what it missed.
 *
 * Not replicated state: a bounded, in-memory view that exists only on the leader while an attempt
 * runs. Followers and a new leader have none; a new leader's view starts with the first batch it
 * receives (the worker's offsets go on, so a reader sees the gap). The final output is the one the
 * attempt's result carries. Bounds: `tailChars` per stream of an attempt, `totalChars` in all
 * (past it, the attempts written to least recently lose their text, not their offsets).
 *
 * Fencing is the caller's: it appends only for the current attempt on the worker that holds it
 * (worker_links.ts), and drops a task's view when a committed entry ends or moves its attempt.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import { LIMITS } from "../../shared/limits.ts";
import { cutPoint } from "../../shared/text_cut.ts";
import type { OutputStream } from "../../shared/protocol/messages.ts";

/** What a reader gets of one stream: text from `offset`, and where to ask from next. */
export interface LiveText {
  offset: number;
  text: string;
  next: number;
}

interface Tail {
  /** The stream offset of `text`'s first character. */
  start: number;
  text: string;
}

interface AttemptView {
  attempt: number;
  workerId: string;
  stdout: Tail;
  stderr: Tail;
}

/** How often stale views are swept (a backstop: ended attempts are dropped as they end). */
const SWEEP_INTERVAL_MS = 10_000;

export class LiveOutput {
  /** By task id, least recently written first (a write moves its task to the end). */
  readonly #views = new Map<string, AttemptView>();
  readonly #tailChars: number;
  readonly #totalChars: number;
  #keptChars = 0;
  #lastSweepMs = -Infinity;

  constructor(
    options: { tailChars?: number; totalChars?: number } = {},
  ) {
    this.#tailChars = options.tailChars ?? LIMITS.liveOutputTailChars;
    this.#totalChars = options.totalChars ?? LIMITS.liveOutputTotalChars;
    assert(this.#tailChars > 0, "live output needs a positive tail");
    assert(this.#totalChars >= 2 * this.#tailChars, "live output's total must hold one attempt");
  }

  /** Characters kept in all. */
  get keptChars(): number {
    return this.#keptChars;
  }

  /** Tasks with a view. */
  get size(): number {
    return this.#views.size;
  }

  /**
   * Adds a batch of the current attempt of `ref.taskId` on `ref.workerId`: replaces the view of
   * any other attempt; skips what it already holds; a batch past its end starts it afresh there.
   */
  append(
    ref: { taskId: string; attempt: number; workerId: string },
    batch: { stream: OutputStream; offset: number; text: string },
  ): void {
    let view = this.#views.get(ref.taskId);
    if (view !== undefined && (view.attempt !== ref.attempt || view.workerId !== ref.workerId)) {
      this.drop(ref.taskId);
      view = undefined;
    }
    view ??= {
      attempt: ref.attempt,
      workerId: ref.workerId,
      stdout: { start: 0, text: "" },
      stderr: { start: 0, text: "" },
    };
    // Moved to the end: the least recently written view is the first to lose its text.
    this.#views.delete(ref.taskId);
    this.#views.set(ref.taskId, view);
    const tail = view[batch.stream];
    const before = tail.text.length;
    appendTo(tail, batch.offset, batch.text);
    if (tail.text.length > this.#tailChars) trimTo(tail, this.#tailChars);
    this.#keptChars += tail.text.length - before;
    this.#evictOverBudget(ref.taskId);
    assert(this.#keptChars >= 0, "live output kept a negative amount");
    assert(tail.text.length <= this.#tailChars, "live output tail over its bound");
  }

  /**
   * What `taskId`'s current attempt `attempt` wrote on `stream` from offset `from`: everything
   * kept from there (from the first kept character when `from` was not kept). Nothing yet, or
   * another attempt's view: empty text at `from`.
   */
  read(taskId: string, attempt: number, stream: OutputStream, from: number): LiveText {
    const view = this.#views.get(taskId);
    if (view === undefined || view.attempt !== attempt) {
      return { offset: from, text: "", next: from };
    }
    const tail = view[stream];
    const end = tail.start + tail.text.length;
    if (from >= end) return { offset: from, text: "", next: from };
    const offset = Math.max(from, tail.start);
    return { offset, text: tail.text.slice(offset - tail.start), next: end };
  }

  /** Forgets `taskId`'s view (its attempt ended or moved). */
  drop(taskId: string): void {
    const view = this.#views.get(taskId);
    if (view === undefined) return;
    this.#keptChars -= view.stdout.text.length + view.stderr.text.length;
    this.#views.delete(taskId);
  }

  /** Forgets every view (leadership lost or gained: live output is the leader's alone). */
  clear(): void {
    this.#views.clear();
    this.#keptChars = 0;
  }

  /**
   * At most every SWEEP_INTERVAL_MS: forgets the views `isCurrent` says are no longer of a
   * running attempt on its worker.
   */
  sweep(
    nowMs: number,
    isCurrent: (taskId: string, attempt: number, workerId: string) => boolean,
  ): void {
    if (nowMs - this.#lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.#lastSweepMs = nowMs;
    for (const [taskId, view] of this.#views) {
      if (!isCurrent(taskId, view.attempt, view.workerId)) this.drop(taskId);
    }
  }

  /** Empties the least recently written views until the total is within its bound. */
  #evictOverBudget(keep: string): void {
    for (const [taskId, view] of this.#views) {
      if (this.#keptChars <= this.#totalChars) return;
      if (taskId === keep) continue;
      for (const tail of [view.stdout, view.stderr]) {
        this.#keptChars -= tail.text.length;
        tail.start += tail.text.length;
        tail.text = "";
      }
    }
  }
}

/** Appends a batch at `offset` to `tail`: the part it holds is skipped, a gap restarts it. */
function appendTo(tail: Tail, offset: number, text: string): void {
  const end = tail.start + tail.text.length;
  if (offset > end) {
    // Batches were missed (the worker was cut off, or this leader is new): start again here.
    tail.start = offset;
    tail.text = text;
    return;
  }
  const overlap = end - offset;
  if (overlap >= text.length) return;
  tail.text += text.slice(overlap);
}

/** Keeps the newest `chars` characters of `tail` (one fewer rather than split a pair). */
function trimTo(tail: Tail, chars: number): void {
  const cut = cutPoint(tail.text, tail.text.length - chars);
  tail.start += cut;
  tail.text = tail.text.slice(cut);
}
