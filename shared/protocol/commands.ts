/**
 * Commands: the entries of the orchestrator's replicated log, defined once as
 * schemas (orchestrators exchange them in Raft messages, so the codec checks
 * them like any other wire data) with their TypeScript types inferred.
 *
 * Every change to orchestrator state is one of these, applied by the state
 * machine in log order on every replica. A command carries everything its
 * application needs (times, ids, Lamport stamps), so applying the same log
 * always gives the same state.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { LAMPORT_MAX, LIMITS } from "../limits.ts";
import {
  AfterSchema,
  HandlerKindSchema,
  OutcomeSchema,
  PrioritySchema,
  QueueNameSchema,
  RetryPolicySchema,
  TaskSpecSchema,
} from "./messages.ts";

const nonNegInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const positiveInt = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const id = z.string().min(1).max(LIMITS.workerNameChars);

/** Where an event came from: wall time (display only), Lamport time, and the producing node. */
/**
 * Stamps in log entries stay far below LAMPORT_MAX (honest clocks never come near it): an entry
 * stamped at the limit would leave its appliers no Lamport time to count on with.
 */
const stamp = {
  atMs: nonNegInt,
  lamport: z.number().int().nonnegative().max(LAMPORT_MAX / 2),
  node: id,
};

export const SessionOpenedSchema = z.object({
  type: z.literal("sessionOpened"),
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
  user: z.string().min(1).max(LIMITS.userNameChars),
  expiresAtMs: nonNegInt,
  atMs: nonNegInt,
  /**
   * The account's password hash the login was checked against. The session opens only if the
   * account still has it when the entry applies: a password change or removal committed while
   * the password was being checked must not be outlived by the session (absent in old logs).
   */
  passwordHash: z.string().startsWith("scrypt$").max(512).optional(),
}).strict();

export const RoleSchema = z.enum(["admin", "user"]);
export type Role = z.infer<typeof RoleSchema>;
const userName = z.string().regex(/^[A-Za-z0-9_.@-]+$/).max(LIMITS.userNameChars);
/** A salted scrypt hash (shared/auth/password.ts), never a password. */
const passwordHash = z.string().startsWith("scrypt$").max(512);

/** An account was created (by an admin, or at bootstrap from the cluster file). */
export const UserAddedSchema = z.object({
  type: z.literal("userAdded"),
  name: userName,
  role: RoleSchema,
  passwordHash,
  atMs: nonNegInt,
}).strict();

/**
 * An account from the cluster file (or the bootstrap admin) with a password hash that was never
 * applied before: creates the account, or sets its password (and role) when it exists. Each hash
 * applies once per cluster, so removing the account or changing its password afterwards sticks,
 * and an orchestrator with an older cluster file cannot undo a newer one.
 */
export const AccountConfiguredSchema = z.object({
  type: z.literal("accountConfigured"),
  name: userName,
  role: RoleSchema,
  passwordHash,
  atMs: nonNegInt,
}).strict();

/** A password changed; every session of that user is revoked. */
export const UserPasswordChangedSchema = z.object({
  type: z.literal("userPasswordChanged"),
  name: userName,
  passwordHash,
  atMs: nonNegInt,
  /**
   * For a change of one's own password: the hash the current password was checked against. The
   * change applies only if the account still has it, so a change racing another is not lost.
   */
  expectedPasswordHash: passwordHash.optional(),
  /** The client's id for this change (see UserPasswdSchema): a repeat of the last one is done. */
  changeId: z.string().min(1).max(64).optional(),
}).strict();

/** An account was removed; its sessions are revoked (its tasks stay). */
export const UserRemovedSchema = z.object({
  type: z.literal("userRemoved"),
  name: userName,
  atMs: nonNegInt,
}).strict();

export const SessionClosedSchema = z.object({
  type: z.literal("sessionClosed"),
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
  atMs: nonNegInt,
}).strict();

