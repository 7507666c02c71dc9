/**
 * One scheduling round of a ready leader: which queued tasks go to which connected workers,
 * counting the slots that proposals not yet applied will take (assignments) or free (results).
 * It only plans; the node proposes the assignments.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import {
  type ConcurrencyLimits,
  planAssignments,
  type SchedulableTask,
  type SchedulerPolicy,
} from "../scheduler/mod.ts";
import { capacityOf, type TaskStateMachine, type WorkerRecord } from "../tasks/mod.ts";
import type { PendingFinish } from "./in_flight_proposals.ts";

/** Queued tasks one scheduling round looks at, so unplaceable tasks cost bounded time. */
export const MAX_SCANNED_PER_ROUND = 10_000;
export const DEFAULT_MAX_ASSIGNMENTS_PER_ROUND = 1024;

export interface RoundInput {
  sm: TaskStateMachine;
  /** Assignments proposed but not yet applied: task id -> worker id. */
  proposedAssignments: ReadonlyMap<string, string>;
  /** Results proposed but not yet applied, by finishKey(task, attempt, worker). */
  proposedFinishes: ReadonlyMap<string, PendingFinish>;
  /** True for a worker that may take work now (connected as its current incarnation, not draining). */
  isAvailable: (worker: WorkerRecord) => boolean;
  policy: SchedulerPolicy;
  /** Round robin continues after this worker. */
  cursor: string | null;
  maxAssignments: number;
  /** The leader's clock: tasks put off until later are not placed before their time. */
  nowMs: number;
  /** Tasks running at once per queue, and per user (0 or absent: no limit). */
  limits?: RunningLimits;
  /**
   * A task waiting this long since it was submitted goes ahead of every priority of its queue
   * (0: priorities are strict); default DEFAULT_PRIORITY_AGING_MS.
   */
  priorityAgingMs?: number;
}

/** The cluster file's concurrency limits. */
export interface RunningLimits {
  maxRunningPerQueue: Readonly<Record<string, number>>;
  maxRunningPerUser: number;
}

/** How long a task waits before it goes ahead of every priority in its queue, by default. */
export const DEFAULT_PRIORITY_AGING_MS = 60_000;

/** An assignment to propose. */
export interface PlannedAssignment {
  taskId: string;
  attempt: number;
  workerId: string;
  incarnation: string;
}

/** Plans one round; empty when nothing is queued beyond what is proposed, or no worker is free. */
export function planRound(input: RoundInput): PlannedAssignment[] {
  const { sm, proposedAssignments } = input;
  if (sm.queue.size - sm.queue.notDueCount(input.nowMs) <= proposedAssignments.size) return [];
  // (Counts below are slots in use: applied, plus proposed assignments, minus proposed results.)
  const proposedPerWorker = new Map<string, number>();
  for (const workerId of proposedAssignments.values()) {
    proposedPerWorker.set(workerId, (proposedPerWorker.get(workerId) ?? 0) + 1);
  }
  // A result already on its way into the log frees its slot now: it comes before any new
  // assignment in the log, so the state machine sees the slot free when it applies that. Only a
  // result that will count does: one for the attempt the state has on that worker, or that this
  // leader proposed to it. A result bound to be refused (its assignment was refused meanwhile)
  // frees nothing, and counting it would plan assignments the state machine then refuses.
  const pendingResults = new Set<string>();
  for (const finish of input.proposedFinishes.values()) {
    pendingResults.add(finish.taskId);
    if (!willCount(sm, proposedAssignments, finish)) continue;
    proposedPerWorker.set(finish.workerId, (proposedPerWorker.get(finish.workerId) ?? 0) - 1);
  }
  const workers = [];
  for (const worker of sm.workers.values()) {
    // Only connected workers: an assignment to an unreachable one would just wait.
    if (worker.status !== "alive" || !input.isAvailable(worker)) continue;
    const busy = worker.running.size + (proposedPerWorker.get(worker.id) ?? 0);
    // Prefetch counts as slots here: the worker starts such an attempt as soon as one frees.
    const capacity = capacityOf(worker);
    if (busy < capacity) {
      workers.push({
        id: worker.id,
        slots: capacity,
        busy,
        canExec: worker.canExec,
        execAllow: worker.execAllow,
        kinds: worker.kinds,
        queues: worker.queues,
      });
    }
  }
  if (workers.length === 0) return [];
  const plan = planAssignments({
    policy: input.policy,
    queue: schedulableQueue(sm, proposedAssignments, pendingResults, input.nowMs, agedSince(input)),
    workers,
    cursor: input.cursor ?? sm.rrCursor,
    maxAssignments: input.maxAssignments,
    maxScanned: MAX_SCANNED_PER_ROUND,
    ...(hasLimits(input.limits)
      ? { limits: runningNow(sm, proposedAssignments, input.limits!) }
      : {}),
  });
  return plan.map(({ taskId, workerId }) => {
    const task = sm.tasks.get(taskId);
    const worker = sm.workers.get(workerId);
    assert(task !== undefined, `planned task ${taskId} is not in the state`);
    assert(worker !== undefined, `planned worker ${workerId} is not in the state`);
    return { taskId, attempt: task.attempt, workerId, incarnation: worker.incarnation };
  });
}

