/**
 * What the scheduler sees and decides. It is a pure function of these values:
 * the node gathers them from the state machine plus its in-flight proposals.
 * @module
 */

/** A worker that can take tasks (alive, not draining). */
export interface SchedulableWorker {
  id: string;
  slots: number;
  /** Slots in use, counting assignments proposed but not yet applied. */
  busy: number;
  canExec: boolean;
  /** With canExec: the only programs it runs; null = any. */
  execAllow: readonly string[] | null;
  /** The handler kinds it serves. */
  kinds: readonly string[];
  /** The queues it takes tasks from. */
  queues: readonly string[];
}

/** A queued task, in dispatch order. */
export interface SchedulableTask {
  id: string;
  needsExec: boolean;
  /** For exec tasks: argv[0], which the worker's allow-list must name. */
  program?: string;
  /** For handler tasks: their kind, which the worker must serve. */
  handler?: string;
  /** Its queue, which the worker must take tasks from. */
  queue: string;
  /** Its owner, for the per-user limit. */
  owner: string;
}

/**
 * Limits on tasks running at once, and what runs now (counting assignments proposed but not yet
 * applied): a task over a limit waits, and the round goes on with the next.
 */
export interface ConcurrencyLimits {
  /** Most tasks running at once per queue; a queue not named has no limit. */
  maxRunningPerQueue: Readonly<Record<string, number>>;
  /** Most tasks one user may have running at once; 0: no limit. */
  maxRunningPerUser: number;
  runningByQueue: Map<string, number>;
  runningByOwner: Map<string, number>;
}

export type SchedulerPolicy = "round-robin" | "least-loaded";

export const SCHEDULER_POLICIES: readonly SchedulerPolicy[] = ["round-robin", "least-loaded"];

export interface PlanInput {
  policy: SchedulerPolicy;
  /** Queued tasks in dispatch order (requeued first, then oldest first). */
  queue: Iterable<SchedulableTask>;
  /** Workers that may take tasks; order does not matter (the planner sorts by id). */
  workers: readonly SchedulableWorker[];
  /** The worker that received the previous assignment; round robin resumes after it. */
  cursor: string | null;
  /** Upper bound on assignments in one plan, so one round stays short. */
  maxAssignments: number;
  /** Upper bound on queued tasks examined, so a queue of unplaceable tasks costs bounded time. */
  maxScanned: number;
  /** Concurrency limits, if any (absent: none). */
  limits?: ConcurrencyLimits;
}

export interface Assignment {
  taskId: string;
  workerId: string;
}
