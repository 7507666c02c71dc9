/**
 * What the task state machine observes for `/metrics` as it applies commands: how long tasks
 * waited from submission to their first start, how long attempts ran, and counts of retries by
 * policy, timeouts, expiries and lost workers. Times come from the applied commands' stamps
 * (`atMs`) and the workers' reported durations, never a clock, so every replica that applies the
 * same entries observes the same values. Local to a node, not replicated: it is not in
 * snapshots, and it starts empty when the node starts.
 * @module
 */
import { DURATION_BOUNDS_SECONDS, Histogram } from "../../shared/histogram.ts";

export class TaskMetrics {
  /** Submission to the first attempt's start, in seconds. */
  readonly waitSeconds = new Histogram(DURATION_BOUNDS_SECONDS);
  /** Attempts' run times as their workers measured them, in seconds (succeeded or failed). */
  readonly runSeconds = new Histogram(DURATION_BOUNDS_SECONDS);
  /** Failed attempts queued again by their retry policy. */
  retriedByPolicy = 0;
  /** Attempts that failed because they ran past their timeout. */
  timedOut = 0;
  /** Queued tasks that expired, not started within their queue timeout. */
  expired = 0;
  /** Workers removed as lost (the failure detector, a replaced incarnation). */
  workersLost = 0;

  /** A task's attempt started at `atMs`; the first attempt's wait since submission is observed. */
  started(task: { attempt: number; submittedAtMs: number }, atMs: number): void {
    if (task.attempt === 1) this.waitSeconds.observe((atMs - task.submittedAtMs) / 1000);
  }

  /** An attempt ended with a worker's outcome. */
  finished(outcome: { durationMs: number; timedOut?: true }): void {
    this.runSeconds.observe(outcome.durationMs / 1000);
    if (outcome.timedOut === true) this.timedOut += 1;
  }
}
