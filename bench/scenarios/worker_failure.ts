/**
 * Worker failure: a long task runs; its worker is killed with SIGKILL (no goodbye, as in a crash
 * or power loss); measured are the time until the task runs again on another worker and until it
 * completes. The killed worker is restarted between rounds so the pool stays the same size.
 *
 * Times come from the task's history (`atMs`, leader clock) minus the kill time (client clock,
 * same machine): detection = the `requeued` event, re-run = the `started` event of attempt 2.
 * @module
 */
import type { Measurement } from "../lib/report.ts";
import { delay } from "../lib/real_cluster.ts";
import type { Scenario } from "../lib/scenario.ts";
import { median, round, summarize } from "../lib/stats.ts";
import { waitForEvent } from "../lib/task_watch.ts";

/** Long enough that the task is still running when its worker dies. */
const TASK_MS = 2000;
/** How long into the task the worker is killed. */
const KILL_AFTER_MS = 300;

interface Round {
  detectedMs: number;
  rerunMs: number;
  completedMs: number;
  attempts: number;
}

export const workerFailure: Scenario = {
  name: "worker-failure",
  summary: "kill -9 the worker of a running task: time to re-run elsewhere and to complete",
  async run(ctx) {
    const cluster = await ctx.cluster();
    await cluster.start();
    const token = await cluster.token();
    const client = cluster.client({ timeoutMs: 30_000 });
    const rounds: Round[] = [];
    try {
      for (let r = 0; r < ctx.options.sizes.workerFailureRounds; r++) {
        const { taskId } = await client.request({
          type: "submit",
          token,
          idempotencyKey: `wf-${r}`,
          task: { kind: "sleep", description: `worker failure ${r}`, durationMs: TASK_MS },
        });
        const { event: started } = await waitForEvent(
          client,
          token,
          taskId,
          (e) => e.event === "started" && e.attempt === 1,
          { timeoutMs: 10_000 },
        );
        const victim = cluster.workers.find((w) => w.workerName === started.workerId);
        if (victim === undefined) throw new Error(`No worker named ${started.workerId}`);
        await delay(KILL_AFTER_MS);
        const killedAtMs = Date.now();
        await cluster.kill(victim);
        const { event: restarted } = await waitForEvent(
          client,
          token,
          taskId,
          (e) => e.event === "started" && e.attempt > 1,
          { timeoutMs: 30_000 },
        );
        const done = await client.request({ type: "wait", token, taskId, timeoutMs: 30_000 });
        const completedMs = Date.now() - killedAtMs;
        if (done.task.state !== "succeeded") {
          throw new Error(`Task ${taskId} ended ${done.task.state} after its worker died`);
        }
        const requeued = done.task.history.find((e) => e.event === "requeued");
        const round: Round = {
          detectedMs: (requeued?.atMs ?? NaN) - killedAtMs,
          rerunMs: restarted.atMs - killedAtMs,
          completedMs,
          attempts: done.task.attempt,
        };
        rounds.push(round);
        ctx.progress(
          `round ${r + 1}: requeued after ${round.detectedMs} ms, running again after ` +
            `${round.rerunMs} ms on ${restarted.workerId}, completed after ${completedMs} ms`,
        );
        await cluster.startNode(victim);
      }
    } finally {
      client.close();
    }
    const rerun = summarize(rounds.map((r) => r.rerunMs));
    const measurements: Measurement[] = [
      {
        metric: "kill→requeued (detection) median",
        value: median(rounds.map((r) => r.detectedMs)),
        unit: "ms",
        note: "heartbeat 500 ms x 3 missed (product defaults)",
      },
      {
        metric: "kill→running elsewhere median",
        value: rerun.p50,
        unit: "ms",
        target: { kind: "atMost", value: 2000 },
      },
      { metric: "kill→running elsewhere max", value: rerun.max, unit: "ms" },
      {
        metric: "kill→completed median",
        value: median(rounds.map((r) => r.completedMs)),
        unit: "ms",
        note: `includes the re-run itself (${TASK_MS} ms task)`,
      },
    ];
    return {
      measurements,
      details: { rounds, taskMs: TASK_MS, killAfterMs: KILL_AFTER_MS, rerun: round(rerun.p50, 0) },
    };
  },
};
