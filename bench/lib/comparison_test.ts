// Proves the peer comparison's pure parts: the interleaved order, medians of rounds, and the
// rows with per-system figures, ratios and which of them carry the targets.
import assert from "node:assert/strict";
import {
  interleavedSchedule,
  latencyComparison,
  medianOf,
  payloadComparison,
  ratioOf,
  throughputComparison,
} from "./comparison.ts";
import { verdict } from "./report.ts";

Deno.test("interleavedSchedule() runs every system once per round, in order", () => {
  const order = interleavedSchedule(["mutirao", "bullmq", "bullmq-durable"], 2)
    .map((r) => `${r.round}:${r.system}`);
  assert.deepEqual(order, [
    "1:mutirao",
    "1:bullmq",
    "1:bullmq-durable",
    "2:mutirao",
    "2:bullmq",
    "2:bullmq-durable",
  ]);
});

Deno.test("interleavedSchedule() refuses zero rounds and no systems", () => {
  assert.throws(() => interleavedSchedule(["mutirao"], 0), RangeError);
  assert.throws(() => interleavedSchedule([], 1), RangeError);
});

Deno.test("medianOf() averages the middle two of an even count", () => {
  assert.equal(medianOf([3, 1, 2]), 2);
  assert.equal(medianOf([10, 20]), 15);
  assert.ok(Number.isNaN(medianOf([])));
});

Deno.test("ratioOf() is NaN when a side is missing or the divisor is not positive", () => {
  assert.equal(ratioOf(6, 3), 2);
  assert.ok(Number.isNaN(ratioOf(NaN, 3)));
  assert.ok(Number.isNaN(ratioOf(6, 0)));
});

Deno.test("throughputComparison() reports medians and the ratio to the first peer against its target", () => {
  const run = (tasksPerS: number) => ({ tasks: 1000, tasksPerS, elapsedMs: 1 });
  const rows = throughputComparison(
    new Map([
      ["mutirao", [run(15_000), run(17_000)]],
      ["bullmq", [run(8000), run(8000)]],
      ["bullmq-durable", [run(4000)]],
    ]),
    { mutirao: { kind: "atLeast", value: 15_000 }, ratio: { kind: "atLeast", value: 1.9 } },
  );
  const byMetric = new Map(rows.map((r) => [r.metric, r]));
  assert.equal(byMetric.get("tasks/s, mutirao")?.value, 16_000);
  assert.equal(verdict(byMetric.get("tasks/s, mutirao")!), "met");
  const ratio = byMetric.get("tasks/s, mutirao / bullmq")!;
  assert.equal(ratio.value, 2);
  assert.equal(verdict(ratio), "met");
  const durable = byMetric.get("tasks/s, mutirao / bullmq-durable")!;
  assert.equal(durable.value, 4);
  assert.equal(durable.target, undefined);
});

Deno.test("latencyComparison() pools samples and compares p50 and p99 with the first peer", () => {
  const ours = Array.from({ length: 100 }, (_, i) => 1 + i / 100); // p50 1.49, p99 1.98
  const theirs = Array.from({ length: 100 }, (_, i) => 2 + i / 100); // p50 2.49, p99 2.98
  const rows = latencyComparison(new Map([["mutirao", ours], ["bullmq", theirs]]), {
    name: "submit→running",
    targets: { p50: 1.5, p99: 6, ratioAtMost: 1 },
  });
  const byMetric = new Map(rows.map((r) => [r.metric, r]));
  assert.equal(byMetric.get("submit→running p50, mutirao")?.value, 1.49);
  assert.equal(verdict(byMetric.get("submit→running p50, mutirao")!), "met");
  assert.equal(byMetric.get("submit→running p99, bullmq")?.target, undefined);
  const p99Ratio = byMetric.get("submit→running p99, mutirao / bullmq")!;
  assert.equal(p99Ratio.value, 0.66);
  assert.equal(verdict(p99Ratio), "met");
});

Deno.test("latencyComparison() reports n/a ratios when Mutirão has no samples", () => {
  const rows = latencyComparison(new Map([["mutirao", []], ["bullmq", [1, 2, 3]]]), {
    name: "x",
    targets: { ratioAtMost: 1 },
  });
  const ratio = rows.find((r) => r.metric === "x p50, mutirao / bullmq")!;
  assert.ok(Number.isNaN(ratio.value));
  assert.equal(verdict(ratio), "");
});

Deno.test("payloadComparison() reports medians, each run's own ratio and Mutirão / peer", () => {
  const run = (noop: number, payload: number) => ({
    tasks: 100,
    payloadBytes: 1024,
    noopTasksPerS: noop,
    payloadTasksPerS: payload,
  });
  const rows = payloadComparison(
    new Map([
      // Ratios 0.5 and 0.7: their median (0.6) differs from the ratio of medians (3000/5000).
      ["mutirao", [run(4000, 2000), run(6000, 4200)]],
      ["bullmq", [run(8000, 6000)]],
    ]),
  );
  const value = (metric: string) => rows.find((r) => r.metric === metric)?.value;
  assert.equal(value("no-op tasks/s, mutirao"), 5000);
  assert.equal(value("echo 1024 B payload+result tasks/s, mutirao"), 3100);
  assert.equal(value("payload / no-op throughput, mutirao"), 0.6);
  assert.equal(value("payload / no-op throughput, bullmq"), 0.75);
  assert.equal(value("payload tasks/s, mutirao / bullmq"), 0.52);
  assert.ok(rows.every((r) => r.target === undefined));
});

Deno.test("payloadComparison() without peers has no ratio between systems", () => {
  const rows = payloadComparison(
    new Map([["mutirao", [{
      tasks: 1,
      payloadBytes: 1024,
      noopTasksPerS: 2,
      payloadTasksPerS: 1,
    }]]]),
  );
  assert.equal(rows.length, 3);
  assert.ok(rows.every((r) => !r.metric.includes(" / bullmq")));
});
