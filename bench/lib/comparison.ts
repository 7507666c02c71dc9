/**
 * Comparing Mutirão with a peer system (`deno task bench --peer bullmq`): the order of the
 * interleaved runs, and the rows that report per-system medians and ratios against targets.
 * Pure: runs are measured elsewhere (peer_rounds.ts) and handed in as data.
 * @module
 */
import type { Measurement, Target } from "./report.ts";
import { round, summarize } from "./stats.ts";

/** The system the peers are compared with; always first in a round. */
export const MUTIRAO = "mutirao";

/** One throughput run of one system: no-op tasks, first submission to last completion. */
export interface ThroughputRun {
  tasks: number;
  tasksPerS: number;
  elapsedMs: number;
}

/** One latency run: single submissions at a fixed rate, submit→running per task (ms). */
export interface LatencyRun {
  runningMs: number[];
  achievedRatePerS: number;
}

/** One loaded-latency run: probes submitted singly under a sustained batch background load. */
export interface LoadedLatencyRun {
  /** submit→running of each probe (ms). */
  probeRunningMs: number[];
  probeRatePerS: number;
  backgroundTargetPerS: number;
  /** Background tasks acknowledged per second over the window the load was offered. */
  backgroundSubmittedPerS: number;
  /** All tasks (background and probes) completed per second, load start to last completion. */
  completedPerS: number;
  /** Background batches not sent because the bounded window of requests in flight was full. */
  backgroundSkippedBatches: number;
}

/** One run in the interleaved order. */
export interface ScheduledRun {
  /** 1-based. */
  round: number;
  system: string;
}

/**
 * Every system once per round, rounds one after another (mutirao, bullmq, bullmq-durable,
 * mutirao, ...), so slow drift of a shared machine (another user, thermal state, page cache)
 * spreads over all systems instead of landing on whichever ran last.
 * @throws {RangeError} when `rounds` is not a positive integer or `systems` is empty
 */
export function interleavedSchedule(systems: readonly string[], rounds: number): ScheduledRun[] {
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`Rounds must be a positive integer, got ${rounds}`);
  }
  if (systems.length === 0) throw new RangeError("Cannot schedule runs: no systems given");
  return Array.from(
    { length: rounds },
    (_, r) => systems.map((system) => ({ round: r + 1, system })),
  )
    .flat();
}

/**
 * The median of `values` (the mean of the two middle ones for an even count: with two rounds
 * the nearest-rank median would always report the worse or the better run). NaN when empty.
 */
