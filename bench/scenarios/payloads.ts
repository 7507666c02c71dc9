/**
 * Payloads: what handler tasks carrying data cost, beside no-op tasks in the same run.
 *
 * One cluster whose workers serve examples/handlers.ts (`--handlers`). Each round submits
 * `throughputTasks` no-op tasks (`sleep` 0) and as many `echo` handler tasks whose payload is 1 KiB
 * of JSON, which echo returns, so each result is 1 KiB too. Each kind goes in batches with
 * requests in flight and is timed like `throughput`: first submission to the newest
 * `finishedAtMs` (a result is committed when its task finishes). Rounds alternate which kind goes
 * first. Every task must succeed, and the first and last echo task of each run must have returned
 * its payload. Then a closed loop of single tasks, alternating kinds, each submitted once the
 * previous one's result came back (`wait`): submit→result on the client's clock.
 *
 * With `--peer`, interleaved rounds of Mutirão (a fresh cluster, one run of each kind and the
 * closed loop) and each peer's same two runs. With `--http`, a dashboard's requests are open on
 * the leader over the timed runs, and another over the closed loop.
 * @module
 */
import { DashboardLoad, type DashboardReport, dashboardRows } from "../lib/dashboard_load.ts";
import { MUTIRAO, payloadComparison, type PayloadRun, ratioOf } from "../lib/comparison.ts";
import process from "node:process";
import { jsonPayload } from "../lib/json_payload.mjs";
import { type LatencySample, submitAndFollow } from "../lib/open_loop.ts";
import { failureRows, runPeerRounds } from "../lib/peer_rounds.ts";
import { readNodesCpuTimeMs } from "../lib/proc_stats.ts";
import type { RealCluster } from "../lib/real_cluster.ts";
import type { Measurement, ScenarioResult } from "../lib/report.ts";
import { type Scenario, type ScenarioContext, THROUGHPUT_WARMUP_TASKS } from "../lib/scenario.ts";
import { round, summarize } from "../lib/stats.ts";
import { handlerTasks, submitInBatches, waitUntilIdle } from "../lib/task_load.ts";
import type { MutiraoClient } from "../../client/api/mod.ts";
import type { TaskSpec, TaskView } from "../../shared/protocol/messages.ts";

/** The task shape: 1 KiB of JSON in, the same 1 KiB back. */
const PAYLOAD_BYTES = 1024;
const HANDLERS_MODULE = "examples/handlers.ts";
const ECHO = "echo";
/** Tasks per submitBatch: a batch of 1 KiB payloads must fit a client frame (1 MiB by default). */
const PAYLOAD_BATCH_MAX = 500;
/** Unmeasured single tasks of each kind before the closed loop. */
const CLOSED_LOOP_WARMUP_TASKS = 20;
/** How long one run's tasks may take to finish. */
const IDLE_TIMEOUT_MS = 600_000;

type Kind = "noop" | "payload";

/** One kind's timed run. */
interface KindRun {
  tasksPerS: number;
  /** Submissions acknowledged per second, first to last. */
  acksPerS: number;
  elapsedMs: number;
  /**
   * CPU time per 1,000 tasks over the run: the leader, the followers and the workers (summed), and
   * the bench's own process (the client: building, encoding and sending the batches, polling).
   */
  cpuMsPer1000: { leader: number; followers: number; workers: number; client: number };
}

/** One round on Mutirão: both kinds, in the order given. */
interface MutiraoPayloadRun extends PayloadRun {
  round: number;
  payloadFirst: boolean;
  noop: KindRun;
  payload: KindRun;
}

/** What the dashboards of one Mutirão cluster saw (`--http`): over the timed runs, the closed loop. */
interface PayloadDashboards {
  timedRuns: DashboardReport;
  closedLoop: DashboardReport;
}

/** Closed-loop samples of each kind. */
type ClosedLoopSamples = Record<Kind, LatencySample[]>;

/** Where a timed run goes: the cluster, a client of it, and its leader's id. */
interface Target {
  cluster: RealCluster;
  client: MutiraoClient;
  token: string;
  leader: string;
}

