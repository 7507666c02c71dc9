/**
 * Retrying a task that ended without success (`mutirao retry ID`, `POST /api/v1/tasks/{id}/retry`):
 * a new task with the old one's spec and options. Its idempotency key is derived from the old id,
 * so retrying the same task twice (or a retry whose reply was lost) gives the same new task, from
 * the CLI and the REST API alike.
 * @module
 */
import type { TaskState, TaskView } from "./task_schemas.ts";
import type { ClientToOrchestrator } from "./client_requests.ts";

type Submit = Extract<ClientToOrchestrator, { type: "submit" }>;

/** States a task may be retried from. */
export const RETRYABLE_STATES: ReadonlySet<TaskState> = new Set(["failed", "cancelled", "expired"]);

/** Why `task` cannot be retried (it has not ended, or it succeeded), or null when it can. */
export function retryRefusal(task: Pick<TaskView, "id" | "state">): string | null {
  if (RETRYABLE_STATES.has(task.state)) return null;
  return `Task ${task.id} is ${task.state}: only failed, cancelled or expired tasks can be retried`;
}

/**
 * The submission that retries `old` (without the envelope and token).
 * @example retrySubmission(task) // { type: "submit", idempotencyKey: "retry-of-t-7", task: … }
 */
export function retrySubmission(
  old: Pick<TaskView, "id" | "spec" | "maxAttempts" | "retry" | "priority" | "queue">,
): Omit<Submit, "v" | "lamport" | "id" | "token"> {
  return {
    type: "submit",
    idempotencyKey: `retry-of-${old.id}`,
    task: old.spec,
    maxAttempts: old.maxAttempts,
    ...(old.retry === undefined ? {} : { retry: old.retry }),
    ...(old.priority === undefined ? {} : { priority: old.priority }),
    ...(old.queue === undefined ? {} : { queue: old.queue }),
  };
}
