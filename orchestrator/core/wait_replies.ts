/**
 * Answers to `wait` requests: a waiter gets the task once it reaches a final state, or as it
 * stands when the waiter's deadline passes.
 * @module
 */
import { isFinalState } from "../../shared/protocol/messages.ts";
import type { TaskStateMachine } from "../tasks/mod.ts";
import type { NodeOutput } from "./node_output.ts";
import { viewTask } from "./view_task.ts";
import type { Waiters } from "./waiters.ts";

/** Answers the waiters of `taskId` if it has finished. */
export function answerFinished(
  waiters: Waiters,
  options: { sm: TaskStateMachine; taskId: string; out: NodeOutput },
): void {
  const { sm, out } = options;
  const task = sm.tasks.get(options.taskId);
  if (task === undefined || !isFinalState(task.state)) return;
  for (const waiter of waiters.take(options.taskId)) {
    out.send(waiter.conn, { type: "task", re: waiter.requestId, task: viewTask(sm, task) });
  }
}

/** Answers, with the task as it stands, the waiters whose deadline passed by `nowMs`. */
export function answerExpired(
  waiters: Waiters,
  options: { sm: TaskStateMachine; nowMs: number; out: NodeOutput },
): void {
  const { sm, out } = options;
  for (const waiter of waiters.expired(options.nowMs)) {
    const task = sm.tasks.get(waiter.taskId);
    if (task !== undefined) {
      const view = viewTask(sm, task, options.nowMs);
      out.send(waiter.conn, { type: "task", re: waiter.requestId, task: view });
    } else if (sm.isRemovedTask(waiter.taskId)) {
      // It finished and was removed while this node did not apply the finish (a snapshot
      // installed over it): the waiter is owed an answer all the same.
      out.sendError(waiter.conn, waiter.requestId, "expired", expiredMessage(waiter.taskId));
    }
  }
}

/** What `status`, `wait` and `cancel` of a task removed by retention or a purge say. */
export function expiredMessage(taskId: string): string {
  return `Task "${taskId}" expired: it finished and was removed (retention policy or purge)`;
}
