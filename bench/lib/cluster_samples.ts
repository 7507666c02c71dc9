/**
 * What long-running scenarios sample on a cluster between chunks of load: each running
 * orchestrator's memory, its live heap, and the bytes its data directory holds on disk.
 * @module
 */
import { heapAfterGc, type HeapUsage, inspectorUrl } from "./inspector_heap.ts";
import { readMemoryStatus } from "./proc_stats.ts";
import type { RealCluster } from "./real_cluster.ts";

/** RSS and peak RSS (VmHWM) in bytes of every running orchestrator, by node id. */
export async function orchestratorMemory(
  cluster: RealCluster,
): Promise<Record<string, { peak: number; rss: number }>> {
  const out: Record<string, { peak: number; rss: number }> = {};
  for (const o of cluster.orchestrators) {
    if (!cluster.isRunning(o)) continue;
    const m = await readMemoryStatus(o.process!.pid);
    out[o.id] = { peak: m.peakRssBytes, rss: m.rssBytes };
  }
  return out;
}

/**
 * The sizes of every file under `dir`, summed (what the directory holds, not the blocks the file
 * system allocated). A file removed while the walk runs is skipped: snapshots and log segments
 * come and go as the node compacts.
 */
export async function directoryBytes(dir: string): Promise<number> {
  let bytes = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    try {
      if (entry.isDirectory) bytes += await directoryBytes(path);
      else if (entry.isFile) bytes += (await Deno.stat(path)).size;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return bytes;
}

/**
 * The live heap of orchestrator `id` after a forced full GC, through the V8 inspector its log
 * announced (start it with `--inspect=127.0.0.1:0`), or null if it announced none.
 */
export async function liveHeap(cluster: RealCluster, id: string): Promise<HeapUsage | null> {
  const url = inspectorUrl(await cluster.logText(cluster.node(id)));
  return url === null ? null : await heapAfterGc(url, 300_000);
}