export const TaskSubmittedSchema = z.object({
  type: z.literal("taskSubmitted"),
  owner: z.string().min(1).max(LIMITS.userNameChars),
  idempotencyKey: z.string().min(1).max(LIMITS.idempotencyKeyChars),
  spec: TaskSpecSchema,
  maxAttempts: positiveInt.max(LIMITS.maxAttemptsMax),
  /** What a failed attempt leads to (absent: the task fails with it). */
  retry: RetryPolicySchema.optional(),
  /** Not assigned before this time by the leader's clock (absent: at once). */
  notBeforeMs: nonNegInt.max(LIMITS.timeMsMax + LIMITS.delayMsMax).optional(),
  /** Higher runs first within its queue (absent: 0). */
  priority: PrioritySchema.optional(),
  /** The queue it waits in (absent: "default"). */
  queue: QueueNameSchema.optional(),
  /** It runs once all these tasks succeeded, and fails as soon as one fails or is cancelled. */
  after: AfterSchema.optional(),
  /** Not started by this time (the leader's clock), it ends expired (absent: never). */
  queueDeadlineMs: nonNegInt.max(LIMITS.timeMsMax + LIMITS.delayMsMax + LIMITS.queueTimeoutMsMax)
    .optional(),
  ...stamp,
}).strict();

/** The scheduler placed attempt `attempt` of a queued task on a worker. */
export const TaskAssignedSchema = z.object({
  type: z.literal("taskAssigned"),
  taskId: id,
  attempt: positiveInt,
  workerId: id,
  incarnation: id,
  ...stamp,
}).strict();

/** The worker confirmed it began the attempt (stamped by the worker). */
export const TaskStartedSchema = z.object({
  type: z.literal("taskStarted"),
  taskId: id,
  attempt: positiveInt,
  workerId: id,
  ...stamp,
}).strict();

/** The worker reported the attempt's outcome (stamped by the worker). */
export const TaskFinishedSchema = z.object({
  type: z.literal("taskFinished"),
  taskId: id,
  attempt: positiveInt,
  workerId: id,
  outcome: OutcomeSchema,
  /** The worker reported the start with the result: a "started" event is recorded first. */
  includesStart: z.boolean().optional(),
  ...stamp,
}).strict();

export const TaskCancelledSchema = z.object({
  type: z.literal("taskCancelled"),
  taskId: id,
  by: z.string().min(1).max(LIMITS.userNameChars),
  ...stamp,
}).strict();

/** The worker gave the attempt back unfinished; the task is requeued as a new attempt. */
export const TaskHandedBackSchema = z.object({
  type: z.literal("taskHandedBack"),
  taskId: id,
  attempt: positiveInt,
  workerId: id,
  reason: z.string().max(LIMITS.descriptionChars),
  ...stamp,
}).strict();

/** A worker incarnation registered. A different live incarnation of the same worker is replaced. */
export const WorkerJoinedSchema = z.object({
  type: z.literal("workerJoined"),
  workerId: id,
  incarnation: id,
  slots: positiveInt.max(LIMITS.workerSlotsMax),
  /** Assignments held beyond the slots (absent in entries written before prefetch: 0). */
  prefetch: nonNegInt.max(LIMITS.workerPrefetchMax).optional(),
  canExec: z.boolean(),
  /** The only programs it runs (argv[0], exact match); null or absent = any. */
  execAllow: z.array(z.string().min(1).max(LIMITS.argChars)).max(LIMITS.argvItems).nullable()
    .optional(),
  /** The handler kinds it serves (absent: none). */
  kinds: z.array(HandlerKindSchema).max(LIMITS.workerKindsMax).optional(),
  /** The queues it takes tasks from (absent: only "default"). */
  queues: z.array(QueueNameSchema).min(1).max(LIMITS.workerQueuesMax).optional(),
  ...stamp,
}).strict();

/** The worker is shutting down: it keeps its running attempts but gets nothing new. */
export const WorkerDrainingSchema = z.object({
  type: z.literal("workerDraining"),
  workerId: id,
  incarnation: id,
  ...stamp,
}).strict();

