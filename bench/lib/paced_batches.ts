/**
 * A sustained background load: a batch of no-op tasks every `batchSize / ratePerS` seconds,
 * paced against the start time (open loop), until stopped. A batch that falls due while
 * `inFlightMax` requests are outstanding is skipped and counted rather than queued, so the
 * generator never holds unbounded work and the achieved rate shows a system that cannot keep up.
 * @module
 */
import type { MutiraoClient } from "../../client/api/mod.ts";
import { delay } from "./real_cluster.ts";
import { sleepTasks } from "./task_load.ts";

/** What the load achieved, client wall clock (Date.now() ms). */
export interface PacedBatchesResult {
  /** Tasks acknowledged. */
  added: number;
  skippedBatches: number;
  startMs: number;
  stopMs: number;
}

/** A running background load. */
export interface PacedBatches {
  /** Stops sending, waits for outstanding requests and reports. */
  stop(): Promise<PacedBatchesResult>;
}

/**
 * Starts the load at once.
 * @throws nothing itself; a rejected submission makes `stop()` reject
 */
export function startPacedBatches(
  client: MutiraoClient,
  token: string,
  options: { ratePerS: number; batchSize: number; inFlightMax: number; keyPrefix: string },
): PacedBatches {
  const intervalMs = (options.batchSize * 1000) / options.ratePerS;
  let running = true;
  let inFlight = 0;
  let added = 0;
  let skippedBatches = 0;
  const pending = new Set<Promise<void>>();
  const startMs = Date.now();
  const loop = (async () => {
    const start = performance.now();
    for (let i = 0; running; i++) {
      const wait = start + i * intervalMs - performance.now();
      if (wait > 0) await delay(wait);
      if (!running) break;
      if (inFlight >= options.inFlightMax) {
        skippedBatches++;
        continue;
      }
      inFlight++;
      const tasks = sleepTasks(options.keyPrefix, {
        start: i * options.batchSize,
        count: options.batchSize,
      });
      const request = client.request({ type: "submitBatch", token, tasks }).then(() => {
        inFlight--;
        added += options.batchSize;
      });
      pending.add(request);
      // Removed once settled; a rejection surfaces through stop()'s Promise.all.
      request.then(() => pending.delete(request), () => {});
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(pending);
      return { added, skippedBatches, startMs, stopMs: Date.now() };
    },
  };
}
