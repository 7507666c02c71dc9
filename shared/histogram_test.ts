// Proves the histogram: observations land in the right bucket, counts are cumulative, and bad
// bounds or observations are refused.
import assert from "node:assert/strict";
import { Histogram } from "./histogram.ts";

Deno.test("Histogram counts cumulatively, an observation on a bound falls in that bucket", () => {
  const h = new Histogram([0.1, 1]);
  h.observe(0.05);
  h.observe(0.1);
  h.observe(0.5);
  h.observe(3);
  const reading = h.read();
  assert.deepEqual(reading.cumulative, [2, 3]);
  assert.equal(reading.count, 4);
  assert.equal(reading.sum, 3.65);
});

Deno.test("Histogram.read() is a copy", () => {
  const h = new Histogram([1]);
  const before = h.read();
  h.observe(0.5);
  assert.deepEqual(before.cumulative, [0]);
  assert.deepEqual(h.read().cumulative, [1]);
});

Deno.test("Histogram drops negative and NaN observations", () => {
  const h = new Histogram([1]);
  h.observe(-1);
  h.observe(NaN);
  assert.equal(h.count, 0);
});

Deno.test("Histogram refuses bounds that are empty, not finite or do not increase", () => {
  assert.throws(() => new Histogram([1, 1]), RangeError);
  assert.throws(() => new Histogram([]), RangeError);
  assert.throws(() => new Histogram([1, Infinity]), RangeError);
});