/** The worker incarnation is gone (missed heartbeats, or left); its attempts are requeued. */
export const WorkerLostSchema = z.object({
  type: z.literal("workerLost"),
  workerId: id,
  incarnation: id,
  reason: z.string().max(LIMITS.descriptionChars),
  ...stamp,
}).strict();

/** Task ids one `tasksRemoved` entry may name: with ids of up to 17 characters, under 256 KiB. */
export const TASKS_REMOVED_MAX = 10_000;

/**
 * Finished tasks removed from the state, with their idempotency keys: by the retention policy
 * (proposed by the leader in batches) or by an admin's purge. Ids that are unknown, already
 * removed, or not in a final state are skipped on every replica alike: an active task is never
 * removed, whatever a (buggy or hostile) proposer names.
 */
export const TasksRemovedSchema = z.object({
  type: z.literal("tasksRemoved"),
  taskIds: z.array(z.string().regex(/^t-[1-9][0-9]{0,14}$/, "a task id such as t-42")).min(1)
    .max(TASKS_REMOVED_MAX),
  reason: z.enum(["retention", "purge"]),
  /** The admin who purged (null for retention). */
  by: z.string().min(1).max(LIMITS.userNameChars).nullable(),
  ...stamp,
}).strict();

/** Names a schedule within its owner's: a letter, then letters, digits, `_`, `.`, `:` or `-`. */
export const ScheduleNameSchema = z.string().max(LIMITS.scheduleNameChars).regex(
  /^[A-Za-z][A-Za-z0-9_.:-]*$/,
  "a schedule name: a letter, then letters, digits, '_', '.', ':' or '-'",
);
const owner = z.string().min(1).max(LIMITS.userNameChars);

/** The task a schedule submits at each tick, as a submission would give it. */
export const ScheduledTaskSchema = z.object({
  spec: TaskSpecSchema,
  maxAttempts: positiveInt.max(LIMITS.maxAttemptsMax),
  retry: RetryPolicySchema.optional(),
}).strict();

/**
 * A schedule was created, or replaced (same owner and name): from this entry's time on, it
 * submits `task` at each tick of `cron` (in `timezone`, absent: UTC). A replaced schedule keeps its
 * last fired tick and its pause.
 */
export const ScheduleSetSchema = z.object({
  type: z.literal("scheduleSet"),
  name: ScheduleNameSchema,
  owner,
  cron: z.string().min(1).max(LIMITS.cronChars),
  timezone: z.string().min(1).max(LIMITS.timeZoneChars).optional(),
  task: ScheduledTaskSchema,
  ...stamp,
}).strict();

/** A schedule was removed (by its owner or an admin, `by`); the tasks it submitted stay. */
export const ScheduleRemovedSchema = z.object({
  type: z.literal("scheduleRemoved"),
  name: ScheduleNameSchema,
  owner,
  by: owner,
  ...stamp,
}).strict();

/** A schedule was paused, or resumed: a resumed one fires from this entry's time on. */
export const SchedulePausedSchema = z.object({
  type: z.literal("schedulePaused"),
  name: ScheduleNameSchema,
  owner,
  paused: z.boolean(),
  ...stamp,
}).strict();

/**
 * The leader's decision that tick `tickMs` of a schedule fired: applying it submits the
 * schedule's task (idempotency key `schedule:<name>:<tickMs>`). Rejected on every replica alike
 * for a tick at or before the schedule's last fired one, before it was set or resumed, or after
 * the entry's own time, and for a paused, removed or unknown schedule: two leaders proposing the
 * same tick get one task.
 */
export const ScheduleFiredSchema = z.object({
  type: z.literal("scheduleFired"),
  name: ScheduleNameSchema,
  owner,
  tickMs: nonNegInt,
  /** Older ticks since the last firing that did not fire (missed without a leader); absent: 0. */
  missed: nonNegInt.optional(),
  ...stamp,
}).strict();

