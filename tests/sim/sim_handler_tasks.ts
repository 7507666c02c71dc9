/**
 * Handler tasks in the simulation: which submissions are handler tasks (kind "sim") with a retry
 * policy, how many of their attempts fail, which time out, and what the simulated worker's handler
 * does with them. Every choice is a hash of the task's key and the seed's parameters, never a draw
 * from the world's PRNG, so seeds that run no handler tasks replay exactly as before.
 * @module
 */
import type { Outcome, RetryPolicy, TaskSpec } from "../../shared/protocol/messages.ts";

/** The handler kind simulated workers serve. */
export const SIM_KIND = "sim";
/** A second queue: the first worker and every other one take tasks from it too. */
export const SIM_QUEUE = "sim-q";

/** The queues simulated worker number `index` (from 0) takes tasks from. */
export function simWorkerQueues(index: number): string[] | undefined {
  return index % 2 === 0 ? ["default", SIM_QUEUE] : undefined;
}

export interface HandlerTaskParams {
  /** Share of new submissions that are handler tasks (the rest sleep, as before). */
  share: number;
  /** Retries a handler task may ask for (0 to this). */
  retriesMax: number;
  /** Attempts that fail before one succeeds (0 to this; more than the retries: it ends failed). */
  failTimesMax: number;
  /** Share of handler tasks whose time limit is shorter than their run (every attempt times out). */
  timeoutShare: number;
  /** Backoff before a retry (exponential or fixed, by key). */
  backoffMs: number;
}

/** What a handler task's payload tells the simulated handler. */
interface SimPayload {
  ms: number;
  failTimes: number;
}

/** The task and retry policy submitted under `key`: a sleep task, or a handler task. */
export function simTaskFor(
  key: string,
  durationMs: number,
  params: HandlerTaskParams | null,
): {
  task: TaskSpec;
  retry?: RetryPolicy;
  delayMs?: number;
  priority?: number;
  queue?: string;
  queueTimeoutMs?: number;
} {
  const sleep: TaskSpec = { kind: "sleep", description: key, durationMs };
  if (params === null) return { task: sleep };
  const h = hashOf(key);
  if ((h % 1000) / 1000 >= params.share) return { task: sleep };
  const retries = (h >>> 10) % (params.retriesMax + 1);
  const failTimes = (h >>> 14) % (params.failTimesMax + 1);
  const timesOut = ((h >>> 18) % 1000) / 1000 < params.timeoutShare && durationMs >= 2;
  const payload: SimPayload = { ms: durationMs, failTimes };
  return {
    task: {
      kind: "handler",
      handler: SIM_KIND,
      description: key,
      payload: JSON.stringify(payload),
      ...(timesOut ? { timeoutMs: Math.floor(durationMs / 2) } : {}),
    },
    retry: {
      retries,
      backoff: (h >>> 28) % 2 === 0 ? "exponential" : "fixed",
      delayMs: params.backoffMs,
      maxDelayMs: params.backoffMs * 4,
    },
    // A fifth are put off a little (`--delay`): they must not start before their time.
    ...((h >>> 20) % 5 === 0 ? { delayMs: (h >>> 23) % 300 } : {}),
    // Some run before or after the others, some wait in the second queue.
    ...((h >>> 25) % 3 === 0 ? { priority: ((h >>> 5) % 5) - 2 } : {}),
    ...((h >>> 27) % 4 === 0 ? { queue: SIM_QUEUE } : {}),
    // Some must start soon or expire (some of them will, behind busy workers and failovers).
    ...((h >>> 7) % 6 === 0 ? { queueTimeoutMs: 100 + ((h >>> 9) % 900) } : {}),
  };
}

/**
 * The earlier task a new submission runs after (`--after`), or null: a fifth of the submissions
 * of seeds with handler tasks and no retention (a dependency removed before a resubmission would
 * refuse it) run after the client's last acknowledged task.
 */
export function simAfter(
  key: string,
  lastAcked: string | null,
  params: { handlerTasks: HandlerTaskParams | null; retention: unknown },
): string[] | null {
  if (params.handlerTasks === null || params.retention !== null || lastAcked === null) return null;
  return (hashOf(`after:${key}`) % 5) === 0 ? [lastAcked] : null;
}

/** How long an attempt of a handler task runs and how it ends (attempts count from 1). */
export function simHandlerAttempt(
  spec: Extract<TaskSpec, { kind: "handler" }>,
  attempt: number,
): { durationMs: number; outcome: Outcome } {
  const payload = JSON.parse(spec.payload) as SimPayload;
  if (spec.timeoutMs !== undefined && spec.timeoutMs < payload.ms) {
    return {
      durationMs: spec.timeoutMs,
      outcome: failed(`timed out after ${spec.timeoutMs / 1000} s`, spec.timeoutMs, true),
    };
  }
  if (attempt <= payload.failTimes) {
    return { durationMs: payload.ms, outcome: failed(`flaky: attempt ${attempt}`, payload.ms) };
  }
  return {
    durationMs: payload.ms,
    outcome: {
      status: "succeeded",
      exitCode: null,
      stdout: `attempt ${attempt}\n`,
      stderr: "",
      error: null,
      durationMs: payload.ms,
      value: JSON.stringify({ key: spec.description, attempt }),
    },
  };
}

/** The most time one task may keep a worker slot busy, counting retries and their pauses. */
export function simWorkMs(spec: TaskSpec, retry: RetryPolicy | null): number {
  // (A delay is at most 300 ms: within the slack the liveness budget leaves.)
  const runMs = spec.kind === "sleep"
    ? spec.durationMs
    : spec.kind === "handler"
    ? (JSON.parse(spec.payload) as SimPayload).ms
    : spec.timeoutMs;
  const tries = 1 + (retry?.retries ?? 0);
  return tries * runMs + (tries - 1) * (retry?.maxDelayMs ?? 0);
}

function failed(error: string, durationMs: number, timedOut = false): Outcome {
  return {
    status: "failed",
    exitCode: null,
    stdout: "",
    stderr: "",
    error,
    durationMs,
    ...(timedOut ? { timedOut: true as const } : {}),
  };
}

/** FNV-1a of `text`: stable across runs and platforms. */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
