/**
 * One chaos run on real processes: a 3-orchestrator, 3-worker cluster under continuous
 * submissions while seeded faults hit it; then everything is healed, the queue drains, and the
 * client-side checks run (see checks.ts). Returns a report; never throws for a failed check.
 * @module
 */
import { RealCluster } from "../../bench/lib/real_cluster.ts";
import { createPrng } from "../../shared/prng.ts";
import type { BatchItem, TaskView } from "../../shared/protocol/messages.ts";
import type { MutiraoClient } from "../../client/api/mod.ts";
import { RemoteError } from "../../shared/errors.ts";
import { type AckedSubmission, type CheckReport, checkTasks } from "./checks.ts";
import { type AppliedFault, FaultInjector } from "./fault_injector.ts";
import { planFaults } from "./fault_schedule.ts";
import { NetworkFaults } from "./network_faults.ts";
import { SubmissionLoad } from "./submission_load.ts";

export interface ChaosOptions {
  /** Length of the fault phase. */
  durationMs: number;
  seed: number;
  /** Run in the namespace layout with network partitions (the caller is inside a namespace). */
  network: boolean;
  /** Keep the cluster directory (node logs, data) even when every check passes. */
  keep: boolean;
  log: (line: string) => void;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  violations: string[];
  faults: AppliedFault[];
  checks: CheckReport;
  submissions: {
    acknowledged: number;
    unknownOutcome: number;
    /** Unknown outcomes that turned out to exist (found by re-submitting the key). */
    unknownExisted: number;
    duplicatesPrevented: number;
    /** Acknowledged keys sent again after healing; each must come back as a duplicate. */
    resubmittedOnPurpose: number;
  };
  /** Late results the orchestrators refused (fencing by attempt). */
  staleResultsRejected: number;
  workersDeclaredLost: number;
  drainMs: number;
  dir: string;
}

const CLIENTS = 3;
/** A client request may take this long (retries included) before its outcome counts as unknown. */
const CLIENT_TIMEOUT_MS = 20_000;
const DRAIN_TIMEOUT_MS = 180_000;
/** Acknowledged keys re-submitted after healing to prove creation is idempotent. */
const RESUBMIT_SAMPLE = 300;
const STATUS_CONCURRENCY = 32;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options;
  const cluster = await RealCluster.create({
    orchestrators: 3,
    workers: 3,
    slots: 8,
    layout: options.network ? "namespace" : "loopback",
    // Short, realistic tasks keep the queue moving; product timing defaults otherwise.
    tuning: { snapshotEveryEntries: 2000, snapshotCatchUpEntries: 500 },
  });
  let network: NetworkFaults | null = null;
  const clients: MutiraoClient[] = [];
  let report: ChaosReport | null = null;
  try {
    if (options.network) {
      const tags = new Map<number, number>([[0, 4000]]);
      for (const n of [...cluster.orchestrators, ...cluster.workers]) tags.set(n.gid!, n.gid!);
      network = await NetworkFaults.install(tags);
    }
    await cluster.start();
    const token = await cluster.token();
    log(`cluster up in ${cluster.dir}`);
    const faults = planFaults(options.seed, {
      durationMs: options.durationMs,
      network: options.network,
    });
    const injector = new FaultInjector(cluster, network, log);
    for (let c = 0; c < CLIENTS; c++) {
      clients.push(cluster.client({ timeoutMs: CLIENT_TIMEOUT_MS }));
    }
    // The load's randomness derives from the seed too, but from its own stream.
    const load = new SubmissionLoad(clients, token, createPrng(options.seed ^ 0x5eed));
    for (const fault of faults) {
      const wait = injector.startMs + fault.atMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await injector.apply(fault);
    }
    const rest = injector.startMs + options.durationMs - performance.now();
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    log("fault phase over: healing");
    await injector.settle();
    await load.stop();
    log(`${load.acked.length} submissions acknowledged, ${load.unknown.length} unknown; draining`);

    const checker = cluster.client({ timeoutMs: 60_000 });
    clients.push(checker);
    const violations = [...injector.violations];
    const settled = await settleUnknown(checker, token, load.unknown);
    const acked: AckedSubmission[] = [...load.acked, ...settled.acked];
    const resubmitted = await resubmitSample(checker, token, load.acked, load.specs);
    violations.push(...resubmitted.violations);
    const drain = await drainQueue(checker, token);
    if (drain.error !== null) violations.push(drain.error);
    const views = await fetchViews(clients, token, [...new Set(acked.map((a) => a.taskId))]);
    const checks = checkTasks(acked, views);
    violations.push(...checks.violations);
    violations.push(...injector.violations.filter((v) => !violations.includes(v)));
    injector.stopWatching();
    const logs = await orchestratorLogLines(cluster);
    report = {
      ok: violations.length === 0,
      seed: options.seed,
      violations,
      faults: injector.applied,
      checks,
      submissions: {
        acknowledged: load.acked.length,
        unknownOutcome: load.unknown.length,
        unknownExisted: settled.existed,
        duplicatesPrevented: load.duplicates + settled.existed,
        resubmittedOnPurpose: resubmitted.sent,
      },
      staleResultsRejected: logs.filter((l) => l.includes("Ignored result of task")).length,
      workersDeclaredLost: logs.filter((l) => / lost: missed heartbeats/.test(l)).length,
      drainMs: drain.ms,
      dir: cluster.dir,
    };
    return report;
  } finally {
    for (const client of clients) client.close();
    if (report === null || !report.ok || options.keep) cluster.keepDir();
    await cluster.stop();
    await network?.close();
  }
}

