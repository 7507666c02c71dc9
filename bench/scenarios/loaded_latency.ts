/**
 * Loaded latency: probe tasks submitted one at a time at a fixed rate (as in `latency`) while a
 * sustained background load of batches runs (5,000 tasks/s in batches of 50 every 10 ms, paced
 * against its start time, from a second client); reports probe submit→running and whether the
 * background load was actually achieved. A system that cannot keep up shows it twice: the
 * achieved rates fall short and the probes queue behind the backlog.
 *
 * With `--peer`, interleaved rounds of Mutirão and each peer.
 * @module
 */
import { latencyComparison, type LoadedLatencyRun, medianOf, MUTIRAO } from "../lib/comparison.ts";
import { openLoop } from "../lib/open_loop.ts";
import { type PacedBatchesResult, startPacedBatches } from "../lib/paced_batches.ts";
import { failureRows, type RoundsOutcome, runPeerRounds } from "../lib/peer_rounds.ts";
import { delay } from "../lib/real_cluster.ts";
import type { Measurement, ScenarioResult } from "../lib/report.ts";
import {
  LATENCY_WARMUP_TASKS,
  LOADED_BATCHES_IN_FLIGHT_MAX,
  type Scenario,
  type ScenarioContext,
} from "../lib/scenario.ts";
import { round, summarize } from "../lib/stats.ts";
import { waitUntilIdle } from "../lib/task_load.ts";

/** The target for probe submit→running p99 under load (ms). */
const PROBE_P99_TARGET_MS = 20;
/**
 * Probes one probe connection carries: each keeps a request open until it runs, and behind a
 * backlog hundreds are open at once, more than a connection may have (the cluster file's
 * maxInflightPerConnection, 256 by default).
 */
const PROBES_PER_CLIENT = 100;
/** The share of the offered background rate that counts as keeping up with it. */
const KEPT_UP_SHARE = 0.95;

/** One run on a fresh cluster, stopped before returning. */
async function measure(ctx: ScenarioContext): Promise<LoadedLatencyRun> {
  const { sizes } = ctx.options;
  const cluster = await ctx.cluster();
  await cluster.start();
  const token = await cluster.token();
  // Separate clients for the load and the probes, as independent users would have: probes do not
  // queue behind batches in one connection's write buffer.
  const loadClient = cluster.client({ timeoutMs: 120_000 });
  const probeClients = Array.from(
    { length: Math.ceil(sizes.loadedProbeTasks / PROBES_PER_CLIENT) },
    () => cluster.client({ timeoutMs: 120_000 }),
  );
  try {
    ctx.progress("warm-up");
    await openLoop(probeClients, token, {
      count: LATENCY_WARMUP_TASKS,
      ratePerS: sizes.loadedProbeRatePerS,
      keyPrefix: "warmup",
    });
    ctx.progress(
      `background ${sizes.loadedBackgroundRatePerS}/s, settling ${sizes.loadedSettleMs} ms`,
    );
    const background = startPacedBatches(loadClient, token, {
      ratePerS: sizes.loadedBackgroundRatePerS,
      batchSize: sizes.loadedBatchSize,
      inFlightMax: LOADED_BATCHES_IN_FLIGHT_MAX,
      keyPrefix: "background",
    });
    let stopping: Promise<PacedBatchesResult> | null = null;
    const stopBackground = () => stopping ??= background.stop();
    try {
      await delay(sizes.loadedSettleMs);
      ctx.progress(`${sizes.loadedProbeTasks} probes at ${sizes.loadedProbeRatePerS}/s`);
      const probes = await openLoop(probeClients, token, {
        count: sizes.loadedProbeTasks,
        ratePerS: sizes.loadedProbeRatePerS,
        keyPrefix: "probe",
        // The load ends with the last probe sent, not its completion; a failure of the load is
        // reported by the await below.
        onAllSent: () => void stopBackground().catch(() => {}),
      });
      const bg = await stopBackground();
      const idle = await waitUntilIdle(loadClient, token, { timeoutMs: 600_000 });
      const windowMs = Math.max(1, bg.stopMs - bg.startMs);
      return {
        probeRunningMs: probes.samples.map((s) => s.runningMs),
        probeRatePerS: probes.achievedRatePerS,
        backgroundTargetPerS: sizes.loadedBackgroundRatePerS,
        backgroundSubmittedPerS: (bg.added * 1000) / windowMs,
        completedPerS: ((bg.added + sizes.loadedProbeTasks) * 1000) /
          Math.max(1, idle.lastFinishedMs - bg.startMs),
        backgroundSkippedBatches: bg.skippedBatches,
      };
    } finally {
      // After a failed probe the load must still stop before its client closes; the probe's
      // error is the one worth reporting, so the load's own failure is dropped here.
      await stopBackground().catch(() => {});
    }
  } finally {
    loadClient.close();
    for (const c of probeClients) c.close();
    await cluster.stop();
  }
}

