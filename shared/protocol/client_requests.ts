/**
 * Requests a client sends an orchestrator ({@link ClientToOrchestrator}): login and logout, task
 * submission, status, listing, cancel and wait, and account and session administration.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { LIMITS } from "../limits.ts";
import { envelope, nonNegInt, positiveInt, requestId, token, userName } from "./_fields.ts";
import {
  AfterSchema,
  PrioritySchema,
  QueueNameSchema,
  RetryPolicySchema,
  TASK_STATES,
  TaskIdSchema,
  TaskSpecSchema,
  TaskStateSchema,
} from "./task_schemas.ts";

/** How a submission may ask to be run later and retried (each absent: the defaults). */
const whenAndRetry = {
  retry: RetryPolicySchema.optional(),
  /** Put off by this long from when the leader accepts it. */
  delayMs: z.number().int().nonnegative().max(LIMITS.delayMsMax).optional(),
  /** Not started before this time (ms since the epoch, by the orchestrators' clocks). */
  runAtMs: z.number().int().nonnegative().max(LIMITS.timeMsMax).optional(),
  /** Higher runs first within its queue (default 0). */
  priority: PrioritySchema.optional(),
  /** The queue it waits in (default "default"). */
  queue: QueueNameSchema.optional(),
  /** Runs once these tasks (yours) succeeded; fails when one fails or is cancelled. */
  after: AfterSchema.optional(),
  /** Not started within this long of being due, it ends expired. */
  queueTimeoutMs: z.number().int().positive().max(LIMITS.queueTimeoutMsMax).optional(),
};

/** How a submitted task runs, beyond its spec: the options of `submit` and of each batch item. */
export const TaskRunOptionsSchema = z.object(whenAndRetry).strict();
export type TaskRunOptions = z.infer<typeof TaskRunOptionsSchema>;

export const LoginSchema = z.object({
  ...envelope,
  type: z.literal("login"),
  id: requestId,
  user: userName,
  password: z.string().min(1).max(LIMITS.passwordChars),
}).strict();

export const LogoutSchema = z.object({
  ...envelope,
  type: z.literal("logout"),
  id: requestId,
  token,
}).strict();

export const SubmitSchema = z.object({
  ...envelope,
  type: z.literal("submit"),
  id: requestId,
  token,
  /** Client-chosen; a retried submission with the same key never makes a second task. */
  idempotencyKey: z.string().min(1).max(LIMITS.idempotencyKeyChars),
  task: TaskSpecSchema,
  maxAttempts: positiveInt.max(LIMITS.maxAttemptsMax).optional(),
  ...whenAndRetry,
}).strict();

/** One task of a batch submission. */
export const BatchItemSchema = z.object({
  idempotencyKey: z.string().min(1).max(LIMITS.idempotencyKeyChars),
  task: TaskSpecSchema,
  maxAttempts: positiveInt.max(LIMITS.maxAttemptsMax).optional(),
  ...whenAndRetry,
}).strict();
export type BatchItem = z.infer<typeof BatchItemSchema>;

/** Many submissions in one request: one round trip and one replicated log batch. */
export const SubmitBatchSchema = z.object({
  ...envelope,
  type: z.literal("submitBatch"),
  id: requestId,
  token,
  tasks: z.array(BatchItemSchema).min(1).max(LIMITS.batchTasksMax),
}).strict();

export const StatusSchema = z.object({
  ...envelope,
  type: z.literal("status"),
  id: requestId,
  token,
  taskId: TaskIdSchema,
}).strict();

