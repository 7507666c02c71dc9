/**
 * Read-only views of the state for replies: what `status`, `list` and
 * `workers` show. They copy, so a reply never aliases live state.
 * @module
 */
import {
  DEFAULT_QUEUE,
  kindOf,
  type TaskState,
  type TaskSummary,
  type TaskView,
  type WorkerView,
} from "../../shared/protocol/messages.ts";
import type { TaskRecord, WorkerRecord } from "./records.ts";
import { SUMMARY_DESCRIPTION_CHARS } from "../../shared/limits.ts";
import type { TaskStateMachine } from "./task_state_machine.ts";
import { assert } from "../../shared/assert.ts";
import { historyOf } from "./task_history.ts";

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
    history: historyOf(task),
    // Only when used, so views of plain tasks stay readable by clients from before retries.
    ...(task.retry === null ? {} : { retry: { ...task.retry } }),
    ...(task.retried === 0 ? {} : { retried: task.retried }),
    ...(task.notBeforeMs === 0 ? {} : { notBeforeMs: task.notBeforeMs }),
    ...(task.priority === 0 ? {} : { priority: task.priority }),
    ...(task.queue === DEFAULT_QUEUE ? {} : { queue: task.queue }),
    ...(task.after.length === 0 ? {} : { after: [...task.after] }),
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
    kind: kindOf(task.spec),
    ...(task.queue === DEFAULT_QUEUE ? {} : { queue: task.queue }),
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
    ...(worker.kinds.length === 0 ? {} : { kinds: [...worker.kinds] }),
    ...(worker.queues.length === 1 && worker.queues[0] === DEFAULT_QUEUE
      ? {}
      : { queues: [...worker.queues] }),
  };
}

/** One page of a task list: the tasks, how many match in all, and where the next page starts. */
export interface TaskPage {
  tasks: TaskSummary[];
  /** Every task that matches the owner and states, on any page. */
  total: number;
  /** The cursor for the next (older) page, or null when this page is the last. */
  next: string | null;
}

/**
 * A page of an owner's tasks (or everyone's, with owner null), newest first, in any of `states`
 * (all states when absent or empty), starting after the cursor `after`. A cursor is the id of the
 * last task a page showed; the next page holds the tasks submitted before it, so tasks submitted
 * meanwhile never shift a page. `scan`, for tests, counts the task ids visited.
 */
export function listTaskPage(
  sm: TaskStateMachine,
  options: {
    owner: string | null;
    states?: readonly TaskState[];
    after?: string;
    limit: number;
    scan?: { visited: number };
  },
): TaskPage {
  const ids = options.owner === null ? sm.taskOrder : sm.ownerTasks.get(options.owner) ?? [];
  const wanted = options.states === undefined || options.states.length === 0
    ? null
    : new Set(options.states);
  const start = options.after === undefined
    ? ids.length - 1
    : _indexBefore(sm, ids, _cursorSeq(options.after));
  const tasks: TaskSummary[] = [];
  let next: string | null = null;
  const total = _countMatching(sm, options.owner, wanted);
  // No more than `total` match anywhere: once that many were seen the rest of the list holds none
  // (without a cursor, the scan stops at the oldest match; with none at all, it never starts).
  let matched = 0;
  let visited = 0;
  for (let i = start; i >= 0 && matched < total; i--) {
    visited++;
    const task = sm.tasks.get(ids[i]);
    if (task === undefined) continue;
    if (wanted !== null && !wanted.has(task.state)) continue;
    matched++;
    if (tasks.length === options.limit) {
      next = tasks.at(-1)?.id ?? null;
      break;
    }
    tasks.push(toTaskSummary(task));
  }
  if (options.scan !== undefined) options.scan.visited += visited;
  return { tasks, total, next };
}

/** An owner's tasks (or everyone's, with owner null), newest first, optionally in one state. */
export function listTasks(
  sm: TaskStateMachine,
  options: { owner: string | null; state?: TaskState; limit: number },
): TaskSummary[] {
  const states = options.state === undefined ? undefined : [options.state];
  return listTaskPage(sm, { owner: options.owner, states, limit: options.limit }).tasks;
}

/** The task sequence number a cursor (a task id, `t-N`) stands for. */
function _cursorSeq(cursor: string): number {
  const match = /^t-([0-9]{1,15})$/.exec(cursor);
  // The codec admits only task ids as cursors (ListSchema): anything else is a bug.
  assert(match !== null, `list cursor is not a task id: ${JSON.stringify(cursor)}`);
  return Number(match[1]);
}

/** The index of the newest task in `ids` (in submission order) submitted before task `seq`. */
function _indexBefore(sm: TaskStateMachine, ids: readonly string[], seq: number): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const midSeq = sm.tasks.get(ids[mid])?.seq ?? Number(ids[mid].slice(2));
    if (midSeq < seq) low = mid + 1;
    else high = mid;
  }
  return low - 1;
}

/** How many tasks of `ids` are in a wanted state; the state counts answer for everyone at once. */
function _countMatching(
  sm: TaskStateMachine,
  owner: string | null,
  wanted: ReadonlySet<TaskState> | null,
): number {
  // The lists keep removed tasks' ids for a while (see TaskStateMachine.tasksRemoved): count
  // what is retained, not the list.
  if (wanted === null) return owner === null ? sm.tasks.size : sm.retainedTasksOf(owner);
  if (owner === null) {
    let total = 0;
    for (const state of wanted) total += sm.counts[state];
    return total;
  }
  const counts = sm.countsByOwner.get(owner);
  let total = 0;
  for (const state of wanted) total += counts?.[state] ?? 0;
  return total;
}
