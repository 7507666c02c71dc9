/**
 * Retention: many tasks through the cluster with the retention policy removing finished tasks
 * beyond the newest `keepFinishedTasks` (the product default, 1,000,000, unless told otherwise;
 * `keepFinishedForMs` is 0 so the count alone decides). Once retention has started removing,
 * memory and disk should stay flat however many tasks go through: that is what it is for.
 *
 * Tasks are pushed in chunks; after every chunk: each orchestrator's RSS, peak RSS and data
 * directory bytes (every file under it: log segments and snapshots), and the tasks the cluster
 * retains (a paged `list` of everyone's tasks, answered by the leader from the replicated state
 * every orchestrator applies). At the end: the leader's RSS and the largest data directory at the
 * first checkpoint past `keepFinishedTasks` + one chunk (retention removing by then) against the
 * last checkpoint. RSS follows the garbage collector as much as the data: that checkpoint's leader
 * also has its live heap measured after a forced full GC (through the V8 inspector), there and
 * once more at the end.
 *
 * A node that dies mid-run ends the scenario with its last log lines in the result.
 * @module
 */
import { UnreachableError } from "../../client/api/mod.ts";
import { crashMeasurements, pushInChunks } from "../lib/chunked_push.ts";
import { directoryBytes, liveHeap, orchestratorMemory } from "../lib/cluster_samples.ts";
import type { HeapUsage } from "../lib/inspector_heap.ts";
import type { Measurement, ScenarioResult } from "../lib/report.ts";
import { delay, type RealCluster } from "../lib/real_cluster.ts";
import type { Scenario } from "../lib/scenario.ts";
import { round } from "../lib/stats.ts";

const BATCH = 5000;
const MIB = 1024 * 1024;
/** Growth of memory and disk between retention's start and the end still counted as flat. */
const FLAT_GROWTH_PERCENT = 10;
/** How long the end waits for retention to remove what the last chunk pushed past the limit. */
const SETTLE_TIMEOUT_MS = 120_000;

interface Checkpoint {
  tasks: number;
  elapsedS: number;
  leader: string;
  /** Tasks the cluster keeps (any state; all finished between chunks). */
  retainedTasks: number;
  rssMiB: Record<string, number>;
  peakRssMiB: Record<string, number>;
  /** Bytes of every file under the orchestrator's data directory. */
  diskMiB: Record<string, number>;
}

export const retention: Scenario = {
  name: "retention",
  summary: "many tasks with retention on: memory and disk stay flat once it removes",
  async run(ctx) {
    const { retentionTasks: total, retentionKeep: keep } = ctx.options.sizes;
    const chunkTasks = ctx.options.sizes.retentionChunkTasks;
    const budgetMinutes = ctx.options.sizes.retentionBudgetMinutes;
    const cluster = await ctx.cluster({
      tuning: { retention: { keepFinishedForMs: 0, keepFinishedTasks: keep } },
      // The inspector lets the run force a GC and read the live heap (inspector_heap.ts).
      denoFlags: { orchestrator: ["--inspect=127.0.0.1:0"] },
    });
    await cluster.start();
    ctx.progress(`${total} tasks in chunks of ${chunkTasks}, keeping the newest ${keep} finished`);
    const checkpoints: Checkpoint[] = [];
    // Set in onChunk: a holder, so the type checker does not take it for null after the call.
    const measured: { start: { id: string; tasks: number; heap: HeapUsage | null } | null } = {
      start: null,
    };
    const { pushed, runSeconds, death, chunkRetries, retriedSeconds } = await pushInChunks(
      ctx,
      cluster,
      {
        total,
        chunkTasks,
        batchTasks: BATCH,
        budgetMs: budgetMinutes * 60_000,
        keyPrefix: "r",
        onChunk: async (pushed, elapsedMs) => {
          const checkpoint = await sample(cluster, pushed, elapsedMs);
          checkpoints.push(checkpoint);
          ctx.progress(
            `${pushed} tasks after ${checkpoint.elapsedS} s: ${checkpoint.retainedTasks} retained; ` +
              `leader ${checkpoint.leader} RSS ${checkpoint.rssMiB[checkpoint.leader]} MiB; data ` +
              Object.entries(checkpoint.diskMiB).map(([id, v]) => `${id} ${v}`).join(", ") + " MiB",
          );
          if (measured.start === null && pushed > keep + chunkTasks) {
            const id = checkpoint.leader;
            measured.start = { id, tasks: pushed, heap: await liveHeap(cluster, id) };
          }
        },
      },
    );
    if (death !== null) return crashed(total, checkpoints, death);
    const retainedAtEnd = await settle(cluster, keep);
    const { start } = measured;
    const heap = start === null ? null : { ...start, end: await liveHeap(cluster, start.id) };
    const run = {
      total,
      keep,
      chunkTasks,
      budgetMinutes,
      pushed,
      runSeconds,
      chunkRetries,
      retriedSeconds,
    };
    return report({ ...run, retainedAtEnd }, {
      checkpoints,
      heap,
      peakBytes: Math.max(...Object.values(await orchestratorMemory(cluster)).map((m) => m.peak)),
    });
  },
};

