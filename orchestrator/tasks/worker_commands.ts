/**
 * The worker commands of the task state machine: workers joining, draining and lost, and what
 * happens to an attempt on a worker (assigned, started, finished, handed back). Part of `apply`, so
 * pure and deterministic like it. A report that no longer fits the state (from an attempt that was
 * requeued, or a worker incarnation that is gone) is rejected the same way on every replica.
 * @module
 */
import type { TaskMetrics } from "./task_metrics.ts";
import { assert, assertNever } from "../../shared/assert.ts";
import {
  DEFAULT_QUEUE,
  type Outcome,
  type TaskEvent,
  type TaskState,
} from "../../shared/protocol/messages.ts";
import type {
  ApplyResult,
  Stamp,
  TaskAssigned,
  TaskFinished,
  TaskHandedBack,
  TaskStarted,
  WorkerDraining,
  WorkerJoined,
  WorkerLost,
} from "./commands.ts";
import type { Stats, TaskRecord, WorkerRecord } from "./records.ts";
import { laneOf, type TaskQueue } from "./task_queue.ts";
import type { QueueDeadlines } from "./queue_deadlines.ts";
import { OK, rejected } from "./_apply_results.ts";
import { lastLamportOf } from "./task_history.ts";
import { retryDelayMs } from "./retry_backoff.ts";

/** Characters of a failed attempt's error kept in its "retrying" event. */
const RETRY_DETAIL_CHARS = 1000;

/** The commands {@link WorkerCommands} applies. */
export type WorkerCommand =
  | TaskAssigned
  | TaskStarted
  | TaskFinished
  | TaskHandedBack
  | WorkerJoined
  | WorkerDraining
  | WorkerLost;

/**
 * The replicated state the worker commands change. The task state machine is one; its fields are
 * read on every call, because restoring a snapshot replaces them.
 */
export interface WorkerCommandState {
  tasks: Map<string, TaskRecord>;
  workers: Map<string, WorkerRecord>;
  queue: TaskQueue;
  /** Queued tasks' queue deadlines, until first assigned. */
  queueDeadlines: QueueDeadlines;
  stats: Stats;
  /** Observations for /metrics (local, not replicated). */
  metrics: TaskMetrics;
  /** The worker that got the last assignment; round robin continues after it. */
  rrCursor: string | null;
}

/** How a task changes state and records history; the state machine owns both (they keep its counts). */
export interface TaskLifecycle {
  /** Moves `task` to state `to`, keeping the per-state and per-owner counts. */
  transition(task: TaskRecord, to: TaskState): void;
  /** `outcome`, or an equal copy shared with other tasks (it must never be changed in place). */
  shareOutcome(outcome: Outcome): Outcome;
  /** Appends an event to `task`'s history, in Lamport order. */
  record(
    task: TaskRecord,
    event: TaskEvent["event"],
    stamp: Stamp,
    workerId: string | null,
    detail: string | null,
  ): void;
}

/** Applies worker commands to a {@link WorkerCommandState}. */
export class WorkerCommands {
  readonly #state: WorkerCommandState;
  readonly #lifecycle: TaskLifecycle;

  constructor(state: WorkerCommandState, lifecycle: TaskLifecycle) {
    this.#state = state;
    this.#lifecycle = lifecycle;
  }

  apply(command: WorkerCommand): ApplyResult {
    switch (command.type) {
      case "taskAssigned":
        return this.#assign(command);
      case "taskStarted":
        return this.#start(command);
      case "taskFinished":
        return this.#finish(command);
      case "taskHandedBack":
        return this.#handBack(command);
      case "workerJoined":
        return this.#join(command);
      case "workerDraining":
        return this.#drain(command);
      case "workerLost":
        return this.#lose(command);
      default:
        return assertNever(command, "unknown worker command");
    }
  }

