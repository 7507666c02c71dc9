/**
 * Client-side load for the benchmarks: no-op (or handler) tasks submitted in batches, and a way to tell when
 * the cluster has finished them all. Everything goes through the public client library, so the
 * numbers are what a user of the cluster would see.
 * @module
 */
import type { MutiraoClient } from "../../client/api/mod.ts";
import { LIMITS } from "../../shared/limits.ts";
import type { BatchItem } from "../../shared/protocol/messages.ts";
import { jsonPayload } from "./json_payload.mjs";
import { delay } from "./real_cluster.ts";

/** `count` no-op tasks (`sleep` of `durationMs`, 0 by default) keyed `${keyPrefix}-${start + i}`. */
export function sleepTasks(
  keyPrefix: string,
  options: { start: number; count: number; durationMs?: number },
): BatchItem[] {
  return Array.from({ length: options.count }, (_, i) => ({
    idempotencyKey: `${keyPrefix}-${options.start + i}`,
    task: {
      kind: "sleep" as const,
      description: `bench ${options.start + i}`,
      durationMs: options.durationMs ?? 0,
    },
  }));
}

/**
 * `count` handler tasks of kind `handler`, each with a JSON payload of `payloadBytes` bytes
 * (jsonPayload, varied by index), keyed `${keyPrefix}-${start + i}`.
 */
export function handlerTasks(
  keyPrefix: string,
  options: { start: number; count: number; handler: string; payloadBytes: number },
): BatchItem[] {
  return Array.from({ length: options.count }, (_, i) => ({
    idempotencyKey: `${keyPrefix}-${options.start + i}`,
    task: {
      kind: "handler" as const,
      handler: options.handler,
      description: `bench ${options.start + i}`,
      payload: jsonPayload(options.payloadBytes, options.start + i),
    },
  }));
}

/** Builds the batch of tasks `start` .. `start + count - 1` of a run. */
export type BatchBuilder = (
  keyPrefix: string,
  range: { start: number; count: number },
) => BatchItem[];

/** What a batched submission run observed (client wall-clock, Date.now() milliseconds). */
export interface SubmissionRun {
  firstSubmitMs: number;
  lastAckMs: number;
  submitted: number;
  /** Task ids in submission order, only when `keepIds` was set. */
  taskIds: string[];
}

/**
 * Submits `total` tasks (no-op unless `build` says otherwise) in batches of `batchSize`, keeping
 * up to `inFlight` batch requests outstanding (a bounded window: the client never queues unbounded
 * work). Batches are built just in time so a million-task run does not hold a million specs at
 * once.
 * @throws whatever the client throws (a rejected or unreachable request ends the run).
 */
export async function submitInBatches(
  client: MutiraoClient,
  token: string,
  options: {
    total: number;
    batchSize: number;
    inFlight: number;
    keyPrefix: string;
    durationMs?: number;
    keepIds?: boolean;
    /** The tasks of each batch (default: no-op `sleep` tasks of `durationMs`). */
    build?: BatchBuilder;
  },
): Promise<SubmissionRun> {
  if (options.batchSize < 1 || options.batchSize > LIMITS.batchTasksMax) {
    throw new RangeError(
      `Batch size must be 1..${LIMITS.batchTasksMax}, got ${options.batchSize}`,
    );
  }
  const taskIds: string[] = [];
  const batches = Math.ceil(options.total / options.batchSize);
  const results: string[][] = new Array(options.keepIds ? batches : 0);
  let next = 0;
  let lastAckMs = 0;
  const firstSubmitMs = Date.now();
  const lane = async () => {
    while (next < batches) {
      const b = next++;
      const start = b * options.batchSize;
      const count = Math.min(options.batchSize, options.total - start);
      const tasks = options.build?.(options.keyPrefix, { start, count }) ??
        sleepTasks(options.keyPrefix, { start, count, durationMs: options.durationMs });
      const reply = await client.request({ type: "submitBatch", token, tasks });
      lastAckMs = Math.max(lastAckMs, Date.now());
      if (options.keepIds) results[b] = reply.results.map((r) => r.taskId);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.inFlight) }, lane));
  if (options.keepIds) { for (const ids of results) taskIds.push(...ids); }
  return { firstSubmitMs, lastAckMs, submitted: options.total, taskIds };
}

/**
 * Polls until the user has no queued and no running task, and returns the latest `finishedAtMs`
 * among the newest tasks (the last completion; tasks finish in about submission order). Polling
 * is all the protocol offers for "everything is done"; the poll interval does not bias the
 * result because the end time comes from the tasks' own records.
 * @throws {Error} when work remains after `timeoutMs`.
 */
export async function waitUntilIdle(
  client: MutiraoClient,
  token: string,
  options: { timeoutMs: number; pollMs?: number; onPoll?: (pending: boolean) => void },
): Promise<{ lastFinishedMs: number; idleSeenMs: number }> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const [queued, running] = await Promise.all([
      client.request({ type: "list", token, state: "queued", limit: 1 }),
      client.request({ type: "list", token, state: "running", limit: 1 }),
    ]);
    const pending = queued.tasks.length + running.tasks.length > 0;
    options.onPoll?.(pending);
    if (!pending) break;
    if (Date.now() > deadline) {
      throw new Error(`Tasks still queued or running after ${options.timeoutMs} ms`);
    }
    await delay(options.pollMs ?? 100);
  }
  const idleSeenMs = Date.now();
  const newest = await client.request({ type: "list", token, limit: LIMITS.listLimitMax });
  const lastFinishedMs = Math.max(0, ...newest.tasks.map((t) => t.finishedAtMs ?? 0));
  return { lastFinishedMs, idleSeenMs };
}
