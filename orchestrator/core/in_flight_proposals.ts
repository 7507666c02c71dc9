/**
 * What this leader proposed that is not applied yet, so that it is neither proposed twice nor
 * counted wrong meanwhile: assignments (and the round-robin cursor after them), worker losses,
 * and results. All of it is soft state, forgotten when leadership changes.
 * @module
 */

export class InFlightProposals {
  /** Assignments: task id -> worker id. */
  readonly assignments = new Map<string, string>();
  /** Workers whose loss is proposed. */
  readonly losses = new Set<string>();
  /** Results, `${taskId}#${attempt}` -> worker id, so duplicates are not re-proposed. */
  readonly finishes = new Map<string, string>();
  /** Round robin continues from the last proposal, not only the last applied one. */
  lastWorker: string | null = null;

  /** Leadership changed: what was proposed may or may not commit, and is not ours to count. */
  clear(): void {
    this.assignments.clear();
    this.losses.clear();
    this.finishes.clear();
    this.lastWorker = null;
  }
}