function batchSizeOf(ctx: ScenarioContext): number {
  return Math.min(ctx.options.sizes.batchSize, PAYLOAD_BATCH_MAX);
}

function echoSpec(key: string, index: number): TaskSpec {
  return {
    kind: "handler",
    handler: ECHO,
    description: key,
    payload: jsonPayload(PAYLOAD_BYTES, index),
  };
}

/**
 * Submits `total` tasks of `kind` in batches and waits until none is queued or running.
 * @throws {Error} when a task failed or an echo did not return its payload
 */
async function submitKind(
  ctx: ScenarioContext,
  target: Target,
  options: { kind: Kind; total: number; keyPrefix: string },
) {
  const { client, token } = target;
  const isPayload = options.kind === "payload";
  const run = await submitInBatches(client, token, {
    total: options.total,
    batchSize: batchSizeOf(ctx),
    inFlight: ctx.options.sizes.batchesInFlight,
    keyPrefix: options.keyPrefix,
    keepIds: isPayload,
    build: isPayload
      ? (prefix, range) =>
        handlerTasks(prefix, { ...range, handler: ECHO, payloadBytes: PAYLOAD_BYTES })
      : undefined,
  });
  const idle = await waitUntilIdle(client, token, { timeoutMs: IDLE_TIMEOUT_MS });
  await checkNoneFailed(client, token);
  if (isPayload) {
    for (const taskId of [run.taskIds[0], run.taskIds[run.taskIds.length - 1]]) {
      const { task } = await client.request({ type: "status", token, taskId });
      checkEchoed(task);
    }
  }
  return { run, idle };
}

/** One timed run of one kind, with each node's CPU time over it. */
async function timeKind(
  ctx: ScenarioContext,
  target: Target,
  options: { kind: Kind; keyPrefix: string },
): Promise<KindRun> {
  const { cluster, leader } = target;
  const tasks = ctx.options.sizes.throughputTasks;
  ctx.progress(`${tasks} ${options.kind} tasks (${options.keyPrefix})`);
  const nodes = [...cluster.orchestrators, ...cluster.workers];
  const before = await readNodesCpuTimeMs(nodes);
  const clientBefore = process.cpuUsage();
  const { run, idle } = await submitKind(ctx, target, { ...options, total: tasks });
  const client = process.cpuUsage(clientBefore);
  const after = await readNodesCpuTimeMs(nodes);
  const cpuPer1000 = (ids: string[]) =>
    round(ids.reduce((sum, id) => sum + (after[id] - before[id]), 0) * 1000 / tasks, 0);
  const elapsedMs = Math.max(1, idle.lastFinishedMs - run.firstSubmitMs);
  return {
    tasksPerS: round((tasks * 1000) / elapsedMs, 0),
    acksPerS: round((tasks * 1000) / Math.max(1, run.lastAckMs - run.firstSubmitMs), 0),
    elapsedMs,
    cpuMsPer1000: {
      leader: cpuPer1000([leader]),
      followers: cpuPer1000(cluster.orchestrators.map((o) => o.id).filter((id) => id !== leader)),
      workers: cpuPer1000(cluster.workers.map((w) => w.id)),
      client: round((client.user + client.system) / tasks, 0),
    },
  };
}

/**
 * @throws {Error} naming a failed task of the user, if there is one (the bench user's tasks all
 * succeed when nothing is wrong)
 */
async function checkNoneFailed(client: MutiraoClient, token: string): Promise<void> {
  const failed = await client.request({ type: "list", token, state: "failed", limit: 1 });
  const task = failed.tasks[0];
  if (task !== undefined) throw new Error(`Task ${task.id} (${task.kind}) failed`);
}

/** @throws {Error} unless the echo task succeeded with its payload as its value */
function checkEchoed(task: TaskView): void {
  const payload = task.spec.kind === "handler" ? task.spec.payload : undefined;
  if (task.state !== "succeeded" || payload === undefined || task.result?.value !== payload) {
    throw new Error(
      `Task ${task.id} ended ${task.state} with a value of ${
        task.result?.value?.length ?? "no"
      } characters, expected its ${payload?.length ?? "(missing)"}-byte payload back`,
    );
  }
}

