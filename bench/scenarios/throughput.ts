/**
 * Throughput: N no-op tasks submitted in batches, timed from the first submission to the last
 * completion, on the replicated cluster and on a single orchestrator (the cost of replication).
 * With `--peer`, interleaved rounds of the replicated cluster and each peer instead. With
 * `--http`, a dashboard's requests are open on the leader over each measured run.
 * @module
 */
import { DashboardLoad, type DashboardReport, dashboardRows } from "../lib/dashboard_load.ts";
import { MUTIRAO, throughputComparison, type ThroughputRun } from "../lib/comparison.ts";
import { failureRows, runPeerRounds } from "../lib/peer_rounds.ts";
import { readNodesCpuTimeMs } from "../lib/proc_stats.ts";
import type { Measurement, ScenarioResult } from "../lib/report.ts";
import type { RealCluster } from "../lib/real_cluster.ts";
import { type Scenario, type ScenarioContext, THROUGHPUT_WARMUP_TASKS } from "../lib/scenario.ts";
import { round } from "../lib/stats.ts";
import { submitInBatches, waitUntilIdle } from "../lib/task_load.ts";

/** The targets: Mutirão's replicated tasks/s, and its ratio to BullMQ's. */
const TASKS_PER_S_TARGET = 15_000;
const PEER_RATIO_TARGET = 1.9;

interface RunResult {
  orchestrators: number;
  tasks: number;
  tasksPerS: number;
  /** Submissions acknowledged per second (replicated and applied), first to last. */
  acksPerS: number;
  elapsedMs: number;
  /** CPU time per node over the run, as a share of one core. */
  cpuShare: Record<string, number>;
  leader: string;
  /** With `--http`: what the dashboard open on the leader saw. */
  dashboard?: DashboardReport;
}

async function measure(ctx: ScenarioContext, orchestrators: number): Promise<RunResult> {
  const { sizes } = ctx.options;
  const cluster = await ctx.cluster({ orchestrators });
  await cluster.start();
  const leader = await cluster.waitForLeader();
  const token = await cluster.token();
  const client = cluster.client({ timeoutMs: 120_000 });
  let dashboard: DashboardLoad | null = null;
  try {
    ctx.progress(`warm-up on ${orchestrators} orchestrator(s)`);
    await submitInBatches(client, token, {
      total: THROUGHPUT_WARMUP_TASKS,
      batchSize: Math.min(THROUGHPUT_WARMUP_TASKS, sizes.batchSize),
      inFlight: sizes.batchesInFlight,
      keyPrefix: "warmup",
    });
    await waitUntilIdle(client, token, { timeoutMs: 120_000 });
    dashboard = ctx.options.http === true
      ? await DashboardLoad.open({ base: cluster.httpBase(leader.id), node: leader.id, token })
      : null;
    const cpuBefore = await cpuTimes(cluster);
    const wallStart = performance.now();
    ctx.progress(`${sizes.throughputTasks} tasks on ${orchestrators} orchestrator(s)`);
    const run = await submitInBatches(client, token, {
      total: sizes.throughputTasks,
      batchSize: sizes.batchSize,
      inFlight: sizes.batchesInFlight,
      keyPrefix: "run",
    });
    const idle = await waitUntilIdle(client, token, { timeoutMs: 600_000 });
    dashboard?.markEnd();
    const wallMs = performance.now() - wallStart;
    const cpuAfter = await cpuTimes(cluster);
    const dashboardReport = await dashboard?.close();
    const elapsedMs = Math.max(1, idle.lastFinishedMs - run.firstSubmitMs);
    const cpuShare: Record<string, number> = {};
    for (const [id, ms] of Object.entries(cpuAfter)) {
      cpuShare[id] = round((ms - (cpuBefore[id] ?? 0)) / wallMs, 2);
    }
    return {
      orchestrators,
      tasks: sizes.throughputTasks,
      tasksPerS: round((sizes.throughputTasks * 1000) / elapsedMs, 0),
      acksPerS: round(
        (sizes.throughputTasks * 1000) / Math.max(1, run.lastAckMs - run.firstSubmitMs),
        0,
      ),
      elapsedMs,
      cpuShare,
      leader: leader.id,
      ...(dashboardReport === undefined ? {} : { dashboard: dashboardReport }),
    };
  } finally {
    dashboard?.abort();
    client.close();
    await cluster.stop();
  }
}

