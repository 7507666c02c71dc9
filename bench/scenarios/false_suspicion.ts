/**
 * False suspicion: every core is saturated by busy-loop processes (one per core) for a while
 * as workers run long tasks. No worker dies, so every "Worker X lost: missed heartbeats" the
 * orchestrators log is a false suspicion (and re-runs a task that was fine). Leader elections
 * during the hog are counted too: a starved leader that misses its own heartbeats is the same
 * failure one level up.
 * @module
 */
import { ManagedProcess } from "../../scripts/lib/managed_process.ts";
import { readMachineCpu } from "../lib/proc_stats.ts";
import type { Measurement } from "../lib/report.ts";
import { round } from "../lib/stats.ts";
import { delay, type NodeHandle, type RealCluster } from "../lib/real_cluster.ts";
import type { Scenario } from "../lib/scenario.ts";

/** Lost workers and new terms are logged by every orchestrator as it applies them. */
const LOST = /Worker (\S+) lost: missed heartbeats/;
const LEADING = /Leading term (\d+)/;
/** After the hog, declarations already under way still land: watch a little longer. */
const AFTER_MS = 3000;

/** Log sizes now, so only what is logged later is counted. */
async function logOffsets(cluster: RealCluster): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const node of [...cluster.orchestrators, ...cluster.workers]) {
    out.set(node.id, (await cluster.logText(node)).length);
  }
  return out;
}

async function linesSince(
  cluster: RealCluster,
  node: NodeHandle,
  offsets: Map<string, number>,
): Promise<string[]> {
  return (await cluster.logText(node)).slice(offsets.get(node.id) ?? 0).split("\n");
}

export const falseSuspicion: Scenario = {
  name: "false-suspicion",
  summary: "all cores saturated by busy loops: live workers wrongly declared dead",
  async run(ctx) {
    const { options } = ctx;
    const cluster = await ctx.cluster();
    await cluster.start();
    const token = await cluster.token();
    const client = cluster.client({ timeoutMs: 60_000 });
    const hogs: ManagedProcess[] = [];
    try {
      // Fill every slot with tasks that outlast the hog, so every worker has work to lose.
      const slots = options.workers * options.slots;
      const taskMs = (options.sizes.hogSeconds + 10) * 1000;
      await client.request({
        type: "submitBatch",
        token,
        tasks: Array.from({ length: slots }, (_, i) => ({
          idempotencyKey: `fs-${i}`,
          task: { kind: "sleep" as const, description: "outlasts the hog", durationMs: taskMs },
        })),
      });
      await waitAllRunning(client, token, slots);
      const offsets = await logOffsets(cluster);
      const cores = navigator.hardwareConcurrency;
      ctx.progress(`${cores} busy loop(s) for ${options.sizes.hogSeconds} s`);
      const cpuBefore = await readMachineCpu();
      for (let i = 0; i < cores; i++) {
        hogs.push(new ManagedProcess({ name: `hog ${i + 1}`, args: ["bench/tools/cpu_hog.ts"] }));
      }
      await delay(options.sizes.hogSeconds * 1000);
      const cpuAfter = await readMachineCpu();
      const exitedEarly = hogs.filter((h) => h.hasExited);
      if (exitedEarly.length > 0) {
        throw new Error(`A CPU hog exited early:\n${exitedEarly.map((h) => h.tail()).join("\n")}`);
      }
      const busyPercent = round(
        (100 * (cpuAfter.busy - cpuBefore.busy)) / Math.max(1, cpuAfter.total - cpuBefore.total),
        0,
      );
      for (const hog of hogs) hog.signal("SIGKILL");
      await Promise.all(hogs.map((h) => h.exited));
      await delay(AFTER_MS);

      const lostWorkers = new Set<string>();
      const terms = new Set<number>();
      for (const node of cluster.orchestrators) {
        for (const line of await linesSince(cluster, node, offsets)) {
          const lost = LOST.exec(line);
          if (lost) lostWorkers.add(lost[1]);
          const leading = LEADING.exec(line);
          if (leading) terms.add(Number(leading[1]));
        }
      }
      let evictions = 0;
      for (const node of cluster.workers) {
        evictions += (await linesSince(cluster, node, offsets)).filter((l) =>
          l.includes("Evicted by the orchestrator")
        ).length;
      }
      const list = await client.request({ type: "list", token, limit: slots });
      const rerun = list.tasks.filter((t) => t.attempt > 1).length;
      const measurements: Measurement[] = [
        {
          metric: "live workers declared dead",
          value: lostWorkers.size,
          unit: "",
          target: { kind: "atMost", value: 0 },
          note:
            `${options.workers} workers, heartbeat 500 ms x 3, ${cores} hogs for ${options.sizes.hogSeconds} s`,
        },
        { metric: "tasks re-run needlessly", value: rerun, unit: "" },
        { metric: "machine CPU busy during the hog", value: busyPercent, unit: "%" },
        { metric: "leader elections during the hog", value: terms.size, unit: "" },
      ];
      return {
        measurements,
        details: {
          hogs: cores,
          busyPercent,
          hogSeconds: options.sizes.hogSeconds,
          lostWorkers: [...lostWorkers],
          newTerms: [...terms],
          evictions,
          rerun,
        },
      };
    } finally {
      for (const hog of hogs) hog.signal("SIGKILL");
      client.close();
    }
  },
};

async function waitAllRunning(
  client: ReturnType<RealCluster["client"]>,
  token: string,
  count: number,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const running = await client.request({ type: "list", token, state: "running", limit: count });
    if (running.tasks.length >= count) return;
    await delay(100);
  }
  throw new Error(`Not all ${count} tasks started within 30 s`);
}
