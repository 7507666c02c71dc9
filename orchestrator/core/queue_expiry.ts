/**
 * The leader's expiry sweep: queued tasks whose queue timeout (`--queue-timeout`) passed without
 * an assignment end `expired`, a batch per proposal. Like retention, the decision is the leader's
 * and goes through the log (`tasksExpired`); the state machine skips a named task that was
 * assigned meanwhile, so a sweep racing an assignment never expires a started task.
 * @module
 */
import type { Command, Stamp, TaskStateMachine } from "../tasks/mod.ts";
import { RetentionRounds } from "./retention.ts";

/** Tasks one `tasksExpired` entry names at most. */
export const EXPIRY_BATCH = 1000;
/** How often a leader looks for expired tasks (and at once again while a backlog lasts). */
export const EXPIRY_SWEEP_MS = 100;

/** Rounds of the sweep: at most one proposal in flight (a retention round does the same). */
export class ExpiryRounds extends RetentionRounds {}

/** Proposes the expiry of queued tasks whose deadline passed by `nowMs`, if due. */
export function sweepExpiries(
  sm: TaskStateMachine,
  rounds: ExpiryRounds,
  nowMs: number,
  io: { propose(command: Command): number | null; stamp(): Stamp },
): void {
  if (sm.queueDeadlines.size === 0 || !rounds.due(nowMs, EXPIRY_SWEEP_MS)) return;
  const taskIds = sm.queueDeadlines.due(nowMs, EXPIRY_BATCH);
  const index = taskIds.length === 0
    ? null
    : io.propose({ type: "tasksExpired", taskIds, ...io.stamp() });
  rounds.swept(nowMs, taskIds.length, EXPIRY_BATCH, index);
}
