import assert from "node:assert/strict";
import { FlowStats, quantile, WINDOW_S } from "./flow_stats.js";

const task = (taskId: string, event: string, atMs: number) => ({
  kind: "task",
  event,
  taskId,
  atMs,
});

Deno.test("flow stats count tasks per second and pair events into wait and run times", () => {
  const stats = new FlowStats();
  const t0 = 1_000_000_000_000; // a whole second
  stats.add(task("t-1", "submitted", t0));
  stats.add(task("t-2", "submitted", t0 + 10));
  stats.add(task("t-1", "started", t0 + 200));
  stats.add(task("t-2", "started", t0 + 900));
  stats.add(task("t-1", "succeeded", t0 + 1_300));
  stats.add(task("t-2", "failed", t0 + 1_500));
  stats.add({ kind: "worker", event: "lost", workerId: "w", atMs: t0 } as never);
  const { throughput, latency } = stats.series(t0 + 1_999);
  assert.equal(throughput[0].length, WINDOW_S);
  const last = WINDOW_S - 1, before = WINDOW_S - 2;
  assert.deepEqual(throughput.map((column: (number | null)[]) => column[before]), [
    t0 / 1000,
    2,
    0,
    0,
  ]);
  assert.deepEqual(throughput.map((column: (number | null)[]) => column[last]), [
    t0 / 1000 + 1,
    0,
    1,
    1,
  ]);
  // Waits 200 and 890 ms in the first second; runs 1100 and 600 ms in the second.
  assert.deepEqual(latency.map((column: (number | null)[]) => column[before]), [
    t0 / 1000,
    890,
    890,
    null,
  ]);
  assert.deepEqual(latency.map((column: (number | null)[]) => column[last]), [
    t0 / 1000 + 1,
    null,
    null,
    1100,
  ]);
  assert.equal(stats.open.size, 0, "ended tasks are forgotten");
});

Deno.test("flow stats forget seconds that left the window", () => {
  const stats = new FlowStats();
  stats.add(task("t-1", "submitted", 5_000));
  stats.series(5_000 + WINDOW_S * 1000 + 1000);
  assert.equal(stats.seconds.size, 0);
});

Deno.test("quantile picks a member, null for none", () => {
  assert.equal(quantile([], 0.5), null);
  assert.equal(quantile(undefined, 0.5), null);
  assert.equal(quantile([3, 1, 2], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.95), 4);
});

Deno.test("flow stats compute once per second, and again when an event lands", () => {
  const stats = new FlowStats();
  const t0 = 2_000_000_000_000;
  stats.add(task("t-1", "submitted", t0));
  const first = stats.series(t0 + 100);
  assert.equal(stats.series(t0 + 900), first, "the same second: the same columns");
  stats.add(task("t-1", "started", t0 + 950));
  const later = stats.series(t0 + 1_000);
  assert.notEqual(later, first);
  assert.equal(later.latency[1][WINDOW_S - 2], 950, "the landed event is counted");
});
