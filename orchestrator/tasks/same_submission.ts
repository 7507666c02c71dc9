/**
 * Whether a submission with an idempotency key already used asks for the very task the key made
 * (then it is answered with that task) or for another one (then it is refused). Part of `apply`:
 * field by field, so the order fields were encoded in does not matter. A task's timing (`--delay`,
 * `--at`, `--queue-timeout`) is not compared: a retried request computes it anew.
 * @module
 */
import { assertNever } from "../../shared/assert.ts";
import { DEFAULT_QUEUE, type RetryPolicy, type TaskSpec } from "../../shared/protocol/messages.ts";
import type { TaskRecord } from "./records.ts";
import { NO_TASKS } from "./dependencies.ts";

/** True when a submission asks for the very task `task` was created from (field by field, so encoding order does not matter). */
export function isSameSubmission(
  task: TaskRecord,
  command: {
    spec: TaskSpec;
    maxAttempts: number;
    retry?: RetryPolicy;
    priority?: number;
    queue?: string;
    after?: readonly string[];
  },
): boolean {
  if (task.maxAttempts !== command.maxAttempts) return false;
  if (task.priority !== (command.priority ?? 0)) return false;
  const after = command.after ?? NO_TASKS;
  if (task.after.length !== after.length || task.after.some((id, i) => id !== after[i])) {
    return false;
  }
  if (task.queue !== (command.queue ?? DEFAULT_QUEUE)) return false;
  if (!isSameRetry(task.retry, command.retry ?? null)) return false;
  const a = task.spec;
  const b = command.spec;
  if (a.description !== b.description || a.timeoutMs !== b.timeoutMs) return false;
  switch (a.kind) {
    case "sleep":
      return b.kind === "sleep" && a.durationMs === b.durationMs;
    case "exec":
      return b.kind === "exec" && a.argv.length === b.argv.length &&
        a.argv.every((arg, i) => arg === b.argv[i]);
    case "handler":
      return b.kind === "handler" && a.handler === b.handler && a.payload === b.payload;
    default:
      return assertNever(a, "unknown task kind");
  }
}

function isSameRetry(a: RetryPolicy | null, b: RetryPolicy | null): boolean {
  if (a === null || b === null) return a === b;
  return a.retries === b.retries && a.backoff === b.backoff && a.delayMs === b.delayMs &&
    a.maxDelayMs === b.maxDelayMs;
}