/**
 * Single tasks one after another, kinds alternating (no-op first), each submitted once the
 * previous one's result came back.
 */
async function closedLoop(
  target: Target,
  options: { count: number; keyPrefix: string },
): Promise<ClosedLoopSamples> {
  const samples: ClosedLoopSamples = { noop: [], payload: [] };
  for (let i = 0; i < 2 * options.count; i++) {
    const kind: Kind = i % 2 === 0 ? "noop" : "payload";
    const key = `${options.keyPrefix}-${i}`;
    const { sample, task } = await submitAndFollow(target.client, target.token, {
      key,
      ...(kind === "payload" ? { task: echoSpec(key, i) } : {}),
    });
    if (kind === "payload") checkEchoed(task);
    samples[kind].push(sample);
  }
  return samples;
}

/**
 * Rounds `first` .. `first + count - 1` on one fresh cluster (odd rounds no-op first, even
 * rounds payload first), then the closed loop; the cluster is stopped before returning.
 */
async function measureMutirao(
  ctx: ScenarioContext,
  rounds: { first: number; count: number },
): Promise<
  { runs: MutiraoPayloadRun[]; closedLoop: ClosedLoopSamples; dashboards?: PayloadDashboards }
> {
  const { sizes } = ctx.options;
  const cluster = await ctx.cluster({
    workerArgs: ["--handlers", HANDLERS_MODULE, ...(ctx.options.isolate ? ["--isolate"] : [])],
  });
  await cluster.start();
  const { id: leader } = await cluster.waitForLeader();
  const token = await cluster.token();
  const client = cluster.client({ timeoutMs: 120_000 });
  const target: Target = { cluster, client, token, leader };
  const openDashboard = () =>
    ctx.options.http === true
      ? DashboardLoad.open({ base: cluster.httpBase(leader), node: leader, token })
      : null;
  let dashboard: DashboardLoad | null = null;
  try {
    ctx.progress(`warm-up: ${THROUGHPUT_WARMUP_TASKS} tasks of each kind`);
    for (const kind of ["noop", "payload"] as const) {
      await submitKind(ctx, target, {
        kind,
        total: THROUGHPUT_WARMUP_TASKS,
        keyPrefix: `warmup-${kind}`,
      });
    }
    const runs: MutiraoPayloadRun[] = [];
    dashboard = await openDashboard();
    for (let r = rounds.first; r < rounds.first + rounds.count; r++) {
      const payloadFirst = r % 2 === 0;
      const order: Kind[] = payloadFirst ? ["payload", "noop"] : ["noop", "payload"];
      const byKind: Partial<Record<Kind, KindRun>> = {};
      for (const kind of order) {
        byKind[kind] = await timeKind(ctx, target, { kind, keyPrefix: `r${r}-${kind}` });
      }
      const { noop, payload } = byKind as Record<Kind, KindRun>;
      runs.push({
        round: r,
        payloadFirst,
        tasks: sizes.throughputTasks,
        payloadBytes: PAYLOAD_BYTES,
        noopTasksPerS: noop.tasksPerS,
        payloadTasksPerS: payload.tasksPerS,
        noop,
        payload,
      });
    }
    const timedRuns = await dashboard?.close();
    ctx.progress(`closed loop: ${sizes.payloadLatencyTasks} single tasks of each kind`);
    await closedLoop(target, { count: CLOSED_LOOP_WARMUP_TASKS, keyPrefix: "warmup-single" });
    dashboard = await openDashboard();
    const samples = await closedLoop(target, {
      count: sizes.payloadLatencyTasks,
      keyPrefix: `single-${rounds.first}`,
    });
    const closedLoopReport = await dashboard?.close();
    return {
      runs,
      closedLoop: samples,
      ...(timedRuns === undefined || closedLoopReport === undefined
        ? {}
        : { dashboards: { timedRuns, closedLoop: closedLoopReport } }),
    };
  } finally {
    dashboard?.abort();
    client.close();
    await cluster.stop();
  }
}

