/**
 * Many workers: simulated workers (real TCP registrations and UDP heartbeats, from one process)
 * join a 3-orchestrator cluster. Measured: registration time; the orchestrators' CPU while idle
 * with every worker heartbeating, per worker, and the same cluster's CPU without workers; and no-op
 * task throughput with the work spread over all of them (scheduling cost per worker shows up as
 * leader CPU per task).
 *
 * CPU per worker is the orchestrator's whole CPU time in the window divided by the workers: an
 * upper bound that includes the cluster's own idle cost (reported beside it). It used to be the
 * difference between two windows, which noise (and a baseline window that caught other work)
 * could make negative: a CPU time is never negative, and a measurement that can be is wrong.
 * @module
 */
import { readCpuTimeMs } from "../lib/proc_stats.ts";
import type { Measurement } from "../lib/report.ts";
import { delay, type RealCluster } from "../lib/real_cluster.ts";
import type { Scenario } from "../lib/scenario.ts";
import { SimulatedWorkerPool } from "../lib/simulated_workers.ts";
import { round } from "../lib/stats.ts";
import { submitInBatches, waitUntilIdle } from "../lib/task_load.ts";

const IDLE_WINDOW_MS = 10_000;
/** The product default; the cluster file here keeps it. */
const HEARTBEAT_INTERVAL_MS = 500;
const SLOTS_PER_WORKER = 4;

/** CPU milliseconds each orchestrator used during `body`, and how long it took. */
async function cpuDuring(
  cluster: RealCluster,
  body: () => Promise<void>,
): Promise<{ wallMs: number; cpuMs: Record<string, number> }> {
  const before: Record<string, number> = {};
  for (const o of cluster.orchestrators) before[o.id] = await readCpuTimeMs(o.process!.pid);
  const t = performance.now();
  await body();
  const wallMs = performance.now() - t;
  const cpuMs: Record<string, number> = {};
  for (const o of cluster.orchestrators) {
    cpuMs[o.id] = (await readCpuTimeMs(o.process!.pid)) - before[o.id];
  }
  return { wallMs, cpuMs };
}

export const manyWorkers: Scenario = {
  name: "many-workers",
  summary: "simulated workers over the real protocol: heartbeat and scheduling cost per worker",
  async run(ctx) {
    const count = ctx.options.sizes.simWorkers;
    const tasks = Math.min(ctx.options.sizes.throughputTasks, 20_000);
    const cluster = await ctx.cluster({ workers: 0 });
    await cluster.start();
    const leader = await cluster.waitForLeader();
    const token = await cluster.token();
    const client = cluster.client({ timeoutMs: 120_000 });
    const pool = new SimulatedWorkerPool({
      orchestrators: cluster.addresses,
      count,
      slots: SLOTS_PER_WORKER,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    });
    try {
      ctx.progress("idle baseline without workers");
      const baseline = await cpuDuring(cluster, () => delay(IDLE_WINDOW_MS));
      const t = performance.now();
      await pool.start();
      const registerMs = round(performance.now() - t, 0);
      ctx.progress(`${count} workers registered in ${registerMs} ms; idle with heartbeats`);
      await delay(2000);
      const idle = await cpuDuring(cluster, () => delay(IDLE_WINDOW_MS));
      ctx.progress(`${tasks} tasks over ${count} workers`);
      let run!: Awaited<ReturnType<typeof submitInBatches>>;
      let done!: Awaited<ReturnType<typeof waitUntilIdle>>;
      const busy = await cpuDuring(cluster, async () => {
        run = await submitInBatches(client, token, {
          total: tasks,
          batchSize: 1000,
          inFlight: 4,
          keyPrefix: "mw",
        });
        done = await waitUntilIdle(client, token, { timeoutMs: 600_000 });
      });
      const lost = (await cluster.logText(cluster.node(leader.id))).split("\n")
        .filter((l) => / lost: missed heartbeats/.test(l)).length;
      await pool.stop();
      // Whole CPU time over the window, per worker: never negative (see the module doc).
      const perWorkerUs = (id: string) => ((idle.cpuMs[id] / idle.wallMs) * 1e6) / count;
      const leaderUs = perWorkerUs(leader.id);
      const followerUs = cluster.orchestrators.filter((o) => o.id !== leader.id).map((o) =>
        perWorkerUs(o.id)
      );
      const measurements: Measurement[] = [
        { metric: `registration of ${count} workers`, value: registerMs, unit: "ms" },
        {
          metric: "leader CPU per idle worker",
          value: round(leaderUs, 1),
          unit: "µs/s",
          note: `${
            1000 / HEARTBEAT_INTERVAL_MS
          } heartbeats/s per worker; whole leader CPU ÷ workers (an upper bound)`,
        },
        {
          metric: "leader CPU per heartbeat",
          value: round(leaderUs / (1000 / HEARTBEAT_INTERVAL_MS), 1),
          unit: "µs",
        },
        {
          metric: "follower CPU per idle worker",
          value: round(followerUs.reduce((a, b) => a + b, 0) / Math.max(1, followerUs.length), 1),
          unit: "µs/s",
        },
        {
          metric: "leader CPU, no workers",
          value: round((100 * baseline.cpuMs[leader.id]) / baseline.wallMs, 1),
          unit: "% of a core",
        },
        {
          metric: `leader CPU, ${count} idle workers`,
          value: round((100 * idle.cpuMs[leader.id]) / idle.wallMs, 1),
          unit: "% of a core",
        },
        {
          metric: `tasks/s over ${count} workers`,
          value: round((tasks * 1000) / (done.lastFinishedMs - run.firstSubmitMs), 0),
          unit: "tasks/s",
        },
        {
          metric: "leader CPU per task",
          value: round((busy.cpuMs[leader.id] * 1000) / tasks, 0),
          unit: "µs",
        },
        {
          metric: "workers wrongly declared dead",
          value: lost,
          unit: "",
          target: { kind: "atMost", value: 0 },
        },
      ];
      return {
        measurements,
        details: {
          count,
          slotsPerWorker: SLOTS_PER_WORKER,
          tasks,
          baseline,
          idle,
          busy,
          pool: pool.stats,
        },
      };
    } finally {
      await pool.stop();
      client.close();
    }
  },
};