/** Memory, disk and retained tasks after `pushed` tasks. */
async function sample(
  cluster: RealCluster,
  pushed: number,
  elapsedMs: number,
): Promise<Checkpoint> {
  const memory = await orchestratorMemory(cluster);
  const leader = await cluster.waitForLeader({ timeoutMs: 60_000 });
  const diskMiB: Record<string, number> = {};
  for (const id of Object.keys(memory)) {
    diskMiB[id] = round(await directoryBytes(`${cluster.dir}/data/${id}`) / MIB, 1);
  }
  const mib = (pick: (m: { peak: number; rss: number }) => number) =>
    Object.fromEntries(Object.entries(memory).map(([id, m]) => [id, round(pick(m) / MIB, 1)]));
  return {
    tasks: pushed,
    elapsedS: round(elapsedMs / 1000, 0),
    leader: leader.id,
    retainedTasks: await retainedTasks(cluster),
    rssMiB: mib((m) => m.rss),
    peakRssMiB: mib((m) => m.peak),
    diskMiB,
  };
}

/** Every user's tasks the cluster keeps, as the leader counts them; NaN if no leader answered. */
async function retainedTasks(cluster: RealCluster): Promise<number> {
  const token = await cluster.token();
  const client = cluster.client({ timeoutMs: 60_000 });
  try {
    const page = await client.request({ type: "list", token, all: true, paged: true, limit: 1 });
    return page.total ?? NaN;
  } catch (error) {
    // A loaded machine's elections can hide the leader for a while: a missing sample, not a failure.
    if (error instanceof UnreachableError) return NaN;
    throw error;
  } finally {
    client.close();
  }
}

/**
 * Polls until retention kept at most `keep` tasks (it removes a batch per commit round, so the
 * last chunk's excess may still be going) or SETTLE_TIMEOUT_MS passed; returns the count then.
 * Polling, because removal has no event a client can wait on.
 */
async function settle(cluster: RealCluster, keep: number): Promise<number> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const retained = await retainedTasks(cluster);
    if (retained <= keep || Date.now() > deadline) return retained;
    await delay(500);
  }
}

/** Mean of `value` over each third of `checkpoints` (NaN for fewer than three). */
function thirdMeans(checkpoints: Checkpoint[], value: (c: Checkpoint) => number): number[] {
  const third = Math.floor(checkpoints.length / 3);
  if (third === 0) return [NaN, NaN, NaN];
  const mean = (part: Checkpoint[]) => part.reduce((sum, c) => sum + value(c), 0) / part.length;
  return [
    mean(checkpoints.slice(0, third)),
    mean(checkpoints.slice(third, checkpoints.length - third)),
    mean(checkpoints.slice(checkpoints.length - third)),
  ];
}

/** Growth in percent from the first third's mean to the last third's. */
function thirdsGrowth(checkpoints: Checkpoint[], value: (c: Checkpoint) => number): number {
  const [first, , last] = thirdMeans(checkpoints, value);
  return growthPercent(first, last);
}

function thirdsNote(checkpoints: Checkpoint[], value: (c: Checkpoint) => number): string {
  const means = thirdMeans(checkpoints, value).map((m) => round(m, 0));
  return `means of ${checkpoints.length} checkpoints by thirds: ${means.join(" / ")} MiB`;
}

/** The growth from `before` to `after` in percent, NaN when either is missing. */
function growthPercent(before: number | undefined, after: number | undefined): number {
  if (before === undefined || after === undefined) return NaN;
  return round((after - before) / before * 100, 1);
}

