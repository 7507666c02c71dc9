/**
 * The records the task state machine keeps. They are plain data so two replicas can be compared
 * field by field (a task's history is a packed string, task_history.ts).
 * @module
 */
import type { Outcome, RetryPolicy, TaskSpec, TaskState } from "../../shared/protocol/messages.ts";
import type { ScheduledTask } from "../../shared/protocol/commands.ts";
import type { PackedHistory } from "./task_history.ts";

export interface TaskRecord {
  id: string;
  seq: number;
  owner: string;
  idempotencyKey: string;
  spec: TaskSpec;
  /** Attempts it may lose to workers that died or left under them. */
  maxAttempts: number;
  /** What a failed attempt leads to; null: the task fails with it. */
  retry: RetryPolicy | null;
  /** Failed attempts retried so far (each counted against `retry.retries`, never maxAttempts). */
  retried: number;
  /**
   * Not assigned before this time, by the leader's clock (a delay, `--at`, or the pause before a
   * retry); 0: at once.
   */
  notBeforeMs: number;
  /** Higher runs first within its queue. */
  priority: number;
  /** The queue it waits in ("default" unless submitted with `--queue`). */
  queue: string;
  /** The tasks it runs after (`--after`), as submitted. */
  after: readonly string[];
  /** Those of `after` that have not succeeded yet: while any has not, it waits out of the queue. */
  waitingFor: readonly string[];
  /** Not started (assigned) by this time, it expires; 0: never. */
  queueDeadlineMs: number;
  state: TaskState;
  /** The current attempt; reports about any other attempt are stale (fencing). */
  attempt: number;
  /** The worker holding the current attempt while running. */
  workerId: string | null;
  /** Whether the current attempt's start was confirmed by its worker. */
  started: boolean;
  submittedAtMs: number;
  finishedAtMs: number | null;
  result: Outcome | null;
  /** Its events, packed (task_history.ts); historyOf(task) gives them as objects. */
  packedHistory: PackedHistory;
}

export interface WorkerRecord {
  id: string;
  incarnation: string;
  slots: number;
  /**
   * Assignments it may hold beyond its slots, started as slots free: it may hold `slots +
   * prefetch` attempts in all (those it runs plus those waiting for a slot).
   */
  prefetch: number;
  canExec: boolean;
  /** With canExec: the only programs it runs; null = any. */
  execAllow: string[] | null;
  /** The handler kinds it serves. */
  kinds: string[];
  /** The queues it takes tasks from. */
  queues: string[];
  status: "alive" | "draining";
  joinedAtMs: number;
  /** Ids of running tasks whose current attempt is on this worker. */
  running: Set<string>;
  completed: number;
}

/** A schedule: a task submitted at each tick of a cron expression (schedule_commands.ts). */
export interface ScheduleRecord {
  /** Unique within its owner's schedules. */
  name: string;
  owner: string;
  cron: string;
  /** IANA zone the expression reads in; null: UTC. */
  timezone: string | null;
  task: ScheduledTask;
  createdAtMs: number;
  /**
   * Ticks after this time may fire: when it was set or last resumed (by the leader's clock), so a
   * resumed schedule does not fire for ticks that passed while it was paused.
   */
  activeFromMs: number;
  paused: boolean;
  /** The last tick fired; a firing of this tick or an earlier one is rejected. null: none yet. */
  lastTickMs: number | null;
  /** The task the last firing submitted (null: none yet, or the submission was refused). */
  lastTaskId: string | null;
  /** Ticks that fired. */
  fired: number;
  /** Ticks that passed without firing while no leader was there (only the latest fires). */
  missedTicks: number;
}

export interface SessionRecord {
  user: string;
  issuedAtMs: number;
  expiresAtMs: number;
}

export interface UserRecord {
  name: string;
  role: "admin" | "user";
  /** Salted scrypt hash; the password itself is never stored. */
  passwordHash: string;
  createdAtMs: number;
  /** The client's id of the last password change applied (a retry of it is done once). */
  lastChangeId?: string;
}

/** Counters that only grow; reported by `workers`/metrics and checked by the chaos suite. */
export interface Stats {
  /** Attempts requeued after a worker was lost or handed a task back. */
  retries: number;
  /** Results or starts rejected because their attempt was no longer current. */
  staleReports: number;
  /** Submissions answered with an existing task because their idempotency key matched. */
  duplicateSubmissions: number;
}