export function medianOf(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** a / b, or NaN when either is missing or b is not positive. */
export function ratioOf(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN;
}

/** Targets of a comparison, from the issue; reported, never asserted. */
export interface ComparisonTargets {
  /** Mutirão's own figure. */
  mutirao?: Target;
  /** Mutirão / peer, against the first (default-configured) peer only. */
  ratio?: Target;
}

/**
 * Throughput rows: each system's median tasks/s over its rounds, then Mutirão / each peer.
 * `runs` maps system names to their successful runs, Mutirão first.
 */
export function throughputComparison(
  runs: ReadonlyMap<string, readonly ThroughputRun[]>,
  targets: ComparisonTargets,
): Measurement[] {
  const medians = new Map(
    [...runs].map(([system, rs]) => [system, medianOf(rs.map((r) => r.tasksPerS))]),
  );
  const rows: Measurement[] = [...medians].map(([system, value]) => ({
    metric: `tasks/s, ${system}`,
    value: round(value, 0),
    unit: "tasks/s",
    ...(system === MUTIRAO && targets.mutirao ? { target: targets.mutirao } : {}),
    note: `median of ${runs.get(system)?.length ?? 0} run(s)`,
  }));
  const peers = [...runs.keys()].filter((s) => s !== MUTIRAO);
  peers.forEach((peer, i) => {
    rows.push({
      metric: `tasks/s, ${MUTIRAO} / ${peer}`,
      value: round(ratioOf(medians.get(MUTIRAO) ?? NaN, medians.get(peer) ?? NaN), 2),
      unit: "×",
      ...(i === 0 && targets.ratio ? { target: targets.ratio } : {}),
    });
  });
  return rows;
}

/** Percentile targets of a latency comparison (ms, Mutirão's own figure). */
export interface LatencyTargets {
  p50?: number;
  p99?: number;
  /** Mutirão / first peer at most this (1 = "no worse than"), for p50 and p99. */
  ratioAtMost?: number;
}

/**
 * Latency rows: each system's p50 and p99 over the samples of all its rounds pooled (a p99
 * from 1,000 samples is steadier than a median of two p99s from 500), then Mutirão / each peer.
 * `name` labels the measured span, e.g. "submit→running".
 */
export function latencyComparison(
  samples: ReadonlyMap<string, readonly number[]>,
  options: { name: string; targets: LatencyTargets },
): Measurement[] {
  const summaries = new Map([...samples].map(([system, s]) => [system, summarize(s)]));
  const { targets } = options;
  const rows: Measurement[] = [];
  for (const [system, s] of summaries) {
    const mine = system === MUTIRAO;
    for (const [p, target] of [["p50", targets.p50], ["p99", targets.p99]] as const) {
      rows.push({
        metric: `${options.name} ${p}, ${system}`,
        value: round(s[p], 2),
        unit: "ms",
        ...(mine && target !== undefined
          ? { target: { kind: "atMost" as const, value: target } }
          : {}),
        ...(p === "p50" ? { note: `${s.count} samples` } : {}),
      });
    }
  }
  const ours = summaries.get(MUTIRAO);
  const peers = [...summaries.keys()].filter((s) => s !== MUTIRAO);
  peers.forEach((peer, i) => {
    const theirs = summaries.get(peer)!;
    for (const p of ["p50", "p99"] as const) {
      rows.push({
        metric: `${options.name} ${p}, ${MUTIRAO} / ${peer}`,
        value: round(ratioOf(ours?.[p] ?? NaN, theirs[p]), 2),
        unit: "×",
        ...(i === 0 && targets.ratioAtMost !== undefined
          ? { target: { kind: "atMost" as const, value: targets.ratioAtMost } }
          : {}),
      });
    }
  });
  return rows;
}

/**
 * One payloads run of one system: the same number of no-op tasks and of handler tasks that echo
 * a JSON payload, each kind submitted in batches and timed from its first submission to its last
 * completion, in the same run.
 */
export interface PayloadRun {
  /** Tasks of each kind. */
  tasks: number;
  payloadBytes: number;
  noopTasksPerS: number;
  payloadTasksPerS: number;
}

/**
 * Payloads rows: each system's median no-op and payload tasks/s over its runs, the median of its
 * runs' payload / no-op ratios (the cost of handlers and payloads, measured within one run so
 * drift of a shared machine cancels), then Mutirão / each peer for the payload tasks. Reported
 * without targets: the issue asks for the cost to be shown, not for a figure.
 */
export function payloadComparison(runs: ReadonlyMap<string, readonly PayloadRun[]>): Measurement[] {
  const rows: Measurement[] = [];
  const payloadMedians = new Map<string, number>();
  for (const [system, rs] of runs) {
    const note = `median of ${rs.length} run(s)`;
    const noop = medianOf(rs.map((r) => r.noopTasksPerS));
    const payload = medianOf(rs.map((r) => r.payloadTasksPerS));
    const ratio = medianOf(rs.map((r) => ratioOf(r.payloadTasksPerS, r.noopTasksPerS)));
    const bytes = rs[0]?.payloadBytes ?? NaN;
    payloadMedians.set(system, payload);
    rows.push(
      { metric: `no-op tasks/s, ${system}`, value: round(noop, 0), unit: "tasks/s", note },
      {
        metric: `echo ${bytes} B payload+result tasks/s, ${system}`,
        value: round(payload, 0),
        unit: "tasks/s",
        note,
      },
      {
        metric: `payload / no-op throughput, ${system}`,
        value: round(ratio, 2),
        unit: "×",
        note: "median of each run's own ratio",
      },
    );
  }
  for (const peer of [...runs.keys()].filter((s) => s !== MUTIRAO)) {
    rows.push({
      metric: `payload tasks/s, ${MUTIRAO} / ${peer}`,
      value: round(ratioOf(payloadMedians.get(MUTIRAO) ?? NaN, payloadMedians.get(peer)!), 2),
      unit: "×",
    });
  }
  return rows;
}
