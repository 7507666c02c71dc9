/**
 * What a ready leader proposes on its own, each step: assignments of queued tasks to workers with
 * free slots (the scheduling round), and the loss of workers whose heartbeats stopped. Both count
 * what this leader already proposed and has not applied yet, so nothing is proposed twice.
 * @module
 */
import type { SchedulerPolicy } from "../scheduler/mod.ts";
import type { Command, Stamp, TaskRecord, TaskStateMachine, WorkerRecord } from "../tasks/mod.ts";
import type { FailureDetector } from "./failure_detector.ts";
import type { InFlightProposals } from "./in_flight_proposals.ts";
import {
  DEFAULT_MAX_ASSIGNMENTS_PER_ROUND,
  planRound,
  type RunningLimits,
} from "./scheduling_round.ts";

/** What the rounds need from the node. */
export interface LeaderRoundContext {
  proposals: InFlightProposals;
  detector: FailureDetector;
  options: {
    schedulerPolicy: SchedulerPolicy;
    maxAssignmentsPerRound?: number;
    runningLimits?: RunningLimits;
    priorityAgingMs?: number;
  };
  sm(): TaskStateMachine;
  nowMs(): number;
  /** True for a worker that may take work now (connected as its current incarnation). */
  isAvailable(worker: WorkerRecord): boolean;
  propose(command: Command): number | null;
  stamp(): Stamp;
  /**
   * Sends an assignment to its worker now; returns the connection it went out on, or null when
   * the worker is not connected.
   */
  dispatch(task: TaskRecord, workerId: string): number | null;
}

/**
 * Proposes one scheduling round's assignments, and sends each to its worker at once, before it
 * commits: the task starts one commit round sooner (submit→running is one commit, not two).
 * Safe because nothing the worker reports is trusted before the assignment is: its start and
 * result are proposed after the assignment, so they apply after it in log order, and they are
 * rejected as stale if it was rejected (the worker is then told to abort). If this leader is
 * deposed before the assignment commits, the worker may run an attempt the cluster never
 * recorded; its result is fenced off like any stale attempt's and the task runs again elsewhere —
 * the same at-least-once execution as after a worker crash, never a second recorded result.
 */
export function proposeAssignments(ctx: LeaderRoundContext): void {
  const { proposals, options } = ctx;
  const plan = planRound({
    sm: ctx.sm(),
    proposedAssignments: proposals.assignments,
    proposedFinishes: proposals.finishes,
    isAvailable: (worker) => ctx.isAvailable(worker),
    policy: options.schedulerPolicy,
    cursor: proposals.lastWorker,
    maxAssignments: options.maxAssignmentsPerRound ?? DEFAULT_MAX_ASSIGNMENTS_PER_ROUND,
    nowMs: ctx.nowMs(),
    ...(options.runningLimits === undefined ? {} : { limits: options.runningLimits }),
    ...(options.priorityAgingMs === undefined ? {} : { priorityAgingMs: options.priorityAgingMs }),
  });
  for (const { taskId, attempt, workerId, incarnation } of plan) {
    proposals.assignments.set(taskId, workerId);
    proposals.lastWorker = workerId;
    const index = ctx.propose({
      type: "taskAssigned",
      taskId,
      attempt,
      workerId,
      incarnation,
      ...ctx.stamp(),
    });
    const task = ctx.sm().tasks.get(taskId);
    if (index === null || task === undefined) continue;
    const conn = ctx.dispatch(task, workerId);
    if (conn !== null) proposals.dispatched.set(taskId, conn);
  }
}

/** Proposes the loss of every worker the failure detector now suspects (once each). */
export function proposeLosses(ctx: LeaderRoundContext): void {
  const { proposals } = ctx;
  const candidates = [...ctx.sm().workers.values()].filter((w) => !proposals.losses.has(w.id));
  for (const suspect of ctx.detector.suspects(candidates, ctx.nowMs())) {
    proposals.losses.add(suspect.id);
    ctx.propose({
      type: "workerLost",
      workerId: suspect.id,
      incarnation: suspect.incarnation,
      reason: `missed heartbeats (silent for ${suspect.silentMs} ms)`,
      ...ctx.stamp(),
    });
  }
}