/** The background rows of one system: achieved rates (medians over runs) and skipped batches. */
function backgroundRows(system: string, runs: readonly LoadedLatencyRun[]): Measurement[] {
  const median = (f: (r: LoadedLatencyRun) => number) => medianOf(runs.map(f));
  const target = runs[0]?.backgroundTargetPerS ?? NaN;
  const submitted = median((r) => r.backgroundSubmittedPerS);
  const completed = median((r) => r.completedPerS);
  const skipped = runs.reduce((n, r) => n + r.backgroundSkippedBatches, 0);
  const keptUp = submitted >= KEPT_UP_SHARE * target && completed >= KEPT_UP_SHARE * target;
  // Both rows carry the same target, so a system that did not keep up shows "missed" in the table.
  const keptUpTarget = { kind: "atLeast" as const, value: round(KEPT_UP_SHARE * target, 0) };
  return [
    {
      metric: `background submitted/s, ${system}`,
      value: round(submitted, 0),
      unit: "tasks/s",
      target: keptUpTarget,
      note: `offered ${target}/s; ${skipped} batch(es) skipped ` +
        `(window of ${LOADED_BATCHES_IN_FLIGHT_MAX} requests full)`,
    },
    {
      metric: `completed/s under load, ${system}`,
      value: round(completed, 0),
      unit: "tasks/s",
      target: keptUpTarget,
      note: keptUp
        ? "kept up with the load"
        : "did NOT keep up: probes measured against a growing backlog",
    },
  ];
}

function report(
  ctx: ScenarioContext,
  outcome: RoundsOutcome<LoadedLatencyRun>,
): ScenarioResult {
  const { runs, failures } = outcome;
  const { sizes } = ctx.options;
  const samples = new Map(
    [...runs].map(([system, rs]) => [system, rs.flatMap((r) => r.probeRunningMs)]),
  );
  return {
    measurements: [
      ...latencyComparison(samples, {
        name: "probe submit→running",
        targets: { p99: PROBE_P99_TARGET_MS },
      }),
      ...[...runs].flatMap(([system, rs]) => backgroundRows(system, rs)),
      ...failureRows(failures),
    ],
    details: {
      backgroundRatePerS: sizes.loadedBackgroundRatePerS,
      backgroundBatchSize: sizes.loadedBatchSize,
      backgroundBatchesInFlightMax: LOADED_BATCHES_IN_FLIGHT_MAX,
      probesPerRun: sizes.loadedProbeTasks,
      probeRatePerS: sizes.loadedProbeRatePerS,
      settleMs: sizes.loadedSettleMs,
      rounds: ctx.peers.length > 0 ? ctx.options.peerRounds : 1,
      peers: ctx.peers.map((p) => ({ name: p.name, description: p.description })),
      perRun: Object.fromEntries(
        [...runs].map(([system, rs]) => [
          system,
          rs.map(({ probeRunningMs, ...rest }) => ({
            ...rest,
            probeRunning: summarize(probeRunningMs),
          })),
        ]),
      ),
      failures,
      method: {
        [MUTIRAO]: "client send stamp → history 'started' atMs (leader clock, 1 ms resolution)",
        peers: "producer stamp before queue.add → stamp taken by the worker's processor",
      },
    },
  };
}

export const loadedLatency: Scenario = {
  name: "loaded-latency",
  summary: "single probe submissions under a sustained 5,000 tasks/s batch load: submit→running",
  async run(ctx) {
    if (ctx.peers.length > 0) {
      return report(
        ctx,
        await runPeerRounds<LoadedLatencyRun>(ctx, {
          mutirao: () => measure(ctx),
          peer: (peer) => peer.loadedLatency(ctx),
        }),
      );
    }
    const run = await measure(ctx);
    return report(ctx, { runs: new Map([[MUTIRAO, [run]]]), failures: [] });
  },
};
