/**
 * What an orchestrator sends a client ({@link OrchestratorToClient}); replies carry `re`, the
 * request id. {@link ErrorReplySchema} also goes to workers.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { ERROR_CODES } from "../errors.ts";
import { LIMITS } from "../limits.ts";
import { envelope, nonNegInt, requestId, token } from "./_fields.ts";
import { RoleNameSchema } from "./client_requests.ts";
import { KeepaliveSchema, WelcomeSchema } from "./connection_messages.ts";
import {
  RetryPolicySchema,
  TaskIdSchema,
  TaskSpecSchema,
  TaskStateSchema,
  TaskSummarySchema,
  TaskViewSchema,
  WorkerViewSchema,
} from "./task_schemas.ts";

export const LoginOkSchema = z.object({
  ...envelope,
  type: z.literal("loginOk"),
  re: requestId,
  user: z.string(),
  token,
  expiresAtMs: nonNegInt,
}).strict();

export const LogoutOkSchema = z.object({
  ...envelope,
  type: z.literal("logoutOk"),
  re: requestId,
}).strict();

export const SubmitOkSchema = z.object({
  ...envelope,
  type: z.literal("submitOk"),
  re: requestId,
  taskId: TaskIdSchema,
  /** True when the idempotency key matched an earlier submission. */
  duplicate: z.boolean(),
}).strict();

/** A request that changed something and has nothing else to say. */
export const DoneSchema = z.object({
  ...envelope,
  type: z.literal("done"),
  re: requestId,
  message: z.string(),
}).strict();

export const UserListReplySchema = z.object({
  ...envelope,
  type: z.literal("userList"),
  re: requestId,
  users: z.array(
    z.object({
      name: z.string(),
      role: RoleNameSchema,
      createdAtMs: nonNegInt,
      sessions: nonNegInt,
    }).strict(),
  ),
}).strict();

export const TokenListReplySchema = z.object({
  ...envelope,
  type: z.literal("tokenList"),
  re: requestId,
  tokens: z.array(
    z.object({
      /** A prefix of the token's SHA-256: enough to revoke it, useless to log in. */
      id: z.string(),
      user: z.string(),
      issuedAtMs: nonNegInt,
      expiresAtMs: nonNegInt,
    }).strict(),
  ),
}).strict();

export const SubmitBatchOkSchema = z.object({
  ...envelope,
  type: z.literal("submitBatchOk"),
  re: requestId,
  /**
   * In request order. An item that was not submitted has an empty `taskId` and says why in
   * `error` (its idempotency key was used for a different task).
   */
  results: z.array(
    z.object({
      taskId: z.string().max(LIMITS.taskIdChars),
      duplicate: z.boolean(),
      error: z.string().optional(),
    }).strict(),
  ),
}).strict();

export const TaskReplySchema = z.object({
  ...envelope,
  type: z.literal("task"),
  re: requestId,
  task: TaskViewSchema,
}).strict();

export const TaskListReplySchema = z.object({
  ...envelope,
  type: z.literal("taskList"),
  re: requestId,
  tasks: z.array(TaskSummarySchema),
  /** How many tasks match in all, on every page (only when the request was `paged`). */
  total: nonNegInt.optional(),
  /** The cursor to pass as `after` for the next page; null on the last page. */
  next: TaskIdSchema.nullable().optional(),
}).strict();

export const WorkerListReplySchema = z.object({
  ...envelope,
  type: z.literal("workerList"),
  re: requestId,
  workers: z.array(WorkerViewSchema),
}).strict();

/** Any request can fail with this; `re` is null when the request id could not be read. */
export const ErrorReplySchema = z.object({
  ...envelope,
  type: z.literal("error"),
  re: requestId.nullable(),
  code: z.enum(ERROR_CODES),
  message: z.string(),
  leaderHint: z.string().optional(),
}).strict();
export type ErrorReply = z.infer<typeof ErrorReplySchema>;

