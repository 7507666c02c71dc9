/**
 * What every kind of attempt reports the same way: a failure outcome, the time an attempt took,
 * and the words for a timeout.
 * @module
 */
import type { Outcome } from "../../shared/protocol/messages.ts";

/** A failed outcome with no output, `reason` as its error. */
export function failedOutcome(reason: string, startedMs: number): Outcome {
  return {
    status: "failed",
    exitCode: null,
    stdout: "",
    stderr: "",
    error: reason,
    durationMs: elapsedMs(startedMs),
  };
}

/** Whole milliseconds since `startedMs` (a `performance.now()` reading), never negative. */
export function elapsedMs(startedMs: number): number {
  return Math.max(0, Math.round(performance.now() - startedMs));
}

/** The error of an attempt stopped by its time limit, e.g. "timed out after 1.5 s". */
export function timedOutReason(timeoutMs: number): string {
  return `timed out after ${timeoutMs / 1000} s`;
}
