/**
 * What a ready leader proposes on its own, each step: assignments of queued tasks to workers with
 * free slots (the scheduling round), and the loss of workers whose heartbeats stopped. Both count
 * what this leader already proposed and has not applied yet, so nothing is proposed twice.
 * @module
 */
import type { SchedulerPolicy } from "../scheduler/mod.ts";
import type { Command, Stamp, TaskStateMachine, WorkerRecord } from "../tasks/mod.ts";
import type { FailureDetector } from "./failure_detector.ts";
import type { InFlightProposals } from "./in_flight_proposals.ts";
import { DEFAULT_MAX_ASSIGNMENTS_PER_ROUND, planRound } from "./scheduling_round.ts";

/** What the rounds need from the node. */
export interface LeaderRoundContext {
  proposals: InFlightProposals;
  detector: FailureDetector;
  options: { schedulerPolicy: SchedulerPolicy; maxAssignmentsPerRound?: number };
  sm(): TaskStateMachine;
  nowMs(): number;
  /** True for a worker that may take work now (connected as its current incarnation). */
  isAvailable(worker: WorkerRecord): boolean;
  propose(command: Command): number | null;
  stamp(): Stamp;
}

/** Proposes one scheduling round's assignments. */
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
  });
  for (const { taskId, attempt, workerId, incarnation } of plan) {
    proposals.assignments.set(taskId, workerId);
    proposals.lastWorker = workerId;
    ctx.propose({ type: "taskAssigned", taskId, attempt, workerId, incarnation, ...ctx.stamp() });
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