/** Tasks submitted by this time have waited long enough to go ahead of higher priorities. */
function agedSince(input: RoundInput): number {
  const agingMs = input.priorityAgingMs ?? DEFAULT_PRIORITY_AGING_MS;
  return agingMs > 0 ? input.nowMs - agingMs : -Infinity;
}

function hasLimits(limits: RunningLimits | undefined): boolean {
  return limits !== undefined &&
    (limits.maxRunningPerUser > 0 || Object.keys(limits.maxRunningPerQueue).length > 0);
}

/**
 * What runs now per queue and per owner, counting assignments proposed and not yet applied (only
 * computed when a limit is set: it walks the running tasks, at most every worker's slots).
 */
function runningNow(
  sm: TaskStateMachine,
  proposedAssignments: ReadonlyMap<string, string>,
  limits: RunningLimits,
): ConcurrencyLimits {
  const runningByQueue = new Map<string, number>();
  const runningByOwner = new Map<string, number>();
  const count = (taskId: string) => {
    const task = sm.tasks.get(taskId);
    if (task === undefined) return;
    runningByQueue.set(task.queue, (runningByQueue.get(task.queue) ?? 0) + 1);
    runningByOwner.set(task.owner, (runningByOwner.get(task.owner) ?? 0) + 1);
  };
  for (const worker of sm.workers.values()) for (const taskId of worker.running) count(taskId);
  for (const taskId of proposedAssignments.keys()) count(taskId);
  return { ...limits, runningByQueue, runningByOwner };
}

/** Whether a proposed result is for the attempt the worker holds now (or was proposed to hold). */
function willCount(
  sm: TaskStateMachine,
  proposedAssignments: ReadonlyMap<string, string>,
  finish: PendingFinish,
): boolean {
  const task = sm.tasks.get(finish.taskId);
  if (task === undefined || task.attempt !== finish.attempt) return false;
  if (task.state === "running") return task.workerId === finish.workerId;
  return task.state === "queued" && proposedAssignments.get(task.id) === finish.workerId;
}

/**
 * The queued tasks a round may place: not those already proposed, and not those with a result on
 * its way into the log. Such a result is about to be applied (or refused, when its assignment was
 * refused): assigning the same attempt again meanwhile would send it to a worker that still holds
 * that result and takes the assignment for a duplicate, and then forgets the result once it is
 * refused — the task would stay running for ever on a worker that has nothing for it.
 */
function* schedulableQueue(
  sm: TaskStateMachine,
  proposedAssignments: ReadonlyMap<string, string>,
  pendingResults: ReadonlySet<string>,
  nowMs: number,
  agedSinceMs: number,
): Generator<SchedulableTask> {
  for (const taskId of sm.queue.inOrder(nowMs, agedSinceMs)) {
    if (proposedAssignments.has(taskId) || pendingResults.has(taskId)) continue;
    const task = sm.tasks.get(taskId);
    assert(task !== undefined, `queued task ${taskId} is not in the state`);
    const spec = task.spec;
    const { queue, owner } = task;
    if (spec.kind === "exec") {
      yield { id: taskId, needsExec: true, program: spec.argv[0], queue, owner };
    } else if (spec.kind === "handler") {
      yield { id: taskId, needsExec: false, handler: spec.handler, queue, owner };
    } else yield { id: taskId, needsExec: false, queue, owner };
  }
}
