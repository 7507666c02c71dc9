/**
 * Task dispatch over TCP: what a worker tells an orchestrator ({@link WorkerToOrchestrator}) and
 * what it is told ({@link OrchestratorToWorker}).
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { LIMITS } from "../limits.ts";
import { envelope, nonNegInt, positiveInt } from "./_fields.ts";
import { ErrorReplySchema } from "./client_replies.ts";
import { KeepaliveSchema, WelcomeSchema } from "./connection_messages.ts";
import {
  HandlerKindSchema,
  OutcomeSchema,
  QueueNameSchema,
  TaskIdSchema,
  TaskRefSchema,
  TaskSpecSchema,
  WorkerIdSchema,
} from "./task_schemas.ts";

// ---- worker -> orchestrator ----

/** A worker's identity for the life of one process: name (stable) plus incarnation (per start). */
export const WorkerInfoSchema = z.object({
  name: WorkerIdSchema,
  incarnation: z.string().min(1).max(64),
  slots: positiveInt.max(LIMITS.workerSlotsMax),
  /** Assignments it holds beyond its slots, to start the moment a slot frees; absent = 0. */
  prefetch: z.number().int().nonnegative().max(LIMITS.workerPrefetchMax).optional(),
  canExec: z.boolean(),
  /** With canExec: the only programs (argv[0], exact match) it runs; null or absent = any. */
  execAllow: z.array(z.string().min(1).max(LIMITS.argChars)).max(LIMITS.argvItems).nullable()
    .optional(),
  /** The handler kinds it serves (absent: none): it is sent only tasks of these and built-ins. */
  kinds: z.array(HandlerKindSchema).max(LIMITS.workerKindsMax).optional(),
  /** The queues it takes tasks from (absent: only "default"). */
  queues: z.array(QueueNameSchema).min(1).max(LIMITS.workerQueuesMax).optional(),
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
  /**
   * The attempt ended before its start was reported (within the same turn of the worker's event
   * loop): this report stands for both, and no `started` message is sent.
   */
  includesStart: z.boolean().optional(),
}).strict();

/** The two output streams of an attempt (a handler's ctx.log and progress lines are stdout). */
export const OutputStreamSchema = z.enum(["stdout", "stderr"]);
export type OutputStream = z.infer<typeof OutputStreamSchema>;

/**
 * Output of a running attempt as it comes (a batch, at most every few hundred ms), for `logs
 * --follow`. Not replicated: the leader keeps a bounded tail while the attempt runs; the final
 * output is the one `finished` carries. `offset` is where `text` starts in the stream, counted in
 * characters (UTF-16 code units) since the attempt started: a reader resumes from it, and a gap
 * (output dropped while the worker was cut off) shows as an offset past the last one seen.
 */
export const OutputSchema = z.object({
  ...envelope,
  type: z.literal("output"),
  taskId: TaskIdSchema,
  attempt: positiveInt,
  stream: OutputStreamSchema,
  offset: nonNegInt,
  text: z.string().min(1).max(LIMITS.liveOutputMessageChars),
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
  OutputSchema,
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

/**
 * The orchestrator is done with this attempt's result; the worker may forget it. `ignored`: it was
 * not recorded (the attempt is not, or no longer, the task's current one), so a later assignment
 * of the same attempt is new work to run, not a duplicate of this one.
 */
export const FinishedAckSchema = z.object({
  ...envelope,
  type: z.literal("finishedAck"),
  taskId: TaskIdSchema,
  attempt: positiveInt,
  ignored: z.boolean().optional(),
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
