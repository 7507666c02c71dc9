/**
 * A submission's options as its log entry carries them.
 * @module
 */
import { LIMITS } from "../../shared/limits.ts";
import { DEFAULT_QUEUE, type TaskRunOptions } from "../../shared/protocol/messages.ts";
import type { TaskSubmitted } from "../tasks/mod.ts";

/**
 * How a submission asks to run (retry policy, not-before time, priority, queue), as its log entry
 * carries it: a delay counts from now on the leader's clock, which the entry's stamp also reads.
 */
/**
 * Why a submission's timing cannot be accepted at `nowMs`, or null: `--at` more than a year ahead
 * (the delay's own limit). Times past what a date can hold would poison the log (followers refuse
 * the entry) and views; they never reach it.
 */
export function timingProblem(request: TaskRunOptions, nowMs: number): string | null {
  if (request.runAtMs !== undefined && request.runAtMs - nowMs > LIMITS.delayMsMax) {
    return `runAtMs ${request.runAtMs} is more than a year ahead; --at and --delay reach a year at most`;
  }
  return null;
}

export function whenAndRetry(
  request: TaskRunOptions,
  nowMs: number,
): Pick<
  TaskSubmitted,
  "retry" | "notBeforeMs" | "priority" | "queue" | "after" | "queueDeadlineMs"
> {
  const notBeforeMs = Math.max(
    request.runAtMs ?? 0,
    request.delayMs === undefined ? 0 : nowMs + request.delayMs,
  );
  return {
    ...(request.retry === undefined ? {} : { retry: request.retry }),
    ...(notBeforeMs > nowMs ? { notBeforeMs } : {}),
    // Defaults are left out, so entries of tasks that use none stay as they were.
    ...(request.priority === undefined || request.priority === 0
      ? {}
      : { priority: request.priority }),
    ...(request.queue === undefined || request.queue === DEFAULT_QUEUE
      ? {}
      : { queue: request.queue }),
    ...(request.after === undefined ? {} : { after: request.after }),
    // The queue timeout counts from when the task may start (after its delay).
    ...(request.queueTimeoutMs === undefined
      ? {}
      : { queueDeadlineMs: Math.max(nowMs, notBeforeMs) + request.queueTimeoutMs }),
  };
}
