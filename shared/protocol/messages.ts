/**
 * Every wire message, defined once. Each message is a schema (which the codec
 * uses to validate every field) and the TypeScript type inferred from it.
 * Messages are unions tagged by `type`; every one carries the protocol version
 * `v` and the sender's Lamport time `lamport`.
 *
 * Directions:
 * - {@link ClientToOrchestrator}, {@link OrchestratorToClient}: the client API over TCP.
 * - {@link WorkerToOrchestrator}, {@link OrchestratorToWorker}: task dispatch over TCP.
 * - {@link Heartbeat}: worker liveness over UDP, on the orchestrator's port number.
 * @module
 */
import { z } from "zod";
import { ERROR_CODES } from "../errors.ts";
import { LAMPORT_MAX, LIMITS, PROTOCOL_VERSION } from "../limits.ts";

const nonNegInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const positiveInt = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const envelope = {
  v: z.literal(PROTOCOL_VERSION),
  lamport: z.number().int().nonnegative().max(LAMPORT_MAX),
};
const requestId = nonNegInt;
const token = z.string().min(1).max(512);

/** Task states a user sees; the only ones that exist (README, "Task states"). */
export const TASK_STATES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export const TaskStateSchema = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskStateSchema>;

/** True for states a task never leaves. */
export function isFinalState(state: TaskState): boolean {
  return state === "succeeded" || state === "failed" || state === "cancelled";
}

export const TaskIdSchema = z.string().min(1).max(LIMITS.taskIdChars);
export const WorkerIdSchema = z.string().min(1).max(LIMITS.workerNameChars);

/** The seed's simulated task: sleeps `durationMs`, then succeeds. */
export const SleepSpecSchema = z.object({
  kind: z.literal("sleep"),
  description: z.string().max(LIMITS.descriptionChars),
  durationMs: z.number().int().nonnegative().max(LIMITS.taskDurationMsMax),
}).strict();

/** A program run as a child process (never through a shell) on a worker started with --allow-exec. */
export const ExecSpecSchema = z.object({
  kind: z.literal("exec"),
  description: z.string().max(LIMITS.descriptionChars),
  argv: z.array(z.string().min(1).max(LIMITS.argChars)).min(1).max(LIMITS.argvItems),
  timeoutMs: positiveInt.max(LIMITS.taskDurationMsMax),
}).strict();

export const TaskSpecSchema = z.discriminatedUnion("kind", [SleepSpecSchema, ExecSpecSchema]);
export type TaskSpec = z.infer<typeof TaskSpecSchema>;

/** One attempt of one task: the fencing token for everything a worker reports. */
export const TaskRefSchema = z.object({ taskId: TaskIdSchema, attempt: positiveInt }).strict();
export type TaskRef = z.infer<typeof TaskRefSchema>;

/** What an attempt produced. Output fields hold the tail of each stream. */
export const OutcomeSchema = z.object({
  status: z.enum(["succeeded", "failed"]),
  exitCode: z.number().int().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  error: z.string().nullable(),
  durationMs: nonNegInt,
  /** Present (true) when the stream was longer than the tail kept (LIMITS.outputTailBytes). */
  stdoutTruncated: z.literal(true).optional(),
  stderrTruncated: z.literal(true).optional(),
}).strict();
export type Outcome = z.infer<typeof OutcomeSchema>;

export const TASK_EVENTS = [
  "submitted",
  "assigned",
  "started",
  "succeeded",
  "failed",
  "requeued",
  "cancelled",
] as const;

/** One entry in a task's history, stamped by the node that produced it. */
export const TaskEventSchema = z.object({
  event: z.enum(TASK_EVENTS),
  lamport: nonNegInt,
  node: z.string(),
  atMs: nonNegInt,
  attempt: nonNegInt,
  workerId: z.string().nullable(),
  detail: z.string().nullable(),
}).strict();
export type TaskEvent = z.infer<typeof TaskEventSchema>;

export const TaskViewSchema = z.object({
  id: TaskIdSchema,
  owner: z.string(),
  state: TaskStateSchema,
  spec: TaskSpecSchema,
  attempt: nonNegInt,
  maxAttempts: positiveInt,
  workerId: z.string().nullable(),
  submittedAtMs: nonNegInt,
  finishedAtMs: nonNegInt.nullable(),
  result: OutcomeSchema.nullable(),
  /** Why a queued task is not running yet, when the orchestrator knows. */
  waitingReason: z.string().nullable(),
  history: z.array(TaskEventSchema),
}).strict();
export type TaskView = z.infer<typeof TaskViewSchema>;