export const ListSchema = z.object({
  ...envelope,
  type: z.literal("list"),
  id: requestId,
  token,
  state: TaskStateSchema.optional(),
  /** Tasks in any of these states (with `state`, that one too); absent = every state. */
  states: z.array(TaskStateSchema).min(1).max(TASK_STATES.length).optional(),
  limit: positiveInt.max(LIMITS.listLimitMax).optional(),
  /** The `next` cursor of the previous page: list the tasks submitted before it. */
  after: z.string().regex(/^t-[0-9]{1,15}$/, "a cursor from `list` (a task id such as t-42)")
    .optional(),
  /** Admins only: every user's tasks instead of their own. */
  all: z.boolean().optional(),
  /**
   * The client reads `total` and `next` in the reply. Without it the reply has neither: clients
   * from before paging refuse reply fields they do not know.
   */
  paged: z.literal(true).optional(),
}).strict();

export const WorkersSchema = z.object({
  ...envelope,
  type: z.literal("workers"),
  id: requestId,
  token,
}).strict();

export const CancelSchema = z.object({
  ...envelope,
  type: z.literal("cancel"),
  id: requestId,
  token,
  taskId: TaskIdSchema,
}).strict();

/** Replies when the task reaches a final state, or with its current state after `timeoutMs`. */
export const WaitSchema = z.object({
  ...envelope,
  type: z.literal("wait"),
  id: requestId,
  token,
  taskId: TaskIdSchema,
  timeoutMs: positiveInt.max(LIMITS.waitTimeoutMsMax),
}).strict();

/**
 * A task's output: while it runs, the live output the leader holds for its current attempt from
 * the offsets given; once it is final, the output kept with it. Offsets apply only to `attempt`
 * (another attempt's output starts again at 0).
 */
export const LogsSchema = z.object({
  ...envelope,
  type: z.literal("logs"),
  id: requestId,
  token,
  taskId: TaskIdSchema,
  /** The attempt the offsets are of (absent: from the start of the current attempt). */
  attempt: positiveInt.optional(),
  stdoutOffset: nonNegInt.optional(),
  stderrOffset: nonNegInt.optional(),
}).strict();

export const RoleNameSchema = z.enum(["admin", "user"]);

/** Admin: create an account. The password travels once (use TLS); only its scrypt hash is kept. */
export const UserAddSchema = z.object({
  ...envelope,
  type: z.literal("userAdd"),
  id: requestId,
  token,
  name: userName,
  role: RoleNameSchema,
  password: z.string().min(1).max(LIMITS.passwordChars),
}).strict();

/** Change a password: your own, or (admin) anyone's. Revokes that user's sessions. */
export const UserPasswdSchema = z.object({
  ...envelope,
  type: z.literal("userPasswd"),
  id: requestId,
  token,
  name: userName,
  password: z.string().min(1).max(LIMITS.passwordChars),
  /**
   * The caller's current password: required to change one's own password (a stolen token alone
   * must not lock the owner out); not used when an admin resets another user's password.
   */
  currentPassword: z.string().min(1).max(LIMITS.passwordChars).optional(),
  /**
   * A random id the client keeps across its retries of this change: applied twice (a retry after
   * a lost reply), the change is done once, so sessions opened in between are not revoked again.
   */
  changeId: z.string().min(1).max(64).optional(),
}).strict();

export const UserRemoveSchema = z.object({
  ...envelope,
  type: z.literal("userRemove"),
  id: requestId,
  token,
  name: userName,
}).strict();

export const UserListSchema = z.object({
  ...envelope,
  type: z.literal("userList"),
  id: requestId,
  token,
}).strict();

export const TokenListSchema = z.object({
  ...envelope,
  type: z.literal("tokenList"),
  id: requestId,
  token,
}).strict();

/** Admin: revoke a session by the id `tokenList` shows (a prefix of its token's hash). */
export const TokenRevokeSchema = z.object({
  ...envelope,
  type: z.literal("tokenRevoke"),
  id: requestId,
  token,
  tokenId: z.string().regex(/^[0-9a-f]{8,64}$/, "a token id from `token list`"),
}).strict();

/** Finished tasks a purge may name: removed in batches of at most this many per request. */
export const PURGE_LIMIT_MAX = 10_000;

