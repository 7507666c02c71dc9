/**
 * Read-only views of the state for replies: what `status`, `list` and
 * `workers` show. They copy, so a reply never aliases live state.
 * @module
 */
import type {
  TaskState,
  TaskSummary,
  TaskView,
  WorkerView,
} from "../../shared/protocol/messages.ts";
import type { TaskRecord, WorkerRecord } from "./records.ts";
import { SUMMARY_DESCRIPTION_CHARS } from "../../shared/limits.ts";
import type { TaskStateMachine } from "./task_state_machine.ts";

export function toTaskView(task: TaskRecord, waitingReason: string | null): TaskView {
  return {
    id: task.id,
    owner: task.owner,
    state: task.state,
    spec: structuredClone(task.spec),
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    workerId: task.workerId,
    submittedAtMs: task.submittedAtMs,
    finishedAtMs: task.finishedAtMs,
    result: task.result === null ? null : { ...task.result },
    waitingReason: task.state === "queued" ? waitingReason : null,
    history: task.history.map((event) => ({ ...event })),
  };
}

export function toTaskSummary(task: TaskRecord): TaskSummary {
  return {
    id: task.id,
    owner: task.owner,
    state: task.state,
    description: task.spec.description.length > SUMMARY_DESCRIPTION_CHARS
      ? `${task.spec.description.slice(0, SUMMARY_DESCRIPTION_CHARS - 1)}…`
      : task.spec.description,
    kind: task.spec.kind,
    attempt: task.attempt,
    workerId: task.workerId,
    submittedAtMs: task.submittedAtMs,
    finishedAtMs: task.finishedAtMs,
  };
}

export function toWorkerView(worker: WorkerRecord, lastHeartbeatAgoMs: number | null): WorkerView {
  return {
    id: worker.id,
    incarnation: worker.incarnation,
    status: worker.status,
    slots: worker.slots,
    running: worker.running.size,
    canExec: worker.canExec,
    execAllow: worker.execAllow === null ? null : [...worker.execAllow],
    lastHeartbeatAgoMs,
    completed: worker.completed,
  };
}

/** An owner's tasks (or everyone's, with owner null), newest first, optionally in one state. */
export function listTasks(
  sm: TaskStateMachine,
  options: { owner: string | null; state?: TaskState; limit: number },
): TaskSummary[] {
  const ids = options.owner === null ? sm.taskOrder : sm.ownerTasks.get(options.owner) ?? [];
  const out: TaskSummary[] = [];
  for (let i = ids.length - 1; i >= 0 && out.length < options.limit; i--) {
    const task = sm.tasks.get(ids[i]);
    if (task === undefined) continue;
    if (options.state !== undefined && task.state !== options.state) continue;
    out.push(toTaskSummary(task));
  }
  return out;
}
