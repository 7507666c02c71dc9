/**
 * The data of the event stream's events (`GET /api/v1/events`) as zod schemas, for the OpenAPI
 * document's components: a StreamEvent (orchestrator/core/stream_events.ts) for `task`, `worker`
 * and `cluster` events, and the `gap` event (event_stream.ts). The type checks below fail the
 * build when the schemas and the types part ways.
 * @module
 */
import { z } from "npm:zod@4.6.7";
import { TASK_EVENTS } from "../../shared/protocol/messages.ts";
import type { StreamEvent } from "../core/mod.ts";

const EventIdSchema = z.string().regex(/^[0-9]+\.[0-9]+$/).describe(
  "<log index>.<position>: the same on every orchestrator (resume with Last-Event-ID)",
);
const base = { id: EventIdSchema, atMs: z.int().nonnegative() };

/** `event: task`: a task's history event. */
export const TaskStreamEventSchema = z.object({
  ...base,
  kind: z.literal("task"),
  event: z.enum(TASK_EVENTS),
  taskId: z.string(),
  owner: z.string(),
  lamport: z.int().nonnegative(),
  node: z.string(),
  attempt: z.int().nonnegative(),
  workerId: z.string().nullable(),
  detail: z.string().nullable(),
}).strict();

/** `event: worker`: a worker joined, is draining, or was lost. */
export const WorkerStreamEventSchema = z.object({
  ...base,
  kind: z.literal("worker"),
  event: z.enum(["joined", "draining", "lost"]),
  workerId: z.string(),
  incarnation: z.string(),
  lamport: z.int().nonnegative(),
  node: z.string(),
  detail: z.string().nullable(),
}).strict();

/** `event: cluster`: a new leader's first entry. */
export const ClusterStreamEventSchema = z.object({
  ...base,
  kind: z.literal("cluster"),
  event: z.literal("leader"),
  term: z.int().nonnegative(),
}).strict();

/** The data of a `task`, `worker` or `cluster` event. */
export const StreamEventSchema = z.discriminatedUnion("kind", [
  TaskStreamEventSchema,
  WorkerStreamEventSchema,
  ClusterStreamEventSchema,
]);

/** `event: gap`: events after `after` are no longer held; re-read the state, then go on. */
export const GapEventSchema = z.object({
  kind: z.literal("gap"),
  after: z.string(),
  message: z.string(),
  /** The oldest position still held: events after it follow. */
  heldAfter: z.string(),
}).strict();

type Fits<A, B> = [A] extends [B] ? true : false;
const _schemaFitsType: Fits<z.infer<typeof StreamEventSchema>, StreamEvent> = true;
const _typeFitsSchema: Fits<StreamEvent, z.infer<typeof StreamEventSchema>> = true;