export const TaskSummarySchema = z.object({
  id: TaskIdSchema,
  owner: z.string(),
  state: TaskStateSchema,
  description: z.string(),
  kind: z.enum(["sleep", "exec"]),
  attempt: nonNegInt,
  workerId: z.string().nullable(),
  submittedAtMs: nonNegInt,
  finishedAtMs: nonNegInt.nullable(),
}).strict();
export type TaskSummary = z.infer<typeof TaskSummarySchema>;

export const WorkerViewSchema = z.object({
  id: WorkerIdSchema,
  incarnation: z.string(),
  status: z.enum(["alive", "draining"]),
  slots: positiveInt,
  running: nonNegInt,
  canExec: z.boolean(),
  /** The programs an exec worker is limited to; null = any. */
  execAllow: z.array(z.string()).nullable(),
  lastHeartbeatAgoMs: nonNegInt.nullable(),
  completed: nonNegInt,
}).strict();
export type WorkerView = z.infer<typeof WorkerViewSchema>;

/** First frame on every TCP connection: says who is speaking (orchestrators also say which one). */
export const HelloSchema = z.object({
  ...envelope,
  type: z.literal("hello"),
  role: z.enum(["client", "worker", "peer"]),
  /** For role "peer": the connecting orchestrator's id and cluster. */
  nodeId: z.string().min(1).max(64).optional(),
  clusterId: z.string().min(1).max(64).optional(),
  /** Workers and peers: a fresh nonce, the first half of the challenge-response (node_auth.ts). */
  nonce: z.string().min(16).max(128).optional(),
}).strict();
export type Hello = z.infer<typeof HelloSchema>;

/** Second frame of a worker or peer connection when the cluster has a secret: the client's proof. */
export const AuthenticateSchema = z.object({
  ...envelope,
  type: z.literal("authenticate"),
  proof: z.string().min(16).max(128),
}).strict();

// ---- client -> orchestrator ----

/**
 * An account name. Also what a login may name: an unauthenticated name reaches log lines, so it is
 * held to the same characters as the accounts that can exist.
 */
const userName = z.string().regex(/^[A-Za-z0-9_.@-]+$/, "letters, digits, '_', '.', '@' or '-'")
  .max(LIMITS.userNameChars);

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
}).strict();

/** One task of a batch submission. */
export const BatchItemSchema = z.object({
  idempotencyKey: z.string().min(1).max(LIMITS.idempotencyKeyChars),
  task: TaskSpecSchema,
  maxAttempts: positiveInt.max(LIMITS.maxAttemptsMax).optional(),
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
]);
export type ClientToOrchestrator = z.infer<typeof ClientToOrchestratorSchema>;

// ---- orchestrator -> client (replies carry `re`, the request id) ----

export const WelcomeSchema = z.object({
  ...envelope,
  type: z.literal("welcome"),
  nodeId: z.string(),
  clusterId: z.string(),
  /** With a cluster secret: the orchestrator's nonce and its proof of holding the secret. */
  nonce: z.string().min(16).max(128).optional(),
  proof: z.string().min(16).max(128).optional(),
}).strict();
export type Welcome = z.infer<typeof WelcomeSchema>;

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
}).strict();
export type NodeStatusView = z.infer<typeof NodeStatusViewSchema>;

export const NodeStatusReplySchema = z.object({
  ...envelope,
  type: z.literal("nodeStatusReply"),
  re: requestId,
  node: NodeStatusViewSchema,
}).strict();

/**
 * Sent each heartbeat interval to every client connection, and by the leader to every worker
 * connection: a peer that hears nothing for several intervals takes the orchestrator for frozen
 * or cut off (its connection never closes) and goes elsewhere.
 */
export const KeepaliveSchema = z.object({
  ...envelope,
  type: z.literal("keepalive"),
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
]);
export type OrchestratorToClient = z.infer<typeof OrchestratorToClientSchema>;

// ---- worker -> orchestrator ----

/** A worker's identity for the life of one process: name (stable) plus incarnation (per start). */
export const WorkerInfoSchema = z.object({
  name: WorkerIdSchema,
  incarnation: z.string().min(1).max(64),
  slots: positiveInt.max(LIMITS.workerSlotsMax),
  canExec: z.boolean(),
  /** With canExec: the only programs (argv[0], exact match) it runs; null or absent = any. */
  execAllow: z.array(z.string().min(1).max(LIMITS.argChars)).max(LIMITS.argvItems).nullable()
    .optional(),
}).strict();
export type WorkerInfo = z.infer<typeof WorkerInfoSchema>;

/** Sent after hello, and again after every reconnect; `running` lets the orchestrator reconcile. */
export const RegisterSchema = z.object({
  ...envelope,
  type: z.literal("register"),
  worker: WorkerInfoSchema,
  running: z.array(TaskRefSchema).max(LIMITS.workerSlotsMax),
}).strict();

export const StartedSchema = z.object({
  ...envelope,
  type: z.literal("started"),
  taskId: TaskIdSchema,
  attempt: positiveInt,
}).strict();

