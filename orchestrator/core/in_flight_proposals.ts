/**
 * What this leader proposed that is not applied yet, so that it is neither proposed twice nor
 * counted wrong meanwhile: assignments (and the round-robin cursor after them), worker losses,
 * and results. All of it is soft state, forgotten when leadership changes.
 * @module
 */

/** A worker's result proposed and not applied yet. */
export interface PendingFinish {
  taskId: string;
  attempt: number;
  workerId: string;
}

export class InFlightProposals {
  /** Assignments: task id -> worker id. */
  readonly assignments = new Map<string, string>();
  /**
   * Assignments already sent to their worker when proposed (see leader_rounds.ts): task id ->
   * the worker connection it went out on, so applying it sends it only if that connection is gone.
   */
  readonly dispatched = new Map<string, number>();
  /** Workers whose loss is proposed. */
  readonly losses = new Set<string>();
  /** Results, by {@link finishKey}, so duplicates are not re-proposed. */
  readonly finishes = new Map<string, PendingFinish>();
  /** Round robin continues from the last proposal, not only the last applied one. */
  lastWorker: string | null = null;

  /** Leadership changed: what was proposed may or may not commit, and is not ours to count. */
  clear(): void {
    this.assignments.clear();
    this.dispatched.clear();
    this.losses.clear();
    this.finishes.clear();
    this.lastWorker = null;
  }
}

/**
 * Names a proposed result. The worker is part of it: two workers may report the same attempt (one
 * ran it from a dispatch that was refused, the other from the one that stands), and the first
 * report, bound to be refused, must not hold back the second.
 */
export function finishKey(taskId: string, attempt: number, workerId: string): string {
  return `${taskId}#${attempt}@${workerId}`;
}