/** Re-submits the keys whose outcome is unknown, with their original specs. */
async function settleUnknown(
  client: MutiraoClient,
  token: string,
  items: readonly BatchItem[],
): Promise<{ acked: AckedSubmission[]; existed: number }> {
  const acked: AckedSubmission[] = [];
  let existed = 0;
  for (let i = 0; i < items.length; i += 1000) {
    const batch = items.slice(i, i + 1000);
    const reply = await client.request({ type: "submitBatch", token, tasks: batch });
    reply.results.forEach((r, k) => {
      acked.push({ key: batch[k].idempotencyKey, taskId: r.taskId, duplicate: r.duplicate });
      if (r.duplicate) existed += 1;
    });
  }
  return { acked, existed };
}

/** Acknowledged keys sent again must come back with the same task, marked duplicate. */
async function resubmitSample(
  client: MutiraoClient,
  token: string,
  acked: readonly AckedSubmission[],
  specs: ReadonlyMap<string, BatchItem>,
): Promise<{ violations: string[]; sent: number }> {
  const step = Math.max(1, Math.floor(acked.length / RESUBMIT_SAMPLE));
  const sample = acked.filter((_, i) => i % step === 0).slice(0, RESUBMIT_SAMPLE);
  if (sample.length === 0) return { violations: [], sent: 0 };
  const reply = await client.request({
    type: "submitBatch",
    token,
    tasks: sample.map((a) => specs.get(a.key)!),
  });
  const violations: string[] = [];
  reply.results.forEach((r, i) => {
    if (r.taskId !== sample[i].taskId || !r.duplicate) {
      violations.push(
        `Re-submitting key ${sample[i].key} gave ${r.taskId} (duplicate ${r.duplicate}), ` +
          `not its acknowledged task ${sample[i].taskId}`,
      );
    }
  });
  return { violations: violations.slice(0, 5), sent: sample.length };
}

/** Waits until no task is queued or running. */
async function drainQueue(
  client: MutiraoClient,
  token: string,
): Promise<{ ms: number; error: string | null }> {
  const start = performance.now();
  for (;;) {
    const [queued, running] = await Promise.all([
      client.request({ type: "list", token, state: "queued", limit: 5 }),
      client.request({ type: "list", token, state: "running", limit: 5 }),
    ]);
    const left = [...queued.tasks, ...running.tasks];
    const ms = Math.round(performance.now() - start);
    if (left.length === 0) return { ms, error: null };
    if (ms > DRAIN_TIMEOUT_MS) {
      return {
        ms,
        error: `The queue did not drain within ${DRAIN_TIMEOUT_MS / 1000} s after healing; e.g. ${
          left.map((t) => `${t.id} ${t.state} attempt ${t.attempt} on ${t.workerId}`).join(", ")
        }`,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every task's view (missing ones are left out), fetched with bounded concurrency. */
async function fetchViews(
  clients: readonly MutiraoClient[],
  token: string,
  taskIds: readonly string[],
): Promise<Map<string, TaskView>> {
  const views = new Map<string, TaskView>();
  let next = 0;
  const worker = async (client: MutiraoClient) => {
    while (next < taskIds.length) {
      const taskId = taskIds[next++];
      try {
        views.set(taskId, (await client.request({ type: "status", token, taskId })).task);
      } catch (error) {
        // "Not found" is the answer the checks report; anything else is a real failure.
        if (!(error instanceof RemoteError && error.code === "not_found")) throw error;
      }
    }
  };
  const lanes = Array.from(
    { length: STATUS_CONCURRENCY },
    (_, i) => worker(clients[i % clients.length]),
  );
  await Promise.all(lanes);
  return views;
}

/** Every line every orchestrator logged, deduplicated across nodes (each logs what it applies). */
async function orchestratorLogLines(cluster: RealCluster): Promise<string[]> {
  const unique = new Set<string>();
  for (const o of cluster.orchestrators) {
    for (const line of (await cluster.logText(o)).split("\n")) {
      // Drop the time and the node name: the same applied event is logged by every node.
      unique.add(line.replace(/^\S+ \S+\s+orchestrator \S+: /, ""));
    }
  }
  return [...unique];
}
