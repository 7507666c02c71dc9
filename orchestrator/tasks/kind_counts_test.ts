// Proves that tasks by kind are counted as tasks are submitted, move and are removed, survive a
// snapshot, and are reported for at most a bounded number of kinds, the rest summed as "other".
import assert from "node:assert/strict";
import { EXEC, Harness, outcome } from "./_task_fixtures_test.ts";
import { findInvariantViolations } from "./invariants.ts";
import { KindCounts, OTHER_KIND } from "./kind_counts.ts";
import { restoreSnapshot, takeSnapshot } from "./state_snapshot.ts";

const ZERO = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, expired: 0 };

Deno.test("the state machine counts tasks by kind as they are submitted, run and removed", () => {
  const h = new Harness();
  h.join("w1", { slots: 2 });
  const nap = h.submitTask();
  const ls = h.submitTask({ spec: EXEC });
  const thumb = h.submitTask({
    spec: { kind: "handler", handler: "thumbnail", description: "x", payload: "{}" },
  });
  h.assign(nap, "w1");
  h.finish(nap, { outcome: outcome() });
  h.cancel(ls);
  assert.deepEqual(h.sm.countsByKind.of("sleep"), { ...ZERO, succeeded: 1 });
  assert.deepEqual(h.sm.countsByKind.of("exec"), { ...ZERO, cancelled: 1 });
  assert.deepEqual(h.sm.countsByKind.of("thumbnail"), { ...ZERO, queued: 1 });
  assert.deepEqual(findInvariantViolations(h.sm), []);

  const restored = restoreSnapshot(takeSnapshot(h.sm));
  assert.deepEqual(restored.countsByKind.report(100), h.sm.countsByKind.report(100));

  h.remove([nap, ls]);
  assert.equal(h.sm.countsByKind.size, 1, "a kind with no task left is no longer reported");
  assert.deepEqual(h.sm.countsByKind.report(100).map((k) => k.kind), ["thumbnail"]);
  assert.deepEqual(findInvariantViolations(h.sm), []);
  assert.ok(thumb);
});

Deno.test("KindCounts.report() keeps the kinds with the most tasks and sums the rest as other", () => {
  const counts = new KindCounts();
  for (let i = 0; i < 5; i++) counts.add("big", "queued");
  for (let i = 0; i < 3; i++) counts.add("mid", "running");
  counts.add("a-small", "succeeded");
  counts.add("b-small", "failed");
  counts.add(OTHER_KIND, "queued");
  assert.deepEqual(counts.report(10).map((k) => k.kind), [
    "a-small",
    "b-small",
    "big",
    "mid",
    OTHER_KIND,
  ]);
  const report = counts.report(3);
  // Ties (a-small, b-small: one task each) go by name, so every node picks the same kinds.
  assert.deepEqual(report.map((k) => k.kind), ["a-small", "big", "mid", OTHER_KIND]);
  assert.deepEqual(report.at(-1)?.counts, { ...ZERO, failed: 1, queued: 1 });
  const total = (r: typeof report) =>
    r.reduce((sum, k) => sum + Object.values(k.counts).reduce((a, b) => a + b, 0), 0);
  assert.equal(total(report), total(counts.report(10)), "no task is lost from the sums");
});

Deno.test("KindCounts.move() refuses a task it never counted", () => {
  const counts = new KindCounts();
  counts.add("sleep", "queued");
  assert.throws(() => counts.move("sleep", "running", "succeeded"), /no running task/);
  assert.throws(() => counts.remove("exec", "queued"), /no queued task of kind exec/);
});
