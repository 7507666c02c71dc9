/**
 * The metric families an orchestrator exposes at `/metrics`, from a plain view of its state: task
 * counts, queue depth, Raft progress, workers, request counters and latency histograms. Pure: the shell takes the
 * view (metrics_view.ts), this names and describes each number.
 * @module
 */
import { TASK_STATES, type TaskState } from "../../shared/protocol/task_schemas.ts";
import type { HistogramReading } from "../../shared/histogram.ts";
import { histogramFamily, type MetricFamily } from "./prometheus_text.ts";

/** What one scrape reports: this node's view, read at one moment. */
export interface MetricsView {
  role: "leader" | "follower" | "candidate";
  term: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  /** Tasks by state, as this node's replicated state holds them. */
  tasks: Readonly<Record<TaskState, number>>;
  /** Tasks by kind and state: at most a bounded number of kinds, then `other` (KindCounts). */
  tasksByKind: ReadonlyArray<{ kind: string; counts: Readonly<Record<TaskState, number>> }>;
  /** Tasks ready to be dispatched, by queue name. */
  queueDepth: ReadonlyMap<string, number>;
  /** Queued tasks waiting for their time (a delay, `runAtMs`, a retry's pause). */
  queueTimed: number;
  workers: { alive: number; draining: number };
  /** Attempts requeued after their worker was lost or handed them back (replicated). */
  retries: number;
  /** What this node observed applying commands (TaskMetrics), since it started. */
  tasksApplied: {
    /** Failed attempts queued again by their retry policy. */
    retriedByPolicy: number;
    timedOut: number;
    expired: number;
    workersLost: number;
    /** Submission to the first start. */
    waitSeconds: HistogramReading;
    /** Attempts' run times as their workers measured them. */
    runSeconds: HistogramReading;
  };
  /** This node's durable log writes. */
  fsyncSeconds: HistogramReading;
  /** Gaps between workers' heartbeats, as this node's failure detector saw them. */
  heartbeatGapSeconds: HistogramReading;
  /** HTTP requests answered by this node, by method and status code. */
  httpRequests: ReadonlyMap<string, number>;
  /** Client requests read from TCP connections by this node since it started. */
  tcpRequests: number;
}

/**
 * Task kinds `mutirao_tasks_by_kind` reports by name; the rest are summed as kind="other". Kinds
 * are user-chosen handler names, and each one is a time series a Prometheus server keeps.
 */
export const MAX_REPORTED_KINDS = 100;

const ROLES = ["leader", "follower", "candidate"] as const;

/** Names and describes every number of `view` as Prometheus metric families. */
export function metricFamilies(view: MetricsView): MetricFamily[] {
  return [
    {
      name: "mutirao_tasks",
      help: "Tasks kept by the cluster, by state (this node's replicated state)",
      type: "gauge",
      samples: TASK_STATES.map((state) => ({ labels: { state }, value: view.tasks[state] })),
    },
    {
      name: "mutirao_tasks_by_kind",
      help: "Tasks kept by the cluster, by kind and state; at most " +
        `${MAX_REPORTED_KINDS} kinds (those with the most tasks), the rest summed as kind="other"`,
      type: "gauge",
      samples: view.tasksByKind.flatMap(({ kind, counts }) =>
        TASK_STATES.map((state) => ({ labels: { kind, state }, value: counts[state] }))
      ),
    },
    {
      name: "mutirao_queue_depth",
      help: "Tasks ready to be dispatched, by queue",
      type: "gauge",
      samples: [...view.queueDepth].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map((
        [queue, value],
      ) => ({ labels: { queue }, value })),
    },
    gauge("mutirao_queue_timed", "Queued tasks waiting for their time", view.queueTimed),
    gauge("mutirao_raft_term", "Current Raft term of this orchestrator", view.term),
    gauge("mutirao_raft_commit_index", "Highest log index known committed", view.commitIndex),
    gauge(
      "mutirao_raft_applied_index",
      "Highest log index applied to the state",
      view.appliedIndex,
    ),
    gauge("mutirao_raft_last_index", "Index of the last entry of this node's log", view.lastIndex),
    {
      name: "mutirao_raft_role",
      help: "1 for this orchestrator's current Raft role, 0 for the others",
      type: "gauge",
      samples: ROLES.map((role) => ({ labels: { role }, value: role === view.role ? 1 : 0 })),
    },
    {
      name: "mutirao_workers",
      help: "Workers registered with the cluster, by status",
      type: "gauge",
      samples: [
        { labels: { status: "alive" }, value: view.workers.alive },
        { labels: { status: "draining" }, value: view.workers.draining },
      ],
    },
    {
      name: "mutirao_retries_total",
      help: "Attempts run again: by their retry policy after a failure, or requeued after their " +
        "worker was lost or handed them back",
      type: "counter",
      samples: [
        { labels: { reason: "policy" }, value: view.tasksApplied.retriedByPolicy },
        { labels: { reason: "requeued" }, value: view.retries },
      ],
    },
    counter(
      "mutirao_tasks_timed_out_total",
      "Attempts that failed by running past their timeout",
      view.tasksApplied.timedOut,
    ),
    counter(
      "mutirao_tasks_expired_total",
      "Queued tasks that expired, not started within their queue timeout",
      view.tasksApplied.expired,
    ),
    counter(
      "mutirao_workers_lost_total",
      "Workers removed as lost (silent past the failure detector's limit, or replaced)",
      view.tasksApplied.workersLost,
    ),
    histogramFamily("mutirao_task_wait_seconds", {
      help: "Time from a task's submission to its first attempt's start",
      reading: view.tasksApplied.waitSeconds,
    }),
    histogramFamily("mutirao_task_run_seconds", {
      help: "Attempts' run times (succeeded or failed) as their workers measured them",
      reading: view.tasksApplied.runSeconds,
    }),
    histogramFamily("mutirao_fsync_duration_seconds", {
      help: "Durations of this orchestrator's durable log writes (fsync)",
      reading: view.fsyncSeconds,
    }),
    histogramFamily("mutirao_worker_heartbeat_gap_seconds", {
      help: "Gaps between workers' heartbeats seen by this orchestrator's failure detector",
      reading: view.heartbeatGapSeconds,
    }),
    {
      name: "mutirao_http_requests_total",
      help: "HTTP requests answered by this orchestrator, by method and status",
      type: "counter",
      samples: [...view.httpRequests].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map((
        [key, value],
      ) => {
        const [method, status] = key.split(" ");
        return { labels: { method, status }, value };
      }),
    },
    {
      name: "mutirao_tcp_requests_total",
      help: "Client requests received over TCP by this orchestrator",
      type: "counter",
      samples: [{ value: view.tcpRequests }],
    },
  ];
}

/** The key `httpRequests` counts under: method and status. */
export function httpRequestKey(method: string, status: number): string {
  return `${method} ${status}`;
}

function gauge(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: "gauge", samples: [{ value }] };
}

function counter(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: "counter", samples: [{ value }] };
}
