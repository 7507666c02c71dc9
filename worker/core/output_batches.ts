/**
 * The output of running attempts, held by the worker's core between `output` messages: each
 * stream's text since its last batch, and the offset (characters since the attempt started) the
 * next batch starts at. Pure: time comes with every call.
 *
 * An attempt's first batch waits {@link LIVE_OUTPUT_INTERVAL_MS} after its start, and each next
 * one as long after the previous: a task that ends sooner sends no `output` at all (its result
 * carries its output), and a chatty one sends at most one message per stream per interval.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import { LIMITS } from "../../shared/limits.ts";
import { cutPoint } from "../../shared/text_cut.ts";
import type { OutputStream } from "../../shared/protocol/messages.ts";

/** Least time between an attempt's start and its first batch, and between two batches. */
export const LIVE_OUTPUT_INTERVAL_MS = 200;

/** One stream's batch, ready to send. */
export interface OutputBatch {
  taskId: string;
  attempt: number;
  stream: OutputStream;
  offset: number;
  text: string;
}

interface StreamState {
  /** Where `pending` starts in the stream. */
  offset: number;
  pending: string;
}

interface AttemptOutput {
  taskId: string;
  attempt: number;
  /** When the next batch may go: the start plus one interval, then the last batch plus one. */
  dueMs: number;
  stdout: StreamState;
  stderr: StreamState;
}

export class OutputBatches {
  readonly #attempts = new Map<string, AttemptOutput>();
  readonly #maxPendingChars: number;

  /** @param maxPendingChars what one stream holds between batches (the newest is kept). */
  constructor(maxPendingChars: number = LIMITS.liveOutputMessageChars) {
    assert(maxPendingChars > 0, "OutputBatches needs room for some output");
    this.#maxPendingChars = Math.min(maxPendingChars, LIMITS.liveOutputMessageChars);
  }

  /** Attempts tracked (running ones). */
  get size(): number {
    return this.#attempts.size;
  }

  /** Starts tracking an attempt that started at `nowMs`. */
  start(key: string, ref: { taskId: string; attempt: number }, nowMs: number): void {
    assert(!this.#attempts.has(key), `output of ${key} tracked twice`);
    this.#attempts.set(key, {
      taskId: ref.taskId,
      attempt: ref.attempt,
      dueMs: nowMs + LIVE_OUTPUT_INTERVAL_MS,
      stdout: { offset: 0, pending: "" },
      stderr: { offset: 0, pending: "" },
    });
  }

  /** Adds output of a tracked attempt; ignored for any other (ended, voided). */
  add(key: string, stream: OutputStream, text: string): void {
    const state = this.#attempts.get(key)?.[stream];
    if (state === undefined || text === "") return;
    state.pending += text;
    const excess = state.pending.length - this.#maxPendingChars;
    if (excess > 0) {
      // Too much between two batches: the newest is kept, and the offset says what was skipped.
      const cut = cutPoint(state.pending, excess);
      state.pending = state.pending.slice(cut);
      state.offset += cut;
    }
  }

  /** Stops tracking an attempt (it ended, or was voided): what it held is not sent. */
  drop(key: string): void {
    this.#attempts.delete(key);
  }

  /** The batches due at `nowMs`, taken out; at most one per stream of each attempt. */
  takeDue(nowMs: number): OutputBatch[] {
    const batches: OutputBatch[] = [];
    for (const output of this.#attempts.values()) {
      if (nowMs < output.dueMs) continue;
      let isSent = false;
      for (const stream of ["stdout", "stderr"] as const) {
        const state = output[stream];
        if (state.pending === "") continue;
        assert(state.pending.length <= LIMITS.liveOutputMessageChars, "batch over its bound");
        batches.push({
          taskId: output.taskId,
          attempt: output.attempt,
          stream,
          offset: state.offset,
          text: state.pending,
        });
        state.offset += state.pending.length;
        state.pending = "";
        isSent = true;
      }
      // Quiet attempts send at once when output comes; busy ones once per interval.
      if (isSent) output.dueMs = nowMs + LIVE_OUTPUT_INTERVAL_MS;
    }
    return batches;
  }
}