const KIND_LABELS: Record<Kind, string> = { noop: "no-op", payload: "echo 1 KiB" };

/** One row per kind: the median over the runs of what `pick` reads from that kind's run. */
function perKindRows(
  runs: readonly MutiraoPayloadRun[],
  options: { metric: string; unit: string; pick: (run: KindRun) => number },
): Measurement[] {
  return (["noop", "payload"] as const).map((kind) => ({
    metric: `${options.metric}, ${KIND_LABELS[kind]}`,
    value: round(summarize(runs.map((r) => options.pick(r[kind]))).p50, 0),
    unit: options.unit,
    note: `median of ${runs.length} run(s)`,
  }));
}

/** CPU time per 1,000 tasks of each role, for each kind. */
function cpuRows(runs: readonly MutiraoPayloadRun[]): Measurement[] {
  return (["leader", "followers", "workers", "client"] as const).flatMap((role) =>
    perKindRows(runs, {
      metric: `${role} CPU per 1,000 tasks`,
      unit: "ms",
      pick: (run) => run.cpuMsPer1000[role],
    })
  );
}

/** Closed-loop rows: submit→result p50 and p99 of each kind, and payload / no-op at p50. */
function closedLoopRows(samples: ClosedLoopSamples): Measurement[] {
  const noop = summarize(samples.noop.map((s) => s.completedMs));
  const payload = summarize(samples.payload.map((s) => s.completedMs));
  const note = `closed loop, ${noop.count} + ${payload.count} single tasks, client clock`;
  return [
    { metric: "submit→result p50, no-op", value: round(noop.p50, 2), unit: "ms", note },
    { metric: "submit→result p99, no-op", value: round(noop.p99, 2), unit: "ms" },
    {
      metric: `submit→result p50, ${KIND_LABELS.payload}`,
      value: round(payload.p50, 2),
      unit: "ms",
    },
    {
      metric: `submit→result p99, ${KIND_LABELS.payload}`,
      value: round(payload.p99, 2),
      unit: "ms",
    },
    {
      metric: "submit→result p50, echo 1 KiB / no-op",
      value: round(ratioOf(payload.p50, noop.p50), 2),
      unit: "×",
    },
  ];
}

function mergeSamples(all: readonly ClosedLoopSamples[]): ClosedLoopSamples {
  return {
    noop: all.flatMap((s) => s.noop),
    payload: all.flatMap((s) => s.payload),
  };
}

function details(
  ctx: ScenarioContext,
  mutirao: readonly MutiraoPayloadRun[],
  samples: ClosedLoopSamples,
): Record<string, unknown> {
  const { sizes, workers, slots, prefetch } = ctx.options;
  const stages = (kind: Kind) => ({
    ack: summarize(samples[kind].map((s) => s.ackMs)),
    running: summarize(samples[kind].map((s) => s.runningMs)),
    result: summarize(samples[kind].map((s) => s.completedMs)),
  });
  return {
    tasksPerRun: sizes.throughputTasks,
    payloadBytes: PAYLOAD_BYTES,
    handler: `${ECHO} from ${HANDLERS_MODULE}`,
    batchSize: batchSizeOf(ctx),
    batchesInFlight: sizes.batchesInFlight,
    warmupTasksPerKind: THROUGHPUT_WARMUP_TASKS,
    shape: `${workers} workers x ${slots} slots, prefetch ${prefetch}`,
    mutiraoRuns: mutirao,
    closedLoop: {
      tasksPerKind: samples.noop.length,
      noop: stages("noop"),
      payload: stages("payload"),
    },
    method: "each kind: first submitBatch sent → newest finishedAtMs (leader clock); " +
      "closed loop: submit sent → wait reply with the result (client clock)",
  };
}

