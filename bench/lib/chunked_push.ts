/**
 * Long runs of no-op tasks pushed chunk by chunk, so that a run that cannot finish still reports
 * how far it got: each chunk is submitted in batches and waited for until the cluster is idle,
 * then the caller samples what it measures. No new chunk starts once the time budget is used up
 * or the machine runs short of memory, and the death of an orchestrator ends the run with its
 * last log lines.
 * @module
 */
import { UnreachableError } from "../../client/api/mod.ts";
import { readMachineMemory } from "./proc_stats.ts";
import { delay, type RealCluster } from "./real_cluster.ts";
import type { Measurement } from "./report.ts";
import type { ScenarioContext } from "./scenario.ts";
import { round } from "./stats.ts";
import { submitInBatches, waitUntilIdle } from "./task_load.ts";

const MIB = 1024 * 1024;
/** No new chunk starts once less than this share of the machine's memory is available. */
const MEMORY_FLOOR = 0.35;
/** Submission requests outstanding at once within a chunk. */
const BATCHES_IN_FLIGHT = 2;
/** The client's time budget per request: a batch of thousands takes seconds, even under load. */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Attempts at a chunk whose requests found no leader. The client library does not go back, within
 * one request, to an orchestrator that fell silent during it, so on a machine loaded enough for
 * elections a request can circle the followers until its budget is gone; a fresh client submits
 * the chunk again (the same idempotency keys: tasks already in are not added twice).
 */
const CHUNK_ATTEMPTS_MAX = 5;

export interface ChunkedPushOptions {
  /** Tasks in all. */
  total: number;
  /** Tasks per chunk: the caller samples between chunks. */
  chunkTasks: number;
  /** Tasks per submitBatch request. */
  batchTasks: number;
  /** No new chunk starts after this long. */
  budgetMs: number;
  /** Idempotency keys are `${keyPrefix}${tasks pushed before the chunk}-${i}`. */
  keyPrefix: string;
  /** Called after each chunk finished, with the tasks pushed so far and the time since the start. */
  onChunk(pushed: number, elapsedMs: number): Promise<void>;
}

export interface ChunkedPushRun {
  /** Tasks submitted and finished (whole chunks only). */
  pushed: number;
  runSeconds: number;
  /** Which orchestrators died and their last log lines, or null if none did. */
  death: string | null;
  /** Chunks submitted again because a request found no leader within its budget. */
  chunkRetries: number;
  /** Time spent in the attempts that failed so (part of `runSeconds`). */
  retriedSeconds: number;
}

/**
 * Submits up to `total` tasks chunk by chunk, racing each chunk against the death of an
 * orchestrator.
 * @throws whatever the client throws for a refused request, or if a chunk never finishes.
 */
export async function pushInChunks(
  ctx: ScenarioContext,
  cluster: RealCluster,
  options: ChunkedPushOptions,
): Promise<ChunkedPushRun> {
  const token = await cluster.token();
  let death: string | null = null;
  let pushed = 0;
  let chunkRetries = 0;
  let retriedMs = 0;
  // Set once a node died: the chunk still running is abandoned, and neither retried nor awaited.
  let abandoned = false;
  const startedMs = Date.now();
  const died = Promise.race(
    cluster.orchestrators.map((o) => o.process!.exited.then(() => o.id)),
  );
  const runChunk = async (count: number) => {
    for (let attempt = 1;; attempt++) {
      const attemptStartMs = Date.now();
      const client = cluster.client({ timeoutMs: REQUEST_TIMEOUT_MS });
      try {
        await submitInBatches(client, token, {
          total: count,
          batchSize: options.batchTasks,
          inFlight: BATCHES_IN_FLIGHT,
          keyPrefix: `${options.keyPrefix}${pushed}`,
        });
        return await waitUntilIdle(client, token, { timeoutMs: 3600_000, pollMs: 500 });
      } catch (error) {
        const retry = error instanceof UnreachableError && attempt < CHUNK_ATTEMPTS_MAX;
        if (!retry || abandoned) throw error;
        chunkRetries += 1;
        retriedMs += Date.now() - attemptStartMs;
        ctx.progress(
          `chunk after ${pushed} tasks, attempt ${attempt}: ${error.message}; submitting it again`,
        );
      } finally {
        client.close();
      }
    }
  };
  while (pushed < options.total) {
    if (Date.now() - startedMs > options.budgetMs) {
      ctx.progress(`time budget of ${options.budgetMs / 60_000} min used up after ${pushed} tasks`);
      break;
    }
    // Three orchestrators each holding every task can exhaust a shared machine's memory.
    const { availableBytes, totalBytes } = await readMachineMemory();
    if (availableBytes < MEMORY_FLOOR * totalBytes) {
      ctx.progress(
        `memory guard: only ${round(availableBytes / MIB, 0)} MiB of ` +
          `${round(totalBytes / MIB, 0)} MiB left after ${pushed} tasks; stopping here`,
      );
      break;
    }
    const count = Math.min(options.chunkTasks, options.total - pushed);
    const chunk = runChunk(count);
    const winner = await Promise.race([chunk, died.then((id) => ({ died: id }))]);
    if ("died" in winner) {
      // The chunk's requests fail once the cluster stops: that is expected now.
      abandoned = true;
      chunk.catch(() => {});
      // Give the others a moment: a bug that kills one node usually kills all three.
      await delay(5000);
      death = await describeDeaths(cluster, pushed);
      ctx.progress(death);
      break;
    }
    pushed += count;
    await options.onChunk(pushed, Date.now() - startedMs);
  }
  const runSeconds = (Date.now() - startedMs) / 1000;
  return { pushed, runSeconds, death, chunkRetries, retriedSeconds: retriedMs / 1000 };
}

/** Says which orchestrators exited, with their last log lines. */
async function describeDeaths(cluster: RealCluster, tasks: number): Promise<string> {
  const deaths: string[] = [];
  for (const o of cluster.orchestrators) {
    if (cluster.isRunning(o)) continue;
    const status = await o.process!.exited;
    deaths.push(
      `orchestrator ${o.id} exited (code ${status.code}) after about ${tasks} tasks:\n${await cluster
        .logTail(o, 6)}`,
    );
  }
  return deaths.join("\n");
}

/**
 * What every chunked scenario reports when orchestrators died: how many tasks went through before
 * (`done`, of `total` asked for) and how many nodes died, with the first error line of `death`.
 */
export function crashMeasurements(total: number, done: number, death: string): Measurement[] {
  return [
    {
      metric: "tasks through the cluster before it crashed",
      value: done,
      unit: "",
      target: { kind: "atLeast", value: total },
    },
    {
      metric: "orchestrators that crashed",
      value: (death.match(/^orchestrator /gm) ?? []).length,
      unit: "",
      target: { kind: "atMost", value: 0 },
      note: death.split("\n").find((l) => /Error|error/.test(l))?.trim().slice(0, 160),
    },
  ];
}
