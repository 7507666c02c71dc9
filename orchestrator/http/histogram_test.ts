// Proves the histogram: observations land in the right bucket, buckets are cumulative and end in
// +Inf, and the text format spells _bucket, _sum and _count.
import assert from "node:assert/strict";
import { Histogram } from "./histogram.ts";
import { formatMetrics, parseMetrics } from "./prometheus_text.ts";

Deno.test("Histogram counts cumulatively, an observation on a bound falls in that bucket", () => {
  const h = new Histogram("mutirao_x_seconds", { help: "x", bounds: [0.1, 1] });
  h.observe(0.05);
  h.observe(0.1);
  h.observe(0.5);
  h.observe(3);
  const m = parseMetrics(formatMetrics([h.toFamily()]));
  assert.equal(m.get('mutirao_x_seconds_bucket{le="0.1"}'), 2);
  assert.equal(m.get('mutirao_x_seconds_bucket{le="1"}'), 3);
  assert.equal(m.get('mutirao_x_seconds_bucket{le="+Inf"}'), 4);
  assert.equal(m.get("mutirao_x_seconds_count"), 4);
  assert.equal(m.get("mutirao_x_seconds_sum"), 3.65);
});

Deno.test("Histogram drops negative and NaN observations", () => {
  const h = new Histogram("mutirao_x_seconds", { help: "x", bounds: [1] });
  h.observe(-1);
  h.observe(NaN);
  assert.equal(h.count, 0);
});

Deno.test("Histogram refuses bounds that do not increase", () => {
  assert.throws(
    () => new Histogram("mutirao_x_seconds", { help: "x", bounds: [1, 1] }),
    RangeError,
  );
  assert.throws(() => new Histogram("mutirao_x_seconds", { help: "x", bounds: [] }), RangeError);
});

Deno.test("formatMetrics() refuses a histogram not named in seconds", () => {
  const h = new Histogram("mutirao_x", { help: "x", bounds: [1] });
  assert.throws(() => formatMetrics([h.toFamily()]), RangeError);
});

Deno.test("formatMetrics() spells a histogram with one TYPE line", () => {
  const text = formatMetrics([
    new Histogram("mutirao_x_seconds", { help: "x", bounds: [1] }).toFamily(),
  ]);
  assert.match(text, /^# HELP mutirao_x_seconds x\n# TYPE mutirao_x_seconds histogram\n/);
  assert.match(text, /\nmutirao_x_seconds_bucket\{le="\+Inf"\} 0\n/);
});
