// Proves that the state machine's metrics follow applied commands: the first start's wait, run
// times and timeouts from workers' outcomes.
import assert from "node:assert/strict";
import { TaskMetrics } from "./task_metrics.ts";

Deno.test("TaskMetrics.started() observes only the first attempt's wait since submission", () => {
  const metrics = new TaskMetrics();
  metrics.started({ attempt: 1, submittedAtMs: 1000 }, 1250);
  metrics.started({ attempt: 2, submittedAtMs: 1000 }, 9000);
  const reading = metrics.waitSeconds.read();
  assert.equal(reading.count, 1);
  assert.equal(reading.sum, 0.25);
});

Deno.test("TaskMetrics.finished() observes run time and counts timeouts", () => {
  const metrics = new TaskMetrics();
  metrics.finished({ durationMs: 2000 });
  metrics.finished({ durationMs: 500, timedOut: true });
  assert.equal(metrics.runSeconds.read().count, 2);
  assert.equal(metrics.runSeconds.read().sum, 2.5);
  assert.equal(metrics.timedOut, 1);
});