/**
 * Admin: remove finished tasks matching a filter now, whatever the retention policy says (queued
 * and running tasks are never removed). Removes at most `limit` per request; the reply says how
 * many matched, so a client repeats until none is left.
 */
export const PurgeSchema = z.object({
  ...envelope,
  type: z.literal("purge"),
  id: requestId,
  token,
  /** Only tasks in these final states; absent = succeeded, failed and cancelled. */
  states: z.array(z.enum(["succeeded", "failed", "cancelled", "expired"])).min(1).max(4)
    .optional(),
  /** Only this user's tasks. */
  owner: userName.optional(),
  /** Only tasks that finished at least this long ago (by the leader's clock). */
  olderThanMs: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  limit: positiveInt.max(PURGE_LIMIT_MAX).optional(),
  /** Count what matches; remove nothing. */
  dryRun: z.boolean().optional(),
}).strict();

/** A schedule's name, as `scheduleSet` entries carry it. */
const scheduleName = z.string().max(LIMITS.scheduleNameChars).regex(
  /^[A-Za-z][A-Za-z0-9_.:-]*$/,
  "a schedule name: a letter, then letters, digits, '_', '.', ':' or '-'",
);

/**
 * Create a schedule, or replace the caller's schedule of that name: `task` is submitted at each
 * tick of `cron` (croner syntax: 5 fields, 6 with seconds first, or 7 with a year) in `timezone`
 * (an IANA name; absent: UTC).
 */
export const ScheduleAddSchema = z.object({
  ...envelope,
  type: z.literal("scheduleAdd"),
  id: requestId,
  token,
  name: scheduleName,
  cron: z.string().min(1).max(LIMITS.cronChars),
  timezone: z.string().min(1).max(LIMITS.timeZoneChars).optional(),
  task: TaskSpecSchema,
  maxAttempts: positiveInt.max(LIMITS.maxAttemptsMax).optional(),
  retry: RetryPolicySchema.optional(),
}).strict();

/** The caller's schedules, or (admins, `all`) everyone's. */
export const ScheduleListSchema = z.object({
  ...envelope,
  type: z.literal("scheduleList"),
  id: requestId,
  token,
  all: z.boolean().optional(),
}).strict();

/** Remove a schedule: the caller's, or (admins) `owner`'s. */
export const ScheduleRemoveSchema = z.object({
  ...envelope,
  type: z.literal("scheduleRemove"),
  id: requestId,
  token,
  name: scheduleName,
  owner: userName.optional(),
}).strict();

/** Pause a schedule (`paused`: true) or resume it; the caller's, or (admins) `owner`'s. */
export const SchedulePauseSchema = z.object({
  ...envelope,
  type: z.literal("schedulePause"),
  id: requestId,
  token,
  name: scheduleName,
  paused: z.boolean(),
  owner: userName.optional(),
}).strict();

/** Where this orchestrator stands in the cluster; answered by every orchestrator, leader or not. */
export const NodeStatusSchema = z.object({
  ...envelope,
  type: z.literal("nodeStatus"),
  id: requestId,
  token,
}).strict();

export const ClientToOrchestratorSchema = z.discriminatedUnion("type", [
  LoginSchema,
  LogoutSchema,
  SubmitSchema,
  StatusSchema,
  ListSchema,
  WorkersSchema,
  CancelSchema,
  WaitSchema,
  NodeStatusSchema,
  SubmitBatchSchema,
  UserAddSchema,
  UserPasswdSchema,
  UserRemoveSchema,
  UserListSchema,
  TokenListSchema,
  TokenRevokeSchema,
  PurgeSchema,
  ScheduleAddSchema,
  ScheduleListSchema,
  ScheduleRemoveSchema,
  SchedulePauseSchema,
  LogsSchema,
]);
export type ClientToOrchestrator = z.infer<typeof ClientToOrchestratorSchema>;
