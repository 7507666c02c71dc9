/**
 * Scale: many tasks through the replicated cluster with snapshots on (the product default,
 * every 10,000 entries), in chunks so that a run that cannot finish still reports how far it
 * got. After every chunk: orchestrator memory (RSS, peak RSS = VmHWM) and the newest snapshot's
 * size. At the end:
 * - bytes of orchestrator memory per retained finished task: the leader's RSS growth over the
 *   run divided by the tasks (RSS includes uncollected garbage: an upper bound);
 * - recovery: a follower killed with SIGKILL and restarted, timed to its ready line (state loaded
 *   from snapshot and log, listening) and to being caught up; then every orchestrator killed and
 *   restarted, timed until a linearizable read of the newest task is answered.
 *
 * A node that dies mid-run ends the scenario with its last log lines in the error.
 * @module
 */
import { crashMeasurements, pushInChunks } from "../lib/chunked_push.ts";
import { liveHeap, orchestratorMemory } from "../lib/cluster_samples.ts";
import type { Measurement, ScenarioResult } from "../lib/report.ts";
import { delay, type RealCluster } from "../lib/real_cluster.ts";
import type { Scenario, ScenarioContext } from "../lib/scenario.ts";
import { round } from "../lib/stats.ts";
import { submitInBatches, waitUntilIdle } from "../lib/task_load.ts";

const BATCH = 5000;
const MIB = 1024 * 1024;
/** Tasks per chunk: memory and snapshot size are sampled between chunks. */
const CHUNK = 50_000;

interface Checkpoint {
  tasks: number;
  elapsedS: number;
  rssMiB: Record<string, number>;
  peakRssMiB: Record<string, number>;
  snapshotMiB: number | null;
}

/** The newest snapshot file of an orchestrator's data directory, or null. */
async function newestSnapshot(dir: string): Promise<{ name: string; bytes: number } | null> {
  let best: { name: string; bytes: number } | null = null;
  for await (const entry of Deno.readDir(dir)) {
    if (!/^snapshot-\d{20}-\d+\.snap$/.test(entry.name)) continue;
    if (best === null || entry.name > best.name) {
      best = { name: entry.name, bytes: (await Deno.stat(`${dir}/${entry.name}`)).size };
    }
  }
  return best;
}

/** Pushes `total` tasks chunk by chunk (see pushInChunks), sampling memory and snapshot size. */
async function pushTasks(
  ctx: ScenarioContext,
  cluster: RealCluster,
  total: number,
  budgetMs: number,
) {
  const checkpoints: Checkpoint[] = [];
  const run = await pushInChunks(ctx, cluster, {
    total,
    chunkTasks: CHUNK,
    batchTasks: BATCH,
    budgetMs,
    keyPrefix: "s",
    onChunk: async (pushed, elapsedMs) => {
      const m = await orchestratorMemory(cluster);
      const leader = await cluster.waitForLeader({ timeoutMs: 60_000 });
      const snapshot = await newestSnapshot(`${cluster.dir}/data/${leader.id}`);
      const checkpoint: Checkpoint = {
        tasks: pushed,
        elapsedS: round(elapsedMs / 1000, 0),
        rssMiB: Object.fromEntries(Object.entries(m).map(([id, v]) => [id, round(v.rss / MIB, 0)])),
        peakRssMiB: Object.fromEntries(
          Object.entries(m).map(([id, v]) => [id, round(v.peak / MIB, 0)]),
        ),
        snapshotMiB: snapshot === null ? null : round(snapshot.bytes / MIB, 1),
      };
      checkpoints.push(checkpoint);
      ctx.progress(
        `${pushed} tasks after ${checkpoint.elapsedS} s; leader ${leader.id} RSS ` +
          `${checkpoint.rssMiB[leader.id]} MiB; snapshot ${checkpoint.snapshotMiB} MiB`,
      );
    },
  });
  return { ...run, checkpoints };
}

