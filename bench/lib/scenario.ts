/**
 * What a benchmark scenario is given and returns. Each scenario lives in its own file under
 * bench/scenarios/ and starts its own cluster(s) through the context, which stops them when the
 * scenario ends, failed or not.
 * @module
 */
import type { LatencyRun, LoadedLatencyRun, PayloadRun, ThroughputRun } from "./comparison.ts";
import type { ScenarioResult } from "./report.ts";
import type { RealCluster, RealClusterOptions } from "./real_cluster.ts";

/** Sizes of every scenario; `--quick` shrinks them for a smoke run. */
export interface BenchSizes {
  /** throughput: no-op tasks per run. */
  throughputTasks: number;
  /** throughput: tasks per submitBatch request, and requests kept in flight. */
  batchSize: number;
  batchesInFlight: number;
  /** latency: tasks submitted one at a time, and the rate they are sent at. */
  latencyTasks: number;
  latencyRatePerS: number;
  /** loaded latency: the background load (tasks/s, in batches of `loadedBatchSize`). */
  loadedBackgroundRatePerS: number;
  loadedBatchSize: number;
  /** loaded latency: probes submitted singly under the load, their rate, and the load's head start. */
  loadedProbeTasks: number;
  loadedProbeRatePerS: number;
  loadedSettleMs: number;
  /** worker failure: kills. */
  workerFailureRounds: number;
  /** leader failover: kills of the leader. */
  failoverRounds: number;
  /** false suspicion: how long every core is kept busy. */
  hogSeconds: number;
  /** scale: tasks pushed through with snapshots on, and the time allowed for pushing them. */
  scaleTasks: number;
  scaleBudgetMinutes: number;
  /**
   * retention: tasks pushed through, the finished tasks kept (`keepFinishedTasks`), tasks per
   * chunk (memory, disk and retained tasks are sampled between chunks), and the time allowed.
   */
  retentionTasks: number;
  retentionKeep: number;
  retentionChunkTasks: number;
  retentionBudgetMinutes: number;
  /** many workers: simulated workers. */
  simWorkers: number;
  /**
   * payloads: rounds of one no-op and one payload run each (`throughputTasks` tasks of each kind
   * per run), and closed-loop single tasks of each kind for submit→result latency.
   */
  payloadRounds: number;
  payloadLatencyTasks: number;
}

/** Tasks run before timing throughput, so JIT compilation is not billed to the measured run. */
export const THROUGHPUT_WARMUP_TASKS = 1000;
/** Single submissions sent before measuring latency, for the same reason. */
export const LATENCY_WARMUP_TASKS = 100;
/** Background batch requests outstanding at most in the loaded-latency scenario. */
export const LOADED_BATCHES_IN_FLIGHT_MAX = 64;

/** The full sizes (the issue's); `quickSizes` for `--quick`. */
export const FULL_SIZES: BenchSizes = {
  throughputTasks: 20_000,
  batchSize: 1000,
  batchesInFlight: 4,
  latencyTasks: 500,
  latencyRatePerS: 200,
  loadedBackgroundRatePerS: 5000,
  loadedBatchSize: 50,
  loadedProbeTasks: 500,
  loadedProbeRatePerS: 200,
  loadedSettleMs: 1000,
  workerFailureRounds: 10,
  failoverRounds: 20,
  hogSeconds: 30,
  scaleTasks: 1_000_000,
  scaleBudgetMinutes: 45,
  retentionTasks: 10_000_000,
  retentionKeep: 1_000_000,
  retentionChunkTasks: 100_000,
  retentionBudgetMinutes: 60,
  simWorkers: 200,
  payloadRounds: 4,
  payloadLatencyTasks: 300,
};

export const QUICK_SIZES: BenchSizes = {
  throughputTasks: 2000,
  batchSize: 500,
  batchesInFlight: 4,
  latencyTasks: 100,
  latencyRatePerS: 200,
  loadedBackgroundRatePerS: 5000,
  loadedBatchSize: 50,
  loadedProbeTasks: 100,
  loadedProbeRatePerS: 200,
  loadedSettleMs: 500,
  workerFailureRounds: 2,
  failoverRounds: 3,
  hogSeconds: 8,
  scaleTasks: 20_000,
  scaleBudgetMinutes: 5,
  retentionTasks: 60_000,
  retentionKeep: 20_000,
  retentionChunkTasks: 10_000,
  retentionBudgetMinutes: 5,
  simWorkers: 50,
  payloadRounds: 2,
  payloadLatencyTasks: 50,
};

/** The cluster shape and sizes of a bench run. */
export interface BenchOptions {
  orchestrators: number;
  workers: number;
  /** Slots per worker. */
  slots: number;
  /** Workers' --prefetch. */
  prefetch: number;
  quick: boolean;
  sizes: BenchSizes;
  /** MUTIRAO_LOG_LEVEL of the nodes (the product default is "info"). */
  logLevel: "info" | "warn";
  /** Keep cluster directories (node logs, data) for inspection. */
  keep: boolean;
  /** Where nodes write V8 CPU profiles (`deno run --cpu-prof`), or null for none. */
  profileDir: string | null;
  /** Interleaved rounds per system when peers are compared (`--peer`). */
  peerRounds: number;
  /** Handler workers run each attempt in a Web Worker (`deno task worker --isolate`). */
  isolate?: boolean;
  /**
   * Every orchestrator serves HTTP (so derives the event stream), and throughput and payloads
   * keep a dashboard's requests open on the leader meanwhile (dashboard_load.ts).
   */
  http?: boolean;
}

/** Given to each scenario. */
export interface ScenarioContext {
  readonly options: BenchOptions;
  /** A progress line on stderr (the table goes to stdout). */
  progress(message: string): void;
  /**
   * A cluster with the run's shape, overridable; not started. It is stopped when the scenario
   * ends, so scenarios only stop clusters early to free the machine for the next one.
   */
  cluster(overrides?: Partial<RealClusterOptions>): Promise<RealCluster>;
  /**
   * Systems to compare Mutirão with (`--peer`), empty without: the throughput, latency,
   * loaded-latency and payloads scenarios then run interleaved rounds of Mutirão and each peer.
   */
  readonly peers: readonly PeerSystem[];
}

/**
 * Another task queue measured with the same task shape and sizes (workers × slots, batches,
 * rates) as Mutirão. Each call is one complete run on fresh processes, stopped before it returns.
 */
export interface PeerSystem {
  /** As printed in the table, e.g. "bullmq-durable". */
  readonly name: string;
  /** One sentence: what runs and how it is configured. */
  readonly description: string;
  throughput(ctx: ScenarioContext): Promise<ThroughputRun>;
  latency(ctx: ScenarioContext): Promise<LatencyRun>;
  loadedLatency(ctx: ScenarioContext): Promise<LoadedLatencyRun>;
  /**
   * The payloads scenario's run: `throughputTasks` no-op tasks and as many that echo a JSON
   * payload of `payloadBytes`, in batches of `batchSize`, no-op first unless `payloadFirst`.
   */
  payloads(
    ctx: ScenarioContext,
    options: { payloadBytes: number; batchSize: number; payloadFirst: boolean },
  ): Promise<PayloadRun>;
}

/** One benchmark scenario. */
export interface Scenario {
  name: string;
  /** One line: what it measures. */
  summary: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