export const NodeStatusViewSchema = z.object({
  id: z.string(),
  role: z.enum(["leader", "follower", "candidate"]),
  term: nonNegInt,
  leaderId: z.string().nullable(),
  commitIndex: nonNegInt,
  appliedIndex: nonNegInt,
  lastIndex: nonNegInt,
  /** On the leader: each follower's replication progress. */
  followers: z.array(
    z.object({
      id: z.string(),
      matchIndex: nonNegInt,
      lastContactAgoMs: nonNegInt.nullable(),
    }).strict(),
  ),
  /** UDP datagrams this orchestrator dropped since it started, by reason. */
  droppedDatagrams: z.object({
    malformed: nonNegInt,
    forged: nonNegInt,
    stale: nonNegInt,
    replayed: nonNegInt,
  }).strict(),
  /**
   * Bytes its data directory holds: the snapshots kept (the newest and its fallback) and the
   * log's segments. Absent from orchestrators that do not report it.
   */
  disk: z.object({ snapshotBytes: nonNegInt, logBytes: nonNegInt }).strict().optional(),
}).strict();
export type NodeStatusView = z.infer<typeof NodeStatusViewSchema>;

export const NodeStatusReplySchema = z.object({
  ...envelope,
  type: z.literal("nodeStatusReply"),
  re: requestId,
  node: NodeStatusViewSchema,
}).strict();

/** What a purge did: how many finished tasks matched its filter, and how many it removed. */
export const PurgedSchema = z.object({
  ...envelope,
  type: z.literal("purged"),
  re: requestId,
  matched: nonNegInt,
  removed: nonNegInt,
  dryRun: z.boolean(),
}).strict();

/** A schedule as `schedule list` shows it. */
export const ScheduleViewSchema = z.object({
  name: z.string(),
  owner: z.string(),
  cron: z.string(),
  /** IANA zone of the expression; null: UTC. */
  timezone: z.string().nullable(),
  task: z.object({
    spec: TaskSpecSchema,
    maxAttempts: z.number().int().positive(),
    retry: RetryPolicySchema.optional(),
  }).strict(),
  paused: z.boolean(),
  createdAtMs: nonNegInt,
  /** The next tick that may fire (null: paused, or none left). */
  nextTickMs: nonNegInt.nullable(),
  /** The last tick fired (null: none yet). */
  lastTickMs: nonNegInt.nullable(),
  /** The task the last firing submitted. */
  lastTaskId: z.string().nullable(),
  fired: nonNegInt,
  /** Ticks that passed while no leader was there and were not run (only the latest was). */
  missedTicks: nonNegInt,
}).strict();
export type ScheduleView = z.infer<typeof ScheduleViewSchema>;

export const ScheduleListReplySchema = z.object({
  ...envelope,
  type: z.literal("scheduleList"),
  re: requestId,
  schedules: z.array(ScheduleViewSchema),
}).strict();

/** What a `logs` reply holds of one stream. */
export const LogTextSchema = z.object({
  /**
   * Where `text` starts in the stream, in characters since the attempt started; past the offset
   * asked for when what lay between was not kept. null: not known (a final output cut to its tail).
   */
  offset: nonNegInt.nullable(),
  text: z.string(),
  /** The offset to ask from next; null once the task is final (nothing more will come). */
  next: nonNegInt.nullable(),
}).strict();
export type LogText = z.infer<typeof LogTextSchema>;

/**
 * A task's output: live (`isFinal` false: the leader's view of its running attempt, empty when the
 * leader has none yet) or final (the output kept with the task's last attempt).
 */
export const LogsReplySchema = z.object({
  ...envelope,
  type: z.literal("logs"),
  re: requestId,
  taskId: TaskIdSchema,
  state: TaskStateSchema,
  /** The attempt the output is of (0: none has started). */
  attempt: nonNegInt,
  isFinal: z.boolean(),
  stdout: LogTextSchema,
  stderr: LogTextSchema,
  /** With isFinal: why the task failed (null when it did not, or said nothing). */
  error: z.string().nullable(),
}).strict();

export const OrchestratorToClientSchema = z.discriminatedUnion("type", [
  WelcomeSchema,
  KeepaliveSchema,
  LoginOkSchema,
  LogoutOkSchema,
  SubmitOkSchema,
  TaskReplySchema,
  TaskListReplySchema,
  WorkerListReplySchema,
  ErrorReplySchema,
  NodeStatusReplySchema,
  SubmitBatchOkSchema,
  DoneSchema,
  UserListReplySchema,
  TokenListReplySchema,
  PurgedSchema,
  ScheduleListReplySchema,
  LogsReplySchema,
]);
export type OrchestratorToClient = z.infer<typeof OrchestratorToClientSchema>;
