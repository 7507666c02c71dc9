// Proves that formatMetrics() spells the Prometheus text format (help, type, labels, escapes)
// and that parseMetrics() reads it back.
import assert from "node:assert/strict";
import { Histogram } from "../../shared/histogram.ts";
import { formatMetrics, histogramFamily, parseMetrics } from "./prometheus_text.ts";

Deno.test("formatMetrics() writes help, type and one line per sample", () => {
  const text = formatMetrics([
    {
      name: "mutirao_tasks",
      help: "Tasks by state",
      type: "gauge",
      samples: [{ labels: { state: "queued" }, value: 3 }, {
        labels: { state: "running" },
        value: 1,
      }],
    },
    { name: "mutirao_retries_total", help: "Retries", type: "counter", samples: [{ value: 7 }] },
  ]);
  assert.equal(
    text,
    [
      "# HELP mutirao_tasks Tasks by state",
      "# TYPE mutirao_tasks gauge",
      'mutirao_tasks{state="queued"} 3',
      'mutirao_tasks{state="running"} 1',
      "# HELP mutirao_retries_total Retries",
      "# TYPE mutirao_retries_total counter",
      "mutirao_retries_total 7",
      "",
    ].join("\n"),
  );
});

Deno.test("formatMetrics() escapes label values and help text", () => {
  const text = formatMetrics([{
    name: "mutirao_x",
    help: "a \\ b\nc",
    type: "gauge",
    samples: [{ labels: { queue: 'q"1\\\n' }, value: Infinity }],
  }]);
  assert.match(text, /^# HELP mutirao_x a \\\\ b\\nc$/m);
  assert.match(text, /^mutirao_x\{queue="q\\"1\\\\\\n"\} \+Inf$/m);
});

Deno.test("formatMetrics() refuses a counter without _total and a bad label name", () => {
  assert.throws(
    () => formatMetrics([{ name: "mutirao_x", help: "", type: "counter", samples: [] }]),
    RangeError,
  );
  assert.throws(
    () =>
      formatMetrics([{
        name: "mutirao_x",
        help: "",
        type: "gauge",
        samples: [{ labels: { "a-b": "1" }, value: 1 }],
      }]),
    RangeError,
  );
});

Deno.test("parseMetrics() reads formatMetrics() back", () => {
  const text = formatMetrics([{
    name: "mutirao_raft_term",
    help: "Term",
    type: "gauge",
    samples: [{ value: 4 }, { labels: { role: "leader" }, value: 1 }],
  }]);
  const parsed = parseMetrics(text);
  assert.equal(parsed.get("mutirao_raft_term"), 4);
  assert.equal(parsed.get('mutirao_raft_term{role="leader"}'), 1);
  assert.throws(() => parseMetrics("not a metric line at all"), SyntaxError);
});

Deno.test("histogramFamily() spells cumulative buckets, +Inf, _sum and _count under one TYPE", () => {
  const h = new Histogram([0.1, 1]);
  for (const seconds of [0.05, 0.5, 3]) h.observe(seconds);
  const text = formatMetrics([
    histogramFamily("mutirao_x_seconds", { help: "x", reading: h.read() }),
  ]);
  assert.match(text, /^# HELP mutirao_x_seconds x\n# TYPE mutirao_x_seconds histogram\n/);
  const m = parseMetrics(text);
  assert.equal(m.get('mutirao_x_seconds_bucket{le="0.1"}'), 1);
  assert.equal(m.get('mutirao_x_seconds_bucket{le="1"}'), 2);
  assert.equal(m.get('mutirao_x_seconds_bucket{le="+Inf"}'), 3);
  assert.equal(m.get("mutirao_x_seconds_sum"), 3.55);
  assert.equal(m.get("mutirao_x_seconds_count"), 3);
});

Deno.test("formatMetrics() refuses a histogram not named in seconds", () => {
  const family = histogramFamily("mutirao_x", { help: "x", reading: new Histogram([1]).read() });
  assert.throws(() => formatMetrics([family]), RangeError);
});
