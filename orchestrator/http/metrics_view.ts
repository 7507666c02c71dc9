/**
 * Reads a node's state into the plain view `/metrics` reports (node_metrics.ts). Reads only, at
 * the moment of a scrape: a follower reports its own replicated state, which may lag the leader's.
 * @module
 */
import type { OrchestratorNode } from "../core/mod.ts";
import { MAX_REPORTED_KINDS, type MetricsView } from "./node_metrics.ts";
import type { HistogramReading } from "../../shared/histogram.ts";

/** Request counters the HTTP server and the TCP shell keep. */
export interface RequestCounters {
  http: ReadonlyMap<string, number>;
  tcp: number;
  /** The shell's durable log writes (group_commit.ts). */
  fsyncSeconds: HistogramReading;
}

/** This node's metrics now. */
export function metricsViewOf(node: OrchestratorNode, counters: RequestCounters): MetricsView {
  const status = node.consensusStatus();
  const sm = node.sm;
  const queueDepth = sm.queue.laneSizes();
  let alive = 0;
  let draining = 0;
  for (const worker of sm.workers.values()) {
    if (worker.status === "alive") alive++;
    else draining++;
  }
  return {
    role: status.role,
    term: status.term,
    commitIndex: status.commitIndex,
    appliedIndex: sm.appliedIndex,
    lastIndex: status.lastIndex,
    tasks: sm.counts,
    tasksByKind: sm.countsByKind.report(MAX_REPORTED_KINDS),
    queueDepth,
    queueTimed: sm.queue.size - [...queueDepth.values()].reduce((a, b) => a + b, 0),
    workers: { alive, draining },
    retries: sm.stats.retries,
    tasksApplied: {
      retriedByPolicy: sm.metrics.retriedByPolicy,
      timedOut: sm.metrics.timedOut,
      expired: sm.metrics.expired,
      workersLost: sm.metrics.workersLost,
      waitSeconds: sm.metrics.waitSeconds.read(),
      runSeconds: sm.metrics.runSeconds.read(),
    },
    fsyncSeconds: counters.fsyncSeconds,
    heartbeatGapSeconds: node.heartbeatGaps(),
    httpRequests: counters.http,
    tcpRequests: counters.tcp,
  };
}
