// Proves that metricFamilies() reports every number of a node's view under its Prometheus name.
import assert from "node:assert/strict";
import { httpRequestKey, metricFamilies, type MetricsView } from "./node_metrics.ts";
import { formatMetrics, parseMetrics } from "./prometheus_text.ts";
import { DURATION_BOUNDS_SECONDS, Histogram } from "../../shared/histogram.ts";

function reading(observations: number[]) {
  const histogram = new Histogram(DURATION_BOUNDS_SECONDS);
  for (const seconds of observations) histogram.observe(seconds);
  return histogram.read();
}

const VIEW: MetricsView = {
  role: "leader",
  term: 3,
  commitIndex: 40,
  appliedIndex: 39,
  lastIndex: 41,
  tasks: { queued: 2, running: 1, succeeded: 5, failed: 1, cancelled: 0, expired: 0 },
  tasksByKind: [
    {
      kind: "exec",
      counts: { queued: 2, running: 0, succeeded: 0, failed: 0, cancelled: 0, expired: 0 },
    },
    {
      kind: "sleep",
      counts: { queued: 0, running: 1, succeeded: 5, failed: 1, cancelled: 0, expired: 0 },
    },
  ],
  queueDepth: new Map([["images", 1], ["default", 1]]),
  queueTimed: 3,
  workers: { alive: 2, draining: 1 },
  retries: 4,
  tasksApplied: {
    retriedByPolicy: 2,
    timedOut: 1,
    expired: 3,
    workersLost: 5,
    waitSeconds: reading([0.01, 0.3]),
    runSeconds: reading([2]),
  },
  fsyncSeconds: reading([0.001, 0.002]),
  heartbeatGapSeconds: reading([1, 1, 1.2]),
  httpRequests: new Map([[httpRequestKey("GET", 200), 6], [httpRequestKey("POST", 401), 1]]),
  tcpRequests: 9,
};

Deno.test("metricFamilies() reports tasks, queue, Raft, workers and request counts", () => {
  const parsed = parseMetrics(formatMetrics(metricFamilies(VIEW)));
  assert.equal(parsed.get('mutirao_tasks{state="queued"}'), 2);
  assert.equal(parsed.get('mutirao_tasks{state="succeeded"}'), 5);
  assert.equal(parsed.get('mutirao_tasks_by_kind{kind="exec",state="queued"}'), 2);
  assert.equal(parsed.get('mutirao_tasks_by_kind{kind="sleep",state="succeeded"}'), 5);
  assert.equal(parsed.get('mutirao_tasks_by_kind{kind="sleep",state="queued"}'), 0);
  assert.equal(parsed.get('mutirao_queue_depth{queue="default"}'), 1);
  assert.equal(parsed.get('mutirao_queue_depth{queue="images"}'), 1);
  assert.equal(parsed.get("mutirao_queue_timed"), 3);
  assert.equal(parsed.get("mutirao_raft_term"), 3);
  assert.equal(parsed.get("mutirao_raft_commit_index"), 40);
  assert.equal(parsed.get("mutirao_raft_applied_index"), 39);
  assert.equal(parsed.get('mutirao_raft_role{role="leader"}'), 1);
  assert.equal(parsed.get('mutirao_raft_role{role="follower"}'), 0);
  assert.equal(parsed.get('mutirao_workers{status="alive"}'), 2);
  assert.equal(parsed.get('mutirao_retries_total{reason="requeued"}'), 4);
  assert.equal(parsed.get('mutirao_retries_total{reason="policy"}'), 2);
  assert.equal(parsed.get("mutirao_tasks_timed_out_total"), 1);
  assert.equal(parsed.get("mutirao_tasks_expired_total"), 3);
  assert.equal(parsed.get("mutirao_workers_lost_total"), 5);
  assert.equal(parsed.get("mutirao_task_wait_seconds_count"), 2);
  assert.equal(parsed.get('mutirao_task_run_seconds_bucket{le="1"}'), 0);
  assert.equal(parsed.get('mutirao_task_run_seconds_bucket{le="2.5"}'), 1);
  assert.equal(parsed.get("mutirao_fsync_duration_seconds_count"), 2);
  assert.equal(parsed.get("mutirao_worker_heartbeat_gap_seconds_sum"), 3.2);
  assert.equal(parsed.get('mutirao_http_requests_total{method="GET",status="200"}'), 6);
  assert.equal(parsed.get('mutirao_http_requests_total{method="POST",status="401"}'), 1);
  assert.equal(parsed.get("mutirao_tcp_requests_total"), 9);
});