  #assign(command: TaskAssigned): ApplyResult {
    const state = this.#state;
    const task = state.tasks.get(command.taskId);
    if (task === undefined) return rejected("unknown task");
    if (task.state !== "queued") return rejected(`task is ${task.state}`);
    if (task.attempt !== command.attempt) return rejected("stale attempt");
    const worker = state.workers.get(command.workerId);
    if (worker === undefined || worker.incarnation !== command.incarnation) {
      return rejected("worker incarnation is gone");
    }
    if (worker.status !== "alive") return rejected("worker is draining");
    if (worker.running.size >= capacityOf(worker)) return rejected("worker has no free slot");
    if (task.spec.kind === "exec" && !worker.canExec) return rejected("worker does not allow exec");
    if (task.spec.kind === "exec" && !workerRuns(worker, task.spec.argv[0])) {
      return rejected("worker does not allow this program");
    }
    if (task.spec.kind === "handler" && !worker.kinds.includes(task.spec.handler)) {
      return rejected(`worker does not serve kind ${task.spec.handler}`);
    }
    if (command.atMs < task.notBeforeMs) return rejected("task is not due yet");
    if (task.waitingFor.length > 0) return rejected("task waits for the tasks it runs after");
    if (state.queueDeadlines.has(task.id) && command.atMs > task.queueDeadlineMs) {
      return rejected("task's queue timeout passed");
    }
    if (!worker.queues.includes(task.queue)) {
      return rejected(`worker does not take tasks from queue ${task.queue}`);
    }
    state.queue.remove(task.id);
    // Assigned: it started in time, and its queue timeout no longer applies.
    state.queueDeadlines.delete(task.id);
    worker.running.add(task.id);
    task.workerId = worker.id;
    task.started = false;
    this.#lifecycle.transition(task, "running");
    state.rrCursor = worker.id;
    this.#lifecycle.record(task, "assigned", command, worker.id, null);
    return OK;
  }

  #start(command: TaskStarted): ApplyResult {
    const task = this.#currentAttempt(command);
    if (task === null) return this.#stale();
    if (task.started) return OK; // a duplicate report of the same start
    if (!isAfterLastEvent(task, command)) return rejected("Lamport time not after history");
    task.started = true;
    this.#state.metrics.started(task, command.atMs);
    this.#lifecycle.record(task, "started", command, command.workerId, null);
    return OK;
  }

  #finish(command: TaskFinished): ApplyResult {
    const task = this.#currentAttempt(command);
    if (task === null) return this.#stale();
    if (!isAfterLastEvent(task, command)) return rejected("Lamport time not after history");
    const worker = this.#state.workers.get(command.workerId);
    assert(worker !== undefined, `running task ${task.id} on unknown worker ${command.workerId}`);
    worker.running.delete(task.id);
    worker.completed += 1;
    if (command.includesStart === true && !task.started) {
      // One report for a short attempt's start and end: both events, in that order.
      task.started = true;
      this.#state.metrics.started(task, command.atMs);
      this.#lifecycle.record(task, "started", command, command.workerId, null);
    }
    this.#state.metrics.finished(command.outcome);
    if (command.outcome.status === "failed" && this.#retryAfterFailure(task, command)) return OK;
    task.result = this.#lifecycle.shareOutcome(command.outcome);
    task.finishedAtMs = command.atMs;
    this.#lifecycle.transition(task, command.outcome.status);
    this.#lifecycle.record(
      task,
      command.outcome.status,
      command,
      command.workerId,
      describeOutcome(command),
    );
    return OK;
  }

  /**
   * Queues the next attempt of a task whose attempt failed, after its backoff, when its retry
   * policy has retries left; false when it has none (the task fails).
   */
  #retryAfterFailure(task: TaskRecord, command: TaskFinished): boolean {
    const policy = task.retry;
    if (policy === null || task.retried >= policy.retries) return false;
    const delayMs = retryDelayMs(policy, task.retried, task.seq);
    task.retried += 1;
    this.#state.metrics.retriedByPolicy += 1;
    const detail =
      `${truncate(describeOutcome(command), RETRY_DETAIL_CHARS)}; retry ${task.retried}` +
      ` of ${policy.retries} in ${formatSeconds(delayMs)}`;
    this.#lifecycle.record(task, "retrying", command, command.workerId, detail);
    task.attempt += 1;
    task.workerId = null;
    task.started = false;
    task.notBeforeMs = command.atMs + delayMs;
    this.#lifecycle.transition(task, "queued");
    const since = task.submittedAtMs;
    if (delayMs > 0) this.#state.queue.pushTimed(task.id, task.notBeforeMs, laneOf(task), since);
    else this.#state.queue.pushRetry(task.id, laneOf(task), since);
    return true;
  }

  #handBack(command: TaskHandedBack): ApplyResult {
    const task = this.#currentAttempt(command);
    if (task === null) return this.#stale();
    this.#requeue(task, `handed back by ${command.workerId}: ${command.reason}`, command);
    return OK;
  }

  #join(command: WorkerJoined): ApplyResult {
    const workers = this.#state.workers;
    const existing = workers.get(command.workerId);
    if (existing !== undefined) {
      // A re-registration of the same process after a reconnect changes nothing.
      if (existing.incarnation === command.incarnation) return OK;
      this.#removeWorker(existing, "replaced by a new incarnation of the same worker", command);
    }
    workers.set(command.workerId, {
      id: command.workerId,
      incarnation: command.incarnation,
      slots: command.slots,
      prefetch: command.prefetch ?? 0,
      canExec: command.canExec,
      execAllow: command.execAllow ?? null,
      kinds: command.kinds ?? [],
      queues: command.queues ?? [DEFAULT_QUEUE],
      status: "alive",
      joinedAtMs: command.atMs,
      running: new Set(),
      completed: 0,
    });
    return OK;
  }

  #drain(command: WorkerDraining): ApplyResult {
    const worker = this.#state.workers.get(command.workerId);
    if (worker === undefined || worker.incarnation !== command.incarnation) {
      return rejected("worker incarnation is gone");
    }
    worker.status = "draining";
    return OK;
  }

  #lose(command: WorkerLost): ApplyResult {
    const worker = this.#state.workers.get(command.workerId);
    if (worker === undefined || worker.incarnation !== command.incarnation) {
      return rejected("worker incarnation is gone");
    }
    this.#removeWorker(worker, command.reason, command);
    this.#state.metrics.workersLost += 1;
    return OK;
  }

  #removeWorker(worker: WorkerRecord, reason: string, stamp: Stamp): void {
    const tasks = this.#state.tasks;
    // Sorted so every replica requeues in the same order whatever the set's history.
    const running = [...worker.running].sort((a, b) => taskAt(tasks, a).seq - taskAt(tasks, b).seq);
    for (const taskId of running) {
      this.#requeue(taskAt(tasks, taskId), `worker ${worker.id} ${reason}`, stamp);
    }
    this.#state.workers.delete(worker.id);
  }

  /** Puts a running task back in the queue as a new attempt, or fails it past its attempt budget. */
  #requeue(task: TaskRecord, reason: string, stamp: Stamp): void {
    assert(task.state === "running", `requeue of ${task.state} task ${task.id}`);
    this.#state.workers.get(task.workerId!)?.running.delete(task.id);
    const workerId = task.workerId;
    // Attempts lost to workers, not those that failed and were retried (their own budget).
    if (task.attempt - task.retried >= task.maxAttempts) {
      task.result = {
        status: "failed",
        exitCode: null,
        stdout: "",
        stderr: "",
        error: `Gave up after ${task.attempt} attempt(s): ${reason}`,
        durationMs: 0,
      };
      task.finishedAtMs = stamp.atMs;
      this.#lifecycle.transition(task, "failed");
      this.#lifecycle.record(task, "failed", stamp, workerId, task.result.error);
      return;
    }
    task.attempt += 1;
    task.workerId = null;
    task.started = false;
    this.#lifecycle.transition(task, "queued");
    this.#state.queue.pushRetry(task.id, laneOf(task), task.submittedAtMs);
    this.#state.stats.retries += 1;
    this.#lifecycle.record(task, "requeued", stamp, workerId, reason);
  }

  /** The running task whose current attempt `ref` names, or null when `ref` is stale. */
  #currentAttempt(
    ref: { taskId: string; attempt: number; workerId: string },
  ): TaskRecord | null {
    const task = this.#state.tasks.get(ref.taskId);
    if (task === undefined || task.state !== "running") return null;
    if (task.attempt !== ref.attempt || task.workerId !== ref.workerId) return null;
    return task;
  }

  #stale(): ApplyResult {
    this.#state.stats.staleReports += 1;
    return rejected("stale attempt");
  }
}

/** How many attempts a worker may hold at once: its slots plus what it prefetches. */
export function capacityOf(worker: { slots: number; prefetch: number }): number {
  return worker.slots + worker.prefetch;
}

/** Whether an exec worker runs `program` (its allow-list, if any, names it exactly). */
export function workerRuns(
  worker: { canExec: boolean; execAllow: readonly string[] | null },
  program: string,
): boolean {
  return worker.canExec && (worker.execAllow === null || worker.execAllow.includes(program));
}

/** The task a worker's running set names; every such task exists (checked by the invariants). */
function taskAt(tasks: Map<string, TaskRecord>, taskId: string): TaskRecord {
  const task = tasks.get(taskId);
  assert(task !== undefined, `worker runs unknown task ${taskId}`);
  return task;
}

function isAfterLastEvent(task: TaskRecord, stamp: Stamp): boolean {
  const last = lastLamportOf(task.packedHistory);
  return last === undefined || stamp.lamport > last;
}

function describeOutcome(command: TaskFinished): string {
  const { outcome } = command;
  if (outcome.error !== null) return outcome.error;
  if (outcome.exitCode !== null) return `exit code ${outcome.exitCode}`;
  return `in ${outcome.durationMs} ms`;
}

function truncate(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}