function report(
  run: {
    total: number;
    keep: number;
    chunkTasks: number;
    budgetMinutes: number;
    pushed: number;
    runSeconds: number;
    chunkRetries: number;
    retriedSeconds: number;
    retainedAtEnd: number;
  },
  samples: {
    checkpoints: Checkpoint[];
    /** The live heap of orchestrator `id` at `tasks` tasks (retention removing), and at the end. */
    heap: { id: string; tasks: number; heap: HeapUsage | null; end: HeapUsage | null } | null;
    peakBytes: number;
  },
): ScenarioResult {
  const { checkpoints } = samples;
  // Retention removes from the first chunk past `keep`; one more chunk lets it reach its pace.
  const start = checkpoints.find((c) => c.tasks > run.keep + run.chunkTasks);
  const end = checkpoints.at(-1);
  const leader = end?.leader ?? "";
  const largestDisk = (c: Checkpoint | undefined) =>
    c === undefined ? undefined : Math.max(...Object.values(c.diskMiB));
  // Every checkpoint once retention removes: its thirds are compared, not two single samples.
  const removing = start === undefined ? [] : checkpoints.filter((c) => c.tasks >= start.tasks);
  const startNote = start === undefined
    ? `no checkpoint past ${run.keep + run.chunkTasks} tasks: run more tasks`
    : `from ${start.tasks} tasks (retention removing) to ${end!.tasks}`;
  const measurements: Measurement[] = [
    {
      metric: "tasks through the cluster",
      value: run.pushed,
      unit: "",
      target: { kind: "atLeast", value: run.total },
      note: `time budget ${run.budgetMinutes} min; chunks submitted again (no leader found): ` +
        `${run.chunkRetries}, ${round(run.retriedSeconds, 0)} s`,
    },
    {
      metric: "throughput over the run",
      value: round(run.pushed / run.runSeconds, 0),
      unit: "tasks/s",
      note: run.chunkRetries === 0
        ? undefined
        : `${round(run.pushed / (run.runSeconds - run.retriedSeconds), 0)} tasks/s without ` +
          "the time of the failed attempts",
    },
    {
      metric: "tasks retained at the end",
      value: run.retainedAtEnd,
      unit: "",
      target: { kind: "atMost", value: run.keep },
      note: `keepFinishedTasks ${run.keep}, keepFinishedForMs 0`,
    },
    {
      metric: "leader RSS when retention started removing",
      value: start?.rssMiB[leader] ?? NaN,
      unit: "MiB",
      note: start === undefined ? startNote : `orchestrator ${leader} at ${start.tasks} tasks`,
    },
    { metric: "leader RSS at the end", value: end?.rssMiB[leader] ?? NaN, unit: "MiB" },
    {
      metric: "leader RSS growth while retention removes",
      value: growthPercent(start?.rssMiB[leader], end?.rssMiB[leader]),
      unit: "%",
      note: `${startNote}; two single samples of a sawtooth (log and snapshots come and go)`,
    },
    {
      metric: "largest RSS, mean of the last third of the run vs the first",
      value: thirdsGrowth(removing, (c) => Math.max(...Object.values(c.rssMiB))),
      unit: "%",
      target: { kind: "atMost", value: FLAT_GROWTH_PERCENT },
      note: thirdsNote(removing, (c) => Math.max(...Object.values(c.rssMiB))),
    },
    {
      metric: "largest data directory when retention started removing",
      value: largestDisk(start) ?? NaN,
      unit: "MiB",
      note: "every file under an orchestrator's data directory (log segments, snapshots)",
    },
    { metric: "largest data directory at the end", value: largestDisk(end) ?? NaN, unit: "MiB" },
    {
      metric: "data directory growth while retention removes",
      value: growthPercent(largestDisk(start), largestDisk(end)),
      unit: "%",
      note: `${startNote}; two single samples of a sawtooth`,
    },
    {
      metric: "largest data directory, mean of the last third vs the first",
      value: thirdsGrowth(removing, (c) => largestDisk(c)!),
      unit: "%",
      target: { kind: "atMost", value: FLAT_GROWTH_PERCENT },
      note: thirdsNote(removing, (c) => largestDisk(c)!),
    },
    ...heapMeasurements(samples.heap),
    { metric: "orchestrator peak RSS", value: round(samples.peakBytes / MIB, 0), unit: "MiB" },
  ];
  return {
    measurements,
    details: { ...run, startTasks: start?.tasks ?? null, heap: samples.heap, checkpoints },
  };
}

/** Live heap after a forced GC when retention started removing and at the end, and the growth. */
function heapMeasurements(
  heap: { id: string; tasks: number; heap: HeapUsage | null; end: HeapUsage | null } | null,
): Measurement[] {
  const mib = (h: HeapUsage | null | undefined) =>
    h === null || h === undefined ? undefined : round(h.usedBytes / MIB, 1);
  const note = heap === null
    ? "no checkpoint past the limit + one chunk"
    : `orchestrator ${heap.id}, V8 heap used after a forced full GC, from ${heap.tasks} tasks`;
  return [
    {
      metric: "live heap when retention started removing",
      value: mib(heap?.heap) ?? NaN,
      unit: "MiB",
      note,
    },
    { metric: "live heap at the end", value: mib(heap?.end) ?? NaN, unit: "MiB" },
    {
      metric: "live heap growth while retention removes",
      value: growthPercent(mib(heap?.heap), mib(heap?.end)),
      unit: "%",
      target: { kind: "atMost", value: FLAT_GROWTH_PERCENT },
    },
  ];
}

/** What a run that lost orchestrators can still report: how far it got, and how they died. */
function crashed(total: number, checkpoints: Checkpoint[], death: string): ScenarioResult {
  const last = checkpoints.at(-1);
  return {
    measurements: [
      ...crashMeasurements(total, last?.tasks ?? 0, death),
      {
        metric: "tasks retained at the last checkpoint",
        value: last?.retainedTasks ?? NaN,
        unit: "",
      },
    ],
    details: { total, checkpoints, death },
  };
}
