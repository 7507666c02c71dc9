/**
 * Single submissions at a fixed rate, open loop (the next submission does not wait for the
 * previous reply, as with independent clients), each followed to its completion. Used by the
 * latency and loaded-latency scenarios.
 * @module
 */
import type { MutiraoClient } from "../../client/api/mod.ts";
import type { TaskSpec, TaskView } from "../../shared/protocol/messages.ts";
import { delay } from "./real_cluster.ts";
import { round } from "./stats.ts";

/** Sub-millisecond wall-clock time, comparable with the orchestrators' Date.now() stamps. */
export function wallNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** What one submission observed, in ms from the moment it was sent. */
export interface LatencySample {
  ackMs: number;
  runningMs: number;
  completedMs: number;
  /** Leader-clock stages from the history: submitted→assigned and assigned→started. */
  toAssignedMs: number;
  toStartedMs: number;
}

/** How long a submitted task may take to finish before its `wait` gives up. */
const WAIT_TIMEOUT_MS = 60_000;

/**
 * Submits one task (a no-op `sleep` unless `task` is given), waits for it to finish and times the
 * stages. Used one after another it is a closed loop (the payloads scenario).
 * @throws {Error} for a task that did not succeed, or whatever the client throws
 */
export async function submitAndFollow(
  client: MutiraoClient,
  token: string,
  options: { key: string; task?: TaskSpec },
): Promise<{ sample: LatencySample; task: TaskView }> {
  const { key } = options;
  const sentMs = wallNowMs();
  const ack = await client.request({
    type: "submit",
    token,
    idempotencyKey: key,
    task: options.task ?? { kind: "sleep", description: key, durationMs: 0 },
  });
  const ackMs = wallNowMs() - sentMs;
  const done = await client.request({
    type: "wait",
    token,
    taskId: ack.taskId,
    timeoutMs: WAIT_TIMEOUT_MS,
  });
  const completedMs = wallNowMs() - sentMs;
  const at = (event: string) => done.task.history.find((e) => e.event === event)?.atMs;
  const [submitted, assigned, started] = [at("submitted"), at("assigned"), at("started")];
  if (done.task.state !== "succeeded" || started === undefined) {
    throw new Error(`Task ${ack.taskId} ended ${done.task.state} without a start`);
  }
  const sample = {
    ackMs,
    runningMs: started - sentMs,
    completedMs,
    toAssignedMs: (assigned ?? NaN) - (submitted ?? NaN),
    toStartedMs: started - (assigned ?? NaN),
  };
  return { sample, task: done.task };
}

/**
 * Sends `count` submissions `1000 / ratePerS` ms apart and collects their samples once every
 * task finished. Given several clients, submissions take turns over them: each submission keeps
 * one request open until its task finishes, and a connection allows only so many at once.
 * @throws whatever the client throws, or an Error for a task that did not succeed
 */
export async function openLoop(
  client: MutiraoClient | readonly MutiraoClient[],
  token: string,
  options: {
    count: number;
    ratePerS: number;
    keyPrefix: string;
    /** Called once the last submission was sent, before waiting for completions. */
    onAllSent?: () => void;
  },
): Promise<{ samples: LatencySample[]; achievedRatePerS: number }> {
  const clients = Array.isArray(client) ? client : [client as MutiraoClient];
  const intervalMs = 1000 / options.ratePerS;
  const pending: Promise<LatencySample>[] = [];
  const start = performance.now();
  for (let i = 0; i < options.count; i++) {
    // Schedule against the start time, not the previous send, so timer drift does not add up.
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await delay(wait);
    const sample = submitAndFollow(clients[i % clients.length], token, {
      key: `${options.keyPrefix}-${i}`,
    }).then((r) => r.sample);
    // Handled at once so a failure while later tasks are still being sent is not an unhandled
    // rejection (which ends the process); Promise.all below still rejects with it.
    sample.catch(() => {});
    pending.push(sample);
  }
  const sendSpanMs = performance.now() - start;
  options.onAllSent?.();
  const samples = await Promise.all(pending);
  return { samples, achievedRatePerS: round(((options.count - 1) * 1000) / sendSpanMs, 0) };
}
