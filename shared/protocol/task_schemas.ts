/**
 * What a task is and how it is shown: task states, task specs, attempts and their outcomes, a
 * task's history, and the task and worker views that replies carry.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { LIMITS } from "../limits.ts";
import { nonNegInt, positiveInt } from "./_fields.ts";

/** Task states a user sees; the only ones that exist (README, "Task states"). */
export const TASK_STATES = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
  /** Not started within its queue timeout (`--queue-timeout`): it never ran. */
  "expired",
] as const;
export const TaskStateSchema = z.enum(TASK_STATES);
export type TaskState = z.infer<typeof TaskStateSchema>;

/** True for states a task never leaves. */
export function isFinalState(state: TaskState): boolean {
  return state === "succeeded" || state === "failed" || state === "cancelled" ||
    state === "expired";
}

export const TaskIdSchema = z.string().min(1).max(LIMITS.taskIdChars);
export const WorkerIdSchema = z.string().min(1).max(LIMITS.workerNameChars);

/** The seed's simulated task: sleeps `durationMs`, then succeeds. */
export const SleepSpecSchema = z.object({
  kind: z.literal("sleep"),
  description: z.string().max(LIMITS.descriptionChars),
  durationMs: z.number().int().nonnegative().max(LIMITS.taskDurationMsMax),
  /** Per attempt: past it the attempt fails with reason timeout (absent: none). */
  timeoutMs: positiveInt.max(LIMITS.taskDurationMsMax).optional(),
}).strict();

/** A program run as a child process (never through a shell) on a worker started with --allow-exec. */
export const ExecSpecSchema = z.object({
  kind: z.literal("exec"),
  description: z.string().max(LIMITS.descriptionChars),
  argv: z.array(z.string().min(1).max(LIMITS.argChars)).min(1).max(LIMITS.argvItems),
  timeoutMs: positiveInt.max(LIMITS.taskDurationMsMax),
}).strict();

/** Names the task kinds handlers serve: a letter, then letters, digits, `_`, `.`, `:` or `-`. */
export const HANDLER_KIND_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]*$/;
/** Kinds the worker runs itself; no handler may take these names. */
export const BUILT_IN_KINDS = ["sleep", "exec"] as const;

export const HandlerKindSchema = z.string().max(LIMITS.kindChars).regex(
  HANDLER_KIND_PATTERN,
  "a task kind: a letter, then letters, digits, '_', '.', ':' or '-'",
).refine((kind) => !(BUILT_IN_KINDS as readonly string[]).includes(kind), {
  message: "sleep and exec are built-in kinds, not handlers",
});

/**
 * A task run by user code: the handler a worker registered for `handler` (the task's kind) is
 * called with the payload. The payload travels as JSON text: it is stored and compared as given,
 * and only the handler parses it.
 */
export const HandlerSpecSchema = z.object({
  kind: z.literal("handler"),
  handler: HandlerKindSchema,
  description: z.string().max(LIMITS.descriptionChars),
  payload: z.string().max(LIMITS.payloadBytesMax),
  /** Per attempt: past it the handler's signal fires and the attempt fails (absent: none). */
  timeoutMs: positiveInt.max(LIMITS.taskDurationMsMax).optional(),
}).strict();

export const TaskSpecSchema = z.discriminatedUnion("kind", [
  SleepSpecSchema,
  ExecSpecSchema,
  HandlerSpecSchema,
]);
export type TaskSpec = z.infer<typeof TaskSpecSchema>;

/** The queue of tasks submitted without `--queue`, and of workers started without `--queues`. */
export const DEFAULT_QUEUE = "default";

/** A queue's name: like a task kind (a letter, then letters, digits, `_`, `.`, `:` or `-`). */
export const QueueNameSchema = z.string().max(LIMITS.queueNameChars).regex(
  HANDLER_KIND_PATTERN,
  "a queue name: a letter, then letters, digits, '_', '.', ':' or '-'",
);