function cpuTimes(cluster: RealCluster): Promise<Record<string, number>> {
  return readNodesCpuTimeMs([...cluster.orchestrators, ...cluster.workers]);
}

/** Interleaved rounds of the replicated cluster and each peer. */
async function compareWithPeers(ctx: ScenarioContext): Promise<ScenarioResult> {
  const dashboards: DashboardReport[] = [];
  const { runs, failures } = await runPeerRounds<ThroughputRun>(ctx, {
    mutirao: async () => {
      const run = await measure(ctx, ctx.options.orchestrators);
      if (run.dashboard !== undefined) dashboards.push(run.dashboard);
      return run;
    },
    peer: (peer) => peer.throughput(ctx),
  });
  const { sizes, workers, slots } = ctx.options;
  return {
    measurements: [
      ...throughputComparison(runs, {
        mutirao: { kind: "atLeast", value: TASKS_PER_S_TARGET },
        ratio: { kind: "atLeast", value: PEER_RATIO_TARGET },
      }),
      ...dashboardRows(dashboards, sizes.throughputTasks),
      ...failureRows(failures),
    ],
    details: {
      tasksPerRun: sizes.throughputTasks,
      batchSize: sizes.batchSize,
      batchesInFlight: sizes.batchesInFlight,
      warmupTasks: THROUGHPUT_WARMUP_TASKS,
      shape: `${workers} workers x ${slots} slots`,
      rounds: ctx.options.peerRounds,
      peers: ctx.peers.map((p) => ({ name: p.name, description: p.description })),
      perRun: Object.fromEntries(runs),
      failures,
      method: {
        [MUTIRAO]: "first submitBatch sent → newest finishedAtMs (leader clock)",
        peers: "first addBulk called → newest finishedOn (worker clock)",
      },
    },
  };
}

export const throughput: Scenario = {
  name: "throughput",
  summary: "no-op tasks in batches, first submission to last completion; 3 vs 1 orchestrators",
  async run(ctx) {
    if (ctx.peers.length > 0) return await compareWithPeers(ctx);
    const replicated = await measure(ctx, ctx.options.orchestrators);
    const single = await measure(ctx, 1);
    const measurements: Measurement[] = [
      {
        metric: `tasks/s, ${replicated.orchestrators} orchestrators`,
        value: replicated.tasksPerS,
        unit: "tasks/s",
        target: { kind: "atLeast", value: TASKS_PER_S_TARGET },
        note:
          `${replicated.tasks} tasks, ${ctx.options.workers} workers x ${ctx.options.slots} slots, prefetch ${ctx.options.prefetch}`,
      },
      {
        metric: "submissions acknowledged/s (replicated)",
        value: replicated.acksPerS,
        unit: "tasks/s",
      },
      { metric: "tasks/s, 1 orchestrator", value: single.tasksPerS, unit: "tasks/s" },
      {
        metric: "cost of replication",
        value: round(100 * (1 - replicated.tasksPerS / single.tasksPerS), 0),
        unit: "%",
        note: "1 - replicated/single throughput",
      },
      {
        metric: "leader CPU during run",
        value: round(100 * (replicated.cpuShare[replicated.leader] ?? NaN), 0),
        unit: "% of a core",
      },
      ...dashboardRows(
        replicated.dashboard === undefined ? [] : [replicated.dashboard],
        replicated.tasks,
      ),
    ];
    return { measurements, details: { replicated, single } };
  },
};
