// Proves that ArrivalWindow turns observed gaps into a phi suspicion level and a silence limit that
// grow with the gaps' spread, forget old gaps beyond its capacity, and handle stalls and resets.
import assert from "node:assert/strict";
import { ArrivalWindow } from "./arrival_window.ts";

function windowWith(gapsMs: number[], capacity?: number): ArrivalWindow {
  const w = new ArrivalWindow({ expectedGapMs: 500, minStdDevMs: 100, capacity });
  let t = 0;
  w.record(t);
  for (const gap of gapsMs) w.record(t += gap);
  return w;
}

Deno.test("ArrivalWindow assumes the expected gap before it has seen any", () => {
  const w = new ArrivalWindow({ expectedGapMs: 500, minStdDevMs: 100 });
  assert.equal(w.meanGapMs(), 500);
  assert.equal(w.stdDevMs(), 100);
  assert.equal(w.lastMs, null);
});

Deno.test("ArrivalWindow.phi() is zero up to the mean gap and rises with the silence", () => {
  const w = windowWith(Array(10).fill(500));
  assert.equal(w.phi(400), 0);
  assert.equal(w.phi(500), 0);
  assert.ok(w.phi(700) < w.phi(900));
  assert.ok(w.phi(2000) > 8);
  assert.ok(Number.isFinite(w.phi(1e9)), "phi stays finite however long the silence");
});

Deno.test("ArrivalWindow.silenceLimitMs() is where phi crosses the threshold", () => {
  const w = windowWith(Array(10).fill(500));
  const limit = w.silenceLimitMs(8);
  assert.ok(Math.abs(w.phi(limit) - 8) < 1e-6, `phi at ${limit} ms is ${w.phi(limit)}`);
  assert.ok(limit > 1000 && limit < 1050, `about mean + 5.2 floor deviations, got ${limit}`);
});

Deno.test("ArrivalWindow widens the limit for gaps that vary more", () => {
  const steady = windowWith(Array(20).fill(500));
  const erratic = windowWith(Array.from({ length: 20 }, (_, i) => i % 2 === 0 ? 200 : 800));
  assert.equal(steady.meanGapMs(), erratic.meanGapMs());
  assert.equal(erratic.stdDevMs(), 300);
  assert.ok(erratic.silenceLimitMs(8) > steady.silenceLimitMs(8) + 1000);
});

Deno.test("ArrivalWindow forgets gaps beyond its capacity", () => {
  const w = windowWith([...Array(10).fill(2000), ...Array(4).fill(500)], 4);
  assert.equal(w.size, 4);
  assert.equal(w.meanGapMs(), 500);
});

Deno.test("ArrivalWindow.record() ignores a sign of life no later than the last one", () => {
  const w = windowWith([500]);
  w.record(200);
  w.record(500);
  assert.equal(w.size, 1);
  assert.equal(w.lastMs, 500);
});

Deno.test("ArrivalWindow.reset() moves the last sighting without observing a gap", () => {
  const w = windowWith([500]);
  w.reset(5000);
  assert.equal(w.size, 1);
  assert.equal(w.lastMs, 5000);
  w.reset(100);
  assert.equal(w.lastMs, 5000, "never moves back");
});

Deno.test("ArrivalWindow.shift() moves the last sighting later, never past now", () => {
  const w = windowWith([500]);
  w.shift(300, 10_000);
  assert.equal(w.lastMs, 800);
  w.shift(10_000, 2000);
  assert.equal(w.lastMs, 2000);
});
