/**
 * Scale: many tasks through the replicated cluster with snapshots on (the product default,
 * every 10,000 entries), then:
 * - orchestrator memory: peak RSS (VmHWM) and, per retained finished task, the growth of RSS
 *   over the run divided by the tasks (RSS includes uncollected garbage, so this is an upper
 *   bound on what a task costs);
 * - the newest snapshot's size on disk;
 * - recovery: a follower killed with SIGKILL and restarted, timed to its ready line (state
 *   loaded from snapshot + log, listening) and to being caught up; then every orchestrator
 *   killed and restarted, timed until a linearizable read of the last task succeeds.
 *
 * Nodes log at "warn" here: at the default "info" level a million tasks write about nine million
 * log lines, which on two cores would measure the log, not the orchestrator.
 * @module
 */
import { readMemoryStatus } from "../lib/proc_stats.ts";
import type { Measurement } from "../lib/report.ts";
import { delay, type RealCluster } from "../lib/real_cluster.ts";
import type { Scenario } from "../lib/scenario.ts";
import { round } from "../lib/stats.ts";
import { submitInBatches, waitUntilIdle } from "../lib/task_load.ts";

const BATCH = 5000;
const MIB = 1024 * 1024;

async function memory(
  cluster: RealCluster,
): Promise<Record<string, { peak: number; rss: number }>> {
  const out: Record<string, { peak: number; rss: number }> = {};
  for (const o of cluster.orchestrators) {
    if (o.process === null || o.process.hasExited) continue;
    const m = await readMemoryStatus(o.process.pid);
    out[o.id] = { peak: m.peakRssBytes, rss: m.rssBytes };
  }
  return out;
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

export const scale: Scenario = {
  name: "scale",
  summary: "many tasks with snapshots on: memory per task, snapshot size, recovery time",
  async run(ctx) {
    const total = ctx.options.sizes.scaleTasks;
    const cluster = await ctx.cluster({ logLevel: "warn" });
    await cluster.start();
    const token = await cluster.token();
    const client = cluster.client({ timeoutMs: 300_000 });
    try {
      await submitInBatches(client, token, {
        total: 1000,
        batchSize: 1000,
        inFlight: 1,
        keyPrefix: "warm",
      });
      await waitUntilIdle(client, token, { timeoutMs: 60_000 });
      const before = await memory(cluster);
      ctx.progress(`${total} tasks`);
      const startedMs = Date.now();
      let reported = 0;
      const progress = setInterval(() => {
        const s = ((Date.now() - startedMs) / 1000).toFixed(0);
        ctx.progress(`${s} s in, submitting/running (${++reported})`);
      }, 60_000);
      let run;
      let idle;
      try {
        run = await submitInBatches(client, token, {
          total,
          batchSize: BATCH,
          inFlight: 2,
          keyPrefix: "s",
        });
        ctx.progress(
          `all ${total} acknowledged after ${((run.lastAckMs - startedMs) / 1000).toFixed(0)} s`,
        );
        idle = await waitUntilIdle(client, token, { timeoutMs: 6 * 3600_000, pollMs: 1000 });
      } finally {
        clearInterval(progress);
      }
      const runSeconds = (idle.lastFinishedMs - run.firstSubmitMs) / 1000;
      const after = await memory(cluster);
      const leader = await cluster.waitForLeader();
      const grownBytes = after[leader.id].rss - before[leader.id].rss;
      const peak = Math.max(...Object.values(after).map((m) => m.peak));
      const snapshot = await newestSnapshot(`${cluster.dir}/data/${leader.id}`);
      ctx.progress(`done in ${runSeconds.toFixed(0)} s; recovering`);
      const recovery = await measureRecovery(cluster, leader.id);
      const measurements: Measurement[] = [
        { metric: "tasks through the cluster", value: total + 1000, unit: "" },
        { metric: "throughput over the run", value: round(total / runSeconds, 0), unit: "tasks/s" },
        { metric: "orchestrator peak RSS", value: round(peak / MIB, 0), unit: "MiB" },
        {
          metric: "leader RSS growth per retained task",
          value: round(grownBytes / total, 0),
          unit: "B",
          target: { kind: "atMost", value: 1024 },
        },
        { metric: "snapshot size", value: round((snapshot?.bytes ?? NaN) / MIB, 1), unit: "MiB" },
        {
          metric: "snapshot bytes per task",
          value: round((snapshot?.bytes ?? NaN) / (total + 1000), 0),
          unit: "B",
        },
        {
          metric: "restarted follower: ready (state recovered)",
          value: recovery.followerReadyMs,
          unit: "ms",
          target: { kind: "atMost", value: 10_000 },
        },
        { metric: "restarted follower: caught up", value: recovery.followerCaughtUpMs, unit: "ms" },
        {
          metric: "whole cluster restarted: first read served",
          value: recovery.clusterServesMs,
          unit: "ms",
        },
      ];
      return {
        measurements,
        details: { total, runSeconds, before, after, snapshot, recovery, leader: leader.id },
      };
    } finally {
      client.close();
    }
  },
};

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