/** What is wrong with a worker's list of queues (`--queues`), or null when nothing is. */
export function queuesProblem(queues: readonly string[]): string | null {
  if (queues.length === 0) return "name at least one queue";
  if (queues.length > LIMITS.workerQueuesMax) {
    return `at most ${LIMITS.workerQueuesMax} queues, got ${queues.length}`;
  }
  for (const queue of queues) {
    if (!QueueNameSchema.safeParse(queue).success) {
      return `"${queue}" is not a queue name (a letter, then letters, digits, '_', '.', ':' or '-', at most ${LIMITS.queueNameChars})`;
    }
  }
  if (new Set(queues).size !== queues.length) return "a queue is named twice";
  return null;
}

/** Tasks a task runs after (`--after`): canonical ids, each once. */
export const AfterSchema = z.array(
  z.string().regex(/^t-[1-9][0-9]{0,14}$/, "a task id such as t-42"),
).min(1).max(LIMITS.afterTasksMax).refine((ids) => new Set(ids).size === ids.length, {
  message: "a task is named twice",
});

/** A task's priority: higher runs first within its queue (default 0). */
export const PrioritySchema = z.number().int().min(-LIMITS.priorityMax).max(LIMITS.priorityMax);

/** A task's kind as users name it: `sleep`, `exec`, or the handler's kind. */
export function kindOf(spec: TaskSpec): string {
  return spec.kind === "handler" ? spec.handler : spec.kind;
}

/** The longest an attempt of `spec` may run, or undefined for no limit. */
export function attemptTimeoutMs(spec: TaskSpec): number | undefined {
  return spec.timeoutMs;
}

/**
 * What happens when an attempt fails (its handler threw, its program exited non-zero, or it
 * timed out): up to `retries` more attempts, each after a pause. Exponential: `delayMs`, then
 * twice that, and so on up to `maxDelayMs`, each drawn between half and all of it (jitter, so
 * tasks that failed together do not retry together). Fixed: `delayMs` every time. A worker lost
 * under an attempt never counts here (`maxAttempts` does).
 */
export const RetryPolicySchema = z.object({
  retries: z.number().int().min(0).max(LIMITS.retriesMax),
  backoff: z.enum(["exponential", "fixed"]),
  delayMs: nonNegInt.max(LIMITS.backoffMsMax),
  maxDelayMs: nonNegInt.max(LIMITS.backoffMsMax),
}).strict();
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

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
  /** A handler's return value as JSON text (absent: none, or not a handler task). */
  value: z.string().max(LIMITS.resultBytesMax).optional(),
  /** Present (true) when the attempt failed because it ran past its timeout. */
  timedOut: z.literal(true).optional(),
  /** The task it waited for (`--after`) that failed or was cancelled, so it never ran. */
  dependencyFailed: z.string().max(LIMITS.taskIdChars).optional(),
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
  /** An attempt failed and the task waits for its next one (its retry policy). */
  "retrying",
  /** It was not started within its queue timeout. */
  "expired",
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
  /** Its retry policy (absent: no retries). */
  retry: RetryPolicySchema.optional(),
  /** Failed attempts retried so far (absent: none). */
  retried: nonNegInt.optional(),
  /** Not started before this time (a delay, `--at`, or a retry's pause; absent: at once). */
  notBeforeMs: nonNegInt.optional(),
  /** Its priority (absent: 0). */
  priority: PrioritySchema.optional(),
  /** Its queue (absent: "default"). */
  queue: z.string().optional(),
  /** The tasks it runs after (absent: none). */
  after: z.array(z.string()).optional(),
  /** It expires if not started by this time (`--queue-timeout`; absent: never). */
  queueDeadlineMs: nonNegInt.optional(),
}).strict();
export type TaskView = z.infer<typeof TaskViewSchema>;

export const TaskSummarySchema = z.object({
  id: TaskIdSchema,
  owner: z.string(),
  state: TaskStateSchema,
  description: z.string(),
  /** `sleep`, `exec`, or a handler's kind. */
  kind: z.string(),
  /** Its queue, when not "default". */
  queue: z.string().optional(),
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
  /** The handler kinds it serves (absent: none). */
  kinds: z.array(z.string()).optional(),
  /** The queues it takes tasks from (absent: only "default"). */
  queues: z.array(z.string()).optional(),
}).strict();
export type WorkerView = z.infer<typeof WorkerViewSchema>;
