/**
 * Removing finished tasks (retention, purge): part of `apply`, deterministic like it.
 * @module
 */
import { isFinalState, kindOf } from "../../shared/protocol/messages.ts";
import type { ApplyResult, TasksRemoved } from "./commands.ts";
import type { TaskStateMachine } from "./task_state_machine.ts";

/**
 * Removes the named tasks that are in a final state, with their idempotency keys; skips the
 * others (unknown, already removed, still active), so every replica removes the same ones.
 */
export function removeTasks(sm: TaskStateMachine, command: TasksRemoved): ApplyResult {
  const owners = new Set<string>();
  let removed = 0;
  for (const id of command.taskIds) {
    const task = sm.tasks.get(id);
    if (task === undefined || !isFinalState(task.state)) continue;
    sm.tasks.delete(id);
    if (sm.idempotency.get(task.owner, task.idempotencyKey) === id) {
      sm.idempotency.delete(task.owner, task.idempotencyKey);
    }
    sm.counts[task.state] -= 1;
    sm.ownerCounts(task.owner)[task.state] -= 1;
    sm.countsByKind.remove(kindOf(task.spec), task.state);
    owners.add(task.owner);
    removed += 1;
  }
  if (removed === 0) return { type: "removed", removed };
  // Lists keep removed ids until they are mostly dead (views skip them): removal stays O(1).
  const isLive = (id: string) => sm.tasks.has(id);
  sm.taskOrder = compactIfSparse(sm.taskOrder, isLive, sm.tasks.size);
  for (const owner of owners) {
    const left = sm.retainedTasksOf(owner);
    const owned = sm.ownerTasks.get(owner);
    if (left === 0) {
      sm.ownerTasks.delete(owner);
      sm.countsByOwner.delete(owner);
    } else if (owned !== undefined) {
      sm.ownerTasks.set(owner, compactIfSparse(owned, isLive, left));
    }
  }
  sm.finishedOrder.prune(isLive, sm.finishedCount, owners, (owner) => {
    const counts = sm.countsByOwner.get(owner);
    return counts === undefined
      ? 0
      : counts.succeeded + counts.failed + counts.cancelled + counts.expired;
  });
  return { type: "removed", removed };
}

/** `ids` without removed ones once at most half of them are live; else `ids` itself. */
function compactIfSparse(ids: string[], isLive: (id: string) => boolean, live: number): string[] {
  return ids.length > 2 * live + 64 ? ids.filter(isLive) : ids;
}

/** Whether `taskId` is one this cluster issued whose task was since removed (ids run in sequence). */
export function wasRemoved(
  sm: Pick<TaskStateMachine, "nextTaskSeq" | "tasks">,
  taskId: string,
): boolean {
  // Only the canonical form names a task: "t-01" is not t-1.
  const match = /^t-([1-9][0-9]{0,14})$/.exec(taskId);
  if (match === null) return false;
  const seq = Number(match[1]);
  return seq >= 1 && seq < sm.nextTaskSeq && !sm.tasks.has(taskId);
}
