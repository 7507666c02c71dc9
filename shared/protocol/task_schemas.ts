/**
 * What a task is and how it is shown: task states, task specs, attempts and their outcomes, a
 * task's history, and the task and worker views that replies carry.
 * @module
 */
import { z } from "zod";
import { LIMITS } from "../limits.ts";
import { nonNegInt, positiveInt } from "./_fields.ts";

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