export const FinishedSchema = z.object({
  ...envelope,
  type: z.literal("finished"),
  taskId: TaskIdSchema,
  attempt: positiveInt,
  outcome: OutcomeSchema,
}).strict();

/** The worker gives an attempt back unfinished (it is stopping, or cannot run it). */
export const HandBackSchema = z.object({
  ...envelope,
  type: z.literal("handBack"),
  taskId: TaskIdSchema,
  attempt: positiveInt,
  reason: z.string().max(LIMITS.descriptionChars),
}).strict();

/** The worker is shutting down: assign it nothing more. */
export const DrainSchema = z.object({
  ...envelope,
  type: z.literal("drain"),
}).strict();

export const WorkerToOrchestratorSchema = z.discriminatedUnion("type", [
  RegisterSchema,
  StartedSchema,
  FinishedSchema,
  HandBackSchema,
  DrainSchema,
]);
export type WorkerToOrchestrator = z.infer<typeof WorkerToOrchestratorSchema>;

// ---- orchestrator -> worker ----

export const RegisteredSchema = z.object({
  ...envelope,
  type: z.literal("registered"),
  workerId: WorkerIdSchema,
  heartbeatIntervalMs: positiveInt,
}).strict();

export const AssignSchema = z.object({
  ...envelope,
  type: z.literal("assign"),
  taskId: TaskIdSchema,
  attempt: positiveInt,
  spec: TaskSpecSchema,
}).strict();

/** Stop an attempt: it was cancelled, or fenced off by a newer attempt. */
export const AbortSchema = z.object({
  ...envelope,
  type: z.literal("abort"),
  taskId: TaskIdSchema,
  attempt: positiveInt,
  reason: z.string(),
}).strict();

/** The orchestrator has durably recorded this attempt's result; the worker may forget it. */
export const FinishedAckSchema = z.object({
  ...envelope,
  type: z.literal("finishedAck"),
  taskId: TaskIdSchema,
  attempt: positiveInt,
}).strict();

/**
 * This incarnation was declared dead; its attempts are void. The worker stops them and registers
 * again (its old attempts stay fenced off by their attempt numbers).
 */
export const EvictedSchema = z.object({
  ...envelope,
  type: z.literal("evicted"),
  reason: z.string(),
}).strict();

export const OrchestratorToWorkerSchema = z.discriminatedUnion("type", [
  WelcomeSchema,
  KeepaliveSchema,
  RegisteredSchema,
  AssignSchema,
  AbortSchema,
  FinishedAckSchema,
  EvictedSchema,
  ErrorReplySchema,
]);
export type OrchestratorToWorker = z.infer<typeof OrchestratorToWorkerSchema>;

// ---- UDP ----

/** Worker liveness, sent every heartbeat interval to every orchestrator. */
export const HeartbeatSchema = z.object({
  ...envelope,
  type: z.literal("heartbeat"),
  workerId: WorkerIdSchema,
  incarnation: z.string().min(1).max(64),
  seq: nonNegInt,
  running: nonNegInt,
  slots: positiveInt,
  /** The worker's wall clock when sending: old datagrams are dropped (replay defence). */
  sentAtMs: nonNegInt,
  /** HMAC-SHA-256 of the fields, present when the cluster has a secret. */
  mac: z.string().max(64).optional(),
}).strict();
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

export const HeartbeatDatagramSchema = z.discriminatedUnion("type", [HeartbeatSchema]);

/**
 * Sent by the leader to the multicast group (when configured), so workers and clients find the
 * cluster and follow leader changes without a static list. Receivers ignore other clusters and
 * terms older than the newest they have seen.
 */
export const LeaderAnnouncementSchema = z.object({
  ...envelope,
  type: z.literal("leaderAnnouncement"),
  clusterId: z.string().min(1).max(64),
  nodeId: z.string().min(1).max(64),
  term: nonNegInt,
  /** Where clients and workers connect: "host:port". */
  address: z.string().min(3).max(300),
  seq: nonNegInt,
  sentAtMs: nonNegInt,
  /** HMAC-SHA-256 of the fields, present when the cluster has a secret. */
  mac: z.string().max(64).optional(),
}).strict();
export type LeaderAnnouncement = z.infer<typeof LeaderAnnouncementSchema>;

export const AnnouncementDatagramSchema = z.discriminatedUnion("type", [LeaderAnnouncementSchema]);

/** Messages the orchestrator can receive as the first frame of a connection. */
export const HelloDirectionSchema = z.discriminatedUnion("type", [HelloSchema, AuthenticateSchema]);

/** A message without its envelope, for building one: the sender adds `v` and `lamport`. */
export type Unstamped<M> = M extends unknown ? Omit<M, "v" | "lamport"> : never;