/** The dashboards' rows (`--http`): over the timed runs, and events read in the closed loop. */
function payloadDashboardRows(
  ctx: ScenarioContext,
  dashboards: readonly PayloadDashboards[],
): Measurement[] {
  if (dashboards.length === 0) return [];
  const rounds = ctx.peers.length > 0 ? 1 : ctx.options.sizes.payloadRounds;
  const closedLoop = dashboards.map((d) => d.closedLoop.eventsRead);
  return [
    ...dashboardRows(
      dashboards.map((d) => d.timedRuns),
      2 * rounds * ctx.options.sizes.throughputTasks,
    ),
    {
      metric: "dashboard: events read over the closed loop",
      value: round(summarize(closedLoop).p50, 0),
      unit: "events",
      note: `median of ${closedLoop.length} cluster(s)`,
    },
  ];
}

/** Mutirão alone: `payloadRounds` rounds on one cluster. */
async function runAlone(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { runs, closedLoop, dashboards } = await measureMutirao(ctx, {
    first: 1,
    count: ctx.options.sizes.payloadRounds,
  });
  return {
    measurements: [
      ...payloadComparison(new Map([[MUTIRAO, runs]])),
      ...perKindRows(runs, {
        metric: "submissions acknowledged/s",
        unit: "tasks/s",
        pick: (run) => run.acksPerS,
      }),
      ...cpuRows(runs),
      ...closedLoopRows(closedLoop),
      ...payloadDashboardRows(ctx, dashboards === undefined ? [] : [dashboards]),
    ],
    details: {
      ...details(ctx, runs, closedLoop),
      ...(dashboards === undefined ? {} : { dashboards: [dashboards] }),
    },
  };
}

/** Interleaved rounds of Mutirão (a fresh cluster each) and each peer. */
async function compareWithPeers(ctx: ScenarioContext): Promise<ScenarioResult> {
  const mutiraoRuns: MutiraoPayloadRun[] = [];
  const closedLoops: ClosedLoopSamples[] = [];
  const dashboards: PayloadDashboards[] = [];
  const roundsDone = new Map<string, number>();
  const nextRound = (system: string) => {
    const r = (roundsDone.get(system) ?? 0) + 1;
    roundsDone.set(system, r);
    return r;
  };
  const { runs, failures } = await runPeerRounds<PayloadRun>(ctx, {
    mutirao: async () => {
      const measured = await measureMutirao(ctx, { first: nextRound(MUTIRAO), count: 1 });
      mutiraoRuns.push(...measured.runs);
      closedLoops.push(measured.closedLoop);
      if (measured.dashboards !== undefined) dashboards.push(measured.dashboards);
      return measured.runs[0];
    },
    peer: (peer) =>
      peer.payloads(ctx, {
        payloadBytes: PAYLOAD_BYTES,
        batchSize: batchSizeOf(ctx),
        payloadFirst: nextRound(peer.name) % 2 === 0,
      }),
  });
  const samples = mergeSamples(closedLoops);
  return {
    measurements: [
      ...payloadComparison(runs),
      ...(mutiraoRuns.length === 0 ? [] : cpuRows(mutiraoRuns)),
      ...(samples.noop.length === 0 ? [] : closedLoopRows(samples)),
      ...payloadDashboardRows(ctx, dashboards),
      ...failureRows(failures),
    ],
    details: {
      ...details(ctx, mutiraoRuns, samples),
      ...(dashboards.length === 0 ? {} : { dashboards }),
      rounds: ctx.options.peerRounds,
      peers: ctx.peers.map((p) => ({ name: p.name, description: p.description })),
      perRun: Object.fromEntries(runs),
      failures,
      peerMethod: "each kind: first addBulk called → newest finishedOn (worker clock); " +
        "payload jobs' data is the same JSON text, returned by the processor",
    },
  };
}

export const payloads: Scenario = {
  name: "payloads",
  summary: "echo handler tasks with 1 KiB payloads and results beside no-op tasks, same run",
  async run(ctx) {
    return ctx.peers.length > 0 ? await compareWithPeers(ctx) : await runAlone(ctx);
  },
};