export const scale: Scenario = {
  name: "scale",
  summary: "many tasks with snapshots on: memory per task, snapshot size, recovery time",
  async run(ctx) {
    const total = ctx.options.sizes.scaleTasks;
    // The inspector lets the run force a GC and read the live heap (inspector_heap.ts).
    const cluster = await ctx.cluster({ denoFlags: { orchestrator: ["--inspect=127.0.0.1:0"] } });
    await cluster.start();
    const token = await cluster.token();
    const warm = cluster.client({ timeoutMs: 60_000 });
    try {
      await submitInBatches(warm, token, {
        total: 1000,
        batchSize: 1000,
        inFlight: 1,
        keyPrefix: "warm",
      });
      await waitUntilIdle(warm, token, { timeoutMs: 60_000 });
    } finally {
      warm.close();
    }
    const leaderBefore = await cluster.waitForLeader();
    const before = await orchestratorMemory(cluster);
    const heapBefore = await liveHeap(cluster, leaderBefore.id);
    // RSS right after that forced GC: without the garbage a busy node had not collected yet.
    const beforeGc = await orchestratorMemory(cluster);
    ctx.progress(`${total} tasks in chunks of ${CHUNK}`);
    const budgetMs = ctx.options.sizes.scaleBudgetMinutes * 60_000;
    const { checkpoints, runSeconds, pushed, death } = await pushTasks(
      ctx,
      cluster,
      total,
      budgetMs,
    );
    if (death !== null) return crashed(total, checkpoints, death);
    const after = await orchestratorMemory(cluster);
    const leader = await cluster.waitForLeader();
    // RSS growth is only meaningful on a node that was up the whole run: prefer the first leader.
    const measured = after[leaderBefore.id] === undefined ? leader.id : leaderBefore.id;
    const grownBytes = after[measured].rss - before[measured].rss;
    const retained = pushed + 1000;
    const heapAfter = measured === leaderBefore.id ? await liveHeap(cluster, measured) : null;
    const afterGc = await orchestratorMemory(cluster);
    const grownAfterGc = heapAfter === null ? NaN : afterGc[measured].rss - beforeGc[measured].rss;
    const peak = Math.max(...Object.values(after).map((m) => m.peak));
    const snapshot = await newestSnapshot(`${cluster.dir}/data/${leader.id}`);
    ctx.progress(`done in ${runSeconds.toFixed(0)} s; measuring recovery`);
    const recovery = await measureRecovery(cluster, leader.id);
    const measurements: Measurement[] = [
      {
        metric: "tasks through the cluster",
        value: retained,
        unit: "",
        target: { kind: "atLeast", value: total + 1000 },
        note: `time budget ${ctx.options.sizes.scaleBudgetMinutes} min`,
      },
      { metric: "throughput over the run", value: round(pushed / runSeconds, 0), unit: "tasks/s" },
      { metric: "orchestrator peak RSS", value: round(peak / MIB, 0), unit: "MiB" },
      {
        metric: "RSS growth per retained task",
        value: round(grownBytes / pushed, 0),
        unit: "B",
        target: { kind: "atMost", value: 1024 },
        note: `orchestrator ${measured}`,
      },
      {
        metric: "RSS growth per retained task, each RSS after a forced GC",
        value: round(grownAfterGc / pushed, 0),
        unit: "B",
        target: { kind: "atMost", value: 1024 },
        note: "the RSS above includes garbage not yet collected; this one does not",
      },
      {
        metric: "live heap per retained task (after GC)",
        value: heapAfter === null || heapBefore === null
          ? NaN
          : round((heapAfter.usedBytes - heapBefore.usedBytes) / pushed, 0),
        unit: "B",
        target: { kind: "atMost", value: 1024 },
        note: "V8 heap used after a forced full GC, through the inspector",
      },
      {
        metric: "off-heap buffers per retained task",
        value: heapAfter === null || heapBefore === null
          ? NaN
          : round((heapAfter.backingStoreBytes - heapBefore.backingStoreBytes) / pushed, 0),
        unit: "B",
        note:
          "ArrayBuffers (snapshots are read from disk; a snapshot installed from the leader until saved)",
      },
      { metric: "snapshot size", value: round((snapshot?.bytes ?? NaN) / MIB, 1), unit: "MiB" },
      {
        metric: "snapshot bytes per task",
        value: round((snapshot?.bytes ?? NaN) / retained, 0),
        unit: "B",
      },
      {
        metric: `restarted follower: ready (${retained} tasks recovered)`,
        value: recovery.followerReadyMs,
        unit: "ms",
        target: { kind: "atMost", value: 10_000 },
      },
      { metric: "restarted follower: caught up", value: recovery.followerCaughtUpMs, unit: "ms" },
      {
        metric: "whole cluster restarted: first read",
        value: recovery.clusterServesMs,
        unit: "ms",
      },
    ];
    return {
      measurements,
      details: {
        total,
        pushed,
        runSeconds,
        before,
        after,
        heapBefore,
        heapAfter,
        beforeGc,
        afterGc,
        snapshot,
        recovery,
        checkpoints,
      },
    };
  },
};

/** What a run that lost orchestrators can still report: how far it got, and how they died. */
function crashed(total: number, checkpoints: Checkpoint[], death: string): ScenarioResult {
  const last = checkpoints.at(-1);
  const leaderRss = last === undefined ? NaN : Math.max(...Object.values(last.rssMiB));
  return {
    measurements: [
      ...crashMeasurements(total, last?.tasks ?? 0, death),
      { metric: "largest RSS at the last checkpoint", value: leaderRss, unit: "MiB" },
      { metric: "snapshot at the last checkpoint", value: last?.snapshotMiB ?? NaN, unit: "MiB" },
    ],
    details: { total, checkpoints, death },
  };
}

/** Follower restart, then whole-cluster restart; all times in ms from the restart command. */
async function measureRecovery(cluster: RealCluster, leaderId: string) {
  const follower = cluster.orchestrators.find((o) => o.id !== leaderId)!;
  await cluster.kill(follower);
  let t = performance.now();
  await cluster.startNode(follower, 600_000);
  const followerReadyMs = round(performance.now() - t, 0);
  for (;;) {
    const [lv, fv] = await Promise.all([
      cluster.nodeStatus(leaderId, 5000),
      cluster.nodeStatus(follower.id, 5000),
    ]);
    if (lv !== null && fv !== null && fv.appliedIndex >= lv.commitIndex) break;
    if (performance.now() - t > 600_000) throw new Error("Restarted follower never caught up");
    await delay(50);
  }
  const followerCaughtUpMs = round(performance.now() - t, 0);

  await Promise.all(cluster.orchestrators.map((o) => cluster.kill(o)));
  t = performance.now();
  await Promise.all(cluster.orchestrators.map((o) => cluster.startNode(o, 600_000)));
  const token = await cluster.token();
  const client = cluster.client({ timeoutMs: 600_000 });
  try {
    const newest = await client.request({ type: "list", token, limit: 1 });
    await client.request({ type: "status", token, taskId: newest.tasks[0].id });
  } finally {
    client.close();
  }
  const clusterServesMs = round(performance.now() - t, 0);
  return { followerReadyMs, followerCaughtUpMs, clusterServesMs };
}
