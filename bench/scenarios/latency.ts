/**
 * Latency: tasks submitted one at a time (one `submit` request each) at a fixed rate, open loop
 * (the next submission does not wait for the previous reply, as with independent clients).
 *
 * - submit→acknowledged: client clock, request sent to `submitOk` received (the submission is
 *   then durable on a majority);
 * - submit→running: the task history's `started` event, stamped by the leader when the worker's
 *   start report arrived (leader clock, 1 ms resolution, same machine as the client);
 * - submit→completed: client clock, by waiting: a `wait` request sent after the acknowledgement
 *   answers once the result is committed and applied.
 *
 * With `--peer`, interleaved rounds of Mutirão and each peer compare submit→running.
 * @module
 */
import { latencyComparison, type LatencyRun, MUTIRAO } from "../lib/comparison.ts";
import { type LatencySample, openLoop } from "../lib/open_loop.ts";
import { failureRows, runPeerRounds } from "../lib/peer_rounds.ts";
import type { Measurement, ScenarioResult } from "../lib/report.ts";
import { LATENCY_WARMUP_TASKS, type Scenario, type ScenarioContext } from "../lib/scenario.ts";
import { round, summarize, type Summary } from "../lib/stats.ts";

/** The targets for submit→running (ms). */
const RUNNING_P50_TARGET_MS = 1.5;
const RUNNING_P99_TARGET_MS = 6;

interface LatencyMeasurement {
  samples: LatencySample[];
  achievedRatePerS: number;
}

/** One run on a fresh cluster, stopped before returning. */
async function measure(ctx: ScenarioContext): Promise<LatencyMeasurement> {
  const { sizes } = ctx.options;
  const cluster = await ctx.cluster();
  await cluster.start();
  const token = await cluster.token();
  const client = cluster.client({ timeoutMs: 60_000 });
  try {
    ctx.progress("warm-up");
    await openLoop(client, token, {
      count: LATENCY_WARMUP_TASKS,
      ratePerS: sizes.latencyRatePerS,
      keyPrefix: "warmup",
    });
    ctx.progress(`${sizes.latencyTasks} tasks at ${sizes.latencyRatePerS}/s`);
    return await openLoop(client, token, {
      count: sizes.latencyTasks,
      ratePerS: sizes.latencyRatePerS,
      keyPrefix: "run",
    });
  } finally {
    client.close();
    await cluster.stop();
  }
}

function rows(name: string, s: Summary, targetP99?: number): Measurement[] {
  return [
    { metric: `${name} p50`, value: round(s.p50, 2), unit: "ms" },
    { metric: `${name} p90`, value: round(s.p90, 2), unit: "ms" },
    {
      metric: `${name} p99`,
      value: round(s.p99, 2),
      unit: "ms",
      ...(targetP99 === undefined ? {} : { target: { kind: "atMost" as const, value: targetP99 } }),
    },
    { metric: `${name} max`, value: round(s.max, 2), unit: "ms" },
  ];
}

/** Mutirão alone: every stage of the latency, as before peers existed. */
function report(ctx: ScenarioContext, run: LatencyMeasurement): ScenarioResult {
  const { sizes } = ctx.options;
  const { samples, achievedRatePerS } = run;
  const ack = summarize(samples.map((s) => s.ackMs));
  const running = summarize(samples.map((s) => s.runningMs));
  const completed = summarize(samples.map((s) => s.completedMs));
  const stages = {
    toAssigned: summarize(samples.map((s) => s.toAssignedMs)),
    toStarted: summarize(samples.map((s) => s.toStartedMs)),
  };
  return {
    measurements: [
      ...rows("submit→acknowledged", ack),
      ...rows("submit→running", running, RUNNING_P99_TARGET_MS),
      ...rows("submit→completed", completed),
      {
        metric: "stage: submitted→assigned p50",
        value: round(stages.toAssigned.p50, 0),
        unit: "ms",
        note: `p99 ${stages.toAssigned.p99} ms; the submission's commit, then scheduling`,
      },
      {
        metric: "stage: assigned→started p50",
        value: round(stages.toStarted.p50, 0),
        unit: "ms",
        note: `p99 ${stages.toStarted.p99} ms; the assignment's commit, dispatch, worker report`,
      },
      { metric: "achieved submission rate", value: achievedRatePerS, unit: "tasks/s" },
    ],
    details: {
      tasks: sizes.latencyTasks,
      targetRatePerS: sizes.latencyRatePerS,
      achievedRatePerS,
      ack,
      running,
      completed,
      stages,
      method: {
        acknowledged: "client clock",
        running: "history 'started' atMs (leader clock, 1 ms resolution)",
        completed: "client clock, by waiting (wait request)",
      },
    },
  };
}

/** Interleaved rounds of Mutirão and each peer: submit→running compared. */
async function compareWithPeers(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { runs, failures } = await runPeerRounds<LatencyRun>(ctx, {
    mutirao: async () => {
      const run = await measure(ctx);
      return {
        runningMs: run.samples.map((s) => s.runningMs),
        achievedRatePerS: run.achievedRatePerS,
      };
    },
    peer: (peer) => peer.latency(ctx),
  });
  const samples = new Map(
    [...runs].map(([system, rs]) => [system, rs.flatMap((r) => r.runningMs)]),
  );
  return {
    measurements: [
      ...latencyComparison(samples, {
        name: "submit→running",
        targets: { p50: RUNNING_P50_TARGET_MS, p99: RUNNING_P99_TARGET_MS, ratioAtMost: 1 },
      }),
      ...failureRows(failures),
    ],
    details: {
      tasksPerRun: ctx.options.sizes.latencyTasks,
      targetRatePerS: ctx.options.sizes.latencyRatePerS,
      rounds: ctx.options.peerRounds,
      peers: ctx.peers.map((p) => ({ name: p.name, description: p.description })),
      perRun: Object.fromEntries(
        [...runs].map(([system, rs]) => [
          system,
          rs.map((r) => ({
            achievedRatePerS: r.achievedRatePerS,
            running: summarize(r.runningMs),
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

export const latency: Scenario = {
  name: "latency",
  summary: "single submissions at a fixed rate: submit→acknowledged/running/completed",
  async run(ctx) {
    if (ctx.peers.length > 0) return await compareWithPeers(ctx);
    return report(ctx, await measure(ctx));
  },
};