/** Tasks expire at most this many per entry. */
export const TASKS_EXPIRED_MAX = 10_000;

/**
 * Queued tasks whose queue timeout passed without a start, proposed by the leader in batches.
 * A named task that is no longer queued, was ever assigned, or whose deadline is after the
 * entry's time is skipped on every replica alike.
 */
export const TasksExpiredSchema = z.object({
  type: z.literal("tasksExpired"),
  taskIds: z.array(z.string().regex(/^t-[1-9][0-9]{0,14}$/, "a task id such as t-42")).min(1)
    .max(TASKS_EXPIRED_MAX),
  ...stamp,
}).strict();

/** Changes nothing; a new leader commits one to learn what is committed (Raft section 5.4.2). */
export const NoopSchema = z.object({
  type: z.literal("noop"),
  atMs: nonNegInt,
}).strict();

export const CommandSchema = z.discriminatedUnion("type", [
  UserAddedSchema,
  AccountConfiguredSchema,
  UserPasswordChangedSchema,
  UserRemovedSchema,
  SessionOpenedSchema,
  SessionClosedSchema,
  TaskSubmittedSchema,
  TaskAssignedSchema,
  TaskStartedSchema,
  TaskFinishedSchema,
  TaskCancelledSchema,
  TaskHandedBackSchema,
  WorkerJoinedSchema,
  WorkerDrainingSchema,
  WorkerLostSchema,
  TasksRemovedSchema,
  TasksExpiredSchema,
  ScheduleSetSchema,
  ScheduleRemovedSchema,
  SchedulePausedSchema,
  ScheduleFiredSchema,
  NoopSchema,
]);

/** Every command of the log. */
export type Command = z.infer<typeof CommandSchema>;
export type SessionOpened = z.infer<typeof SessionOpenedSchema>;
export type UserAdded = z.infer<typeof UserAddedSchema>;
export type AccountConfigured = z.infer<typeof AccountConfiguredSchema>;
export type UserPasswordChanged = z.infer<typeof UserPasswordChangedSchema>;
export type UserRemoved = z.infer<typeof UserRemovedSchema>;
export type SessionClosed = z.infer<typeof SessionClosedSchema>;
export type TaskSubmitted = z.infer<typeof TaskSubmittedSchema>;
export type TaskAssigned = z.infer<typeof TaskAssignedSchema>;
export type TaskStarted = z.infer<typeof TaskStartedSchema>;
export type TaskFinished = z.infer<typeof TaskFinishedSchema>;
export type TaskCancelled = z.infer<typeof TaskCancelledSchema>;
export type TaskHandedBack = z.infer<typeof TaskHandedBackSchema>;
export type WorkerJoined = z.infer<typeof WorkerJoinedSchema>;
export type WorkerDraining = z.infer<typeof WorkerDrainingSchema>;
export type WorkerLost = z.infer<typeof WorkerLostSchema>;
export type TasksRemoved = z.infer<typeof TasksRemovedSchema>;
export type TasksExpired = z.infer<typeof TasksExpiredSchema>;
export type ScheduledTask = z.infer<typeof ScheduledTaskSchema>;
export type ScheduleSet = z.infer<typeof ScheduleSetSchema>;
export type ScheduleRemoved = z.infer<typeof ScheduleRemovedSchema>;
export type SchedulePaused = z.infer<typeof SchedulePausedSchema>;
export type ScheduleFired = z.infer<typeof ScheduleFiredSchema>;
export type Noop = z.infer<typeof NoopSchema>;

/** Where an event came from: its Lamport time and the node that produced it. */
export interface Stamp {
  atMs: number;
  lamport: number;
  node: string;
}

export const LogEntrySchema = z.object({
  index: positiveInt,
  term: positiveInt,
  command: CommandSchema,
}).strict();

/** A command at its place in the log. `term` is the Raft term that created it. */
export type LogEntry = z.infer<typeof LogEntrySchema>;
