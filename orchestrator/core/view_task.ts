/**
 * A task as clients see it: its record, and for a queued one why it is not running yet.
 * @module
 */
import type { TaskView } from "../../shared/protocol/messages.ts";
import { type TaskRecord, type TaskStateMachine, toTaskView } from "../tasks/mod.ts";
import { waitingReason } from "./waiting_reason.ts";

/** The client's view of `task` in `sm` at `nowMs` (the time decides whether a delay is over). */
export function viewTask(sm: TaskStateMachine, task: TaskRecord, nowMs = 0): TaskView {
  return toTaskView(task, task.state === "queued" ? waitingReason(sm, task, nowMs) : null);
}
