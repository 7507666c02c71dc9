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
 * @module
 */
import type { MutiraoClient } from "../../client/api/mod.ts";
import type { Measurement } from "../lib/report.ts";
import { delay } from "../lib/real_cluster.ts";
import type { Scenario } from "../lib/scenario.ts";
import { round, summarize, type Summary } from "../lib/stats.ts";

/** Sub-millisecond wall-clock time, comparable with the orchestrators' Date.now() stamps. */
function wallNowMs(): number {
  return performance.timeOrigin + performance.now();
}

interface Sample {
  ackMs: number;
  runningMs: number;
  completedMs: number;
  /** Leader-clock stages from the history: submitted→assigned and assigned→started. */
  toAssignedMs: number;
  toStartedMs: number;
}

async function oneTask(client: MutiraoClient, token: string, key: string): Promise<Sample> {
  const sentMs = wallNowMs();
  const ack = await client.request({
    type: "submit",
    token,
    idempotencyKey: key,
    task: { kind: "sleep", description: key, durationMs: 0 },
  });
  const ackMs = wallNowMs() - sentMs;
  const done = await client.request({ type: "wait", token, taskId: ack.taskId, timeoutMs: 60_000 });
  const completedMs = wallNowMs() - sentMs;
  const at = (event: string) => done.task.history.find((e) => e.event === event)?.atMs;
  const [submitted, assigned, started] = [at("submitted"), at("assigned"), at("started")];
  if (done.task.state !== "succeeded" || started === undefined) {
    throw new Error(`Task ${ack.taskId} ended ${done.task.state} without a start`);
  }
  return {
    ackMs,
    runningMs: started - sentMs,
    completedMs,
    toAssignedMs: (assigned ?? NaN) - (submitted ?? NaN),
    toStartedMs: started - (assigned ?? NaN),
  };
}

/** Sends `count` submissions `1000 / ratePerS` ms apart and collects their samples. */
async function openLoop(
  client: MutiraoClient,
  token: string,
  options: { count: number; ratePerS: number; keyPrefix: string },
): Promise<{ samples: Sample[]; achievedRatePerS: number }> {
  const intervalMs = 1000 / options.ratePerS;
  const pending: Promise<Sample>[] = [];
  const start = performance.now();
  for (let i = 0; i < options.count; i++) {
    // Schedule against the start time, not the previous send, so timer drift does not add up.
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await delay(wait);
    pending.push(oneTask(client, token, `${options.keyPrefix}-${i}`));
  }
  const sendSpanMs = performance.now() - start;
  const samples = await Promise.all(pending);
  return { samples, achievedRatePerS: round(((options.count - 1) * 1000) / sendSpanMs, 0) };
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

export const latency: Scenario = {
  name: "latency",
  summary: "single submissions at a fixed rate: submit→acknowledged/running/completed",
  async run(ctx) {
    const { sizes } = ctx.options;
    const cluster = await ctx.cluster();
    await cluster.start();
    const token = await cluster.token();
    const client = cluster.client({ timeoutMs: 60_000 });
    try {
      ctx.progress("warm-up");
      await openLoop(client, token, {
        count: 100,
        ratePerS: sizes.latencyRatePerS,
        keyPrefix: "warmup",
      });
      ctx.progress(`${sizes.latencyTasks} tasks at ${sizes.latencyRatePerS}/s`);
      const { samples, achievedRatePerS } = await openLoop(client, token, {
        count: sizes.latencyTasks,
        ratePerS: sizes.latencyRatePerS,
        keyPrefix: "run",
      });
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
          ...rows("submit→running", running, 6),
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
            note:
              `p99 ${stages.toStarted.p99} ms; the assignment's commit, dispatch, worker report`,
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
    } finally {
      client.close();
    }
  },
};
