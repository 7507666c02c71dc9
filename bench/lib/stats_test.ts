// Proves the percentile summary uses nearest rank (never an invented value) and handles edges.
import assert from "node:assert/strict";
import { percentile, summarize } from "./stats.ts";

Deno.test("percentile() picks the nearest-rank sample", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 90), 90);
  assert.equal(percentile(sorted, 99), 99);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile([7], 99), 7);
});

Deno.test("summarize() sorts its input and reports count, max and mean", () => {
  const s = summarize([5, 1, 3, 2, 4]);
  assert.equal(s.count, 5);
  assert.equal(s.p50, 3);
  assert.equal(s.max, 5);
  assert.equal(s.mean, 3);
});

Deno.test("summarize() of no samples is NaN with count 0", () => {
  const s = summarize([]);
  assert.equal(s.count, 0);
  assert.ok(Number.isNaN(s.p50));
  assert.ok(Number.isNaN(s.max));
});
