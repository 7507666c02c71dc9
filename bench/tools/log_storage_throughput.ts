/**
 * A measurement, not a test: entries per second through the file storage for
 * batches of 1, 100 and 1000 small entries per sync, on a temp dir.
 *
 *     deno run -A bench/tools/log_storage_throughput.ts
 * @module
 */
import type { LogEntry } from "../../orchestrator/tasks/mod.ts";
import { openFileLogStorage } from "../../orchestrator/storage/mod.ts";

/** Batch size, and how many syncs to time for it (sized to run about a second each). */
const CASES = [
  { batchSize: 1, syncs: 2_000 },
  { batchSize: 100, syncs: 300 },
  { batchSize: 1_000, syncs: 100 },
] as const;

function makeBatch(first: number, count: number): LogEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    index: first + i,
    term: 1,
    command: { type: "noop", atMs: 1_700_000_000_000 + first + i },
  }));
}

async function measure(
  batchSize: number,
  syncs: number,
): Promise<{ entriesPerSecond: number; syncsPerSecond: number; bytesPerEntry: number }> {
  const root = await Deno.makeTempDir({ prefix: "mutirao_bench_log_" });
  try {
    const { storage } = await openFileLogStorage(root);
    const batches = Array.from(
      { length: syncs },
      (_, i) => makeBatch(i * batchSize + 1, batchSize),
    );
    let bytes = 0;
    const startMs = performance.now();
    for (const batch of batches) {
      storage.append(batch);
      bytes += storage.pendingBytes;
      await storage.sync();
    }
    const seconds = (performance.now() - startMs) / 1000;
    await storage.close();
    const entries = batchSize * syncs;
    return {
      entriesPerSecond: entries / seconds,
      syncsPerSecond: syncs / seconds,
      bytesPerEntry: bytes / entries,
    };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

for (const { batchSize, syncs } of CASES) {
  const result = await measure(batchSize, syncs);
  console.log(
    `batch ${String(batchSize).padStart(4)}: ${
      Math.round(result.entriesPerSecond).toLocaleString("en-US").padStart(9)
    } entries/s, ${
      Math.round(result.syncsPerSecond).toLocaleString("en-US").padStart(6)
    } syncs/s ` +
      `(${Math.round(result.bytesPerEntry)} bytes per entry)`,
  );
}
