/**
 * Tasks counted by state (per owner, per kind): a record with a field per state.
 * @module
 */
import type { TaskState } from "../../shared/protocol/task_schemas.ts";

/** A fresh count of zero in every state. */
export function zeroStateCounts(): Record<TaskState, number> {
  return { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, expired: 0 };
}

/** Tasks counted in any state. */
export function totalOfStates(counts: Readonly<Record<TaskState, number>>): number {
  return counts.queued + counts.running + counts.succeeded + counts.failed + counts.cancelled +
    counts.expired;
}
