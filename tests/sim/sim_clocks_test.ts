// Proves that each simulated machine's clock stays within the documented skew and drift bounds,
// never goes backwards or below 0, and depends only on the seed and the machine's name.
import assert from "node:assert/strict";
import { CLOCK_DRIFT_MAX_PPM, CLOCK_SKEW_MAX_MS, SimClocks } from "./sim_clocks.ts";

Deno.test("SimClocks gives every machine a clock within the bounds, steady and repeatable", () => {
  const names = Array.from({ length: 200 }, (_, i) => `o${i}`);
  for (const seed of [1, 42, 8112693]) {
    const clocks = new SimClocks(seed);
    const again = new SimClocks(seed);
    for (const name of [...names].reverse()) again.errorOf(name); // another order of draws
    for (const name of names) {
      const { skewMs, driftPpm } = clocks.errorOf(name);
      assert.ok(Math.abs(skewMs) <= CLOCK_SKEW_MAX_MS && Math.abs(driftPpm) <= CLOCK_DRIFT_MAX_PPM);
      assert.deepEqual(again.errorOf(name), clocks.errorOf(name));
      let previous = -1;
      for (const trueMs of [0, 1, 2, 1_000, 60_000, 600_000]) {
        const wallMs = clocks.wallMs(name, trueMs);
        assert.ok(wallMs >= 0 && wallMs >= previous, `${name} at ${trueMs}: ${wallMs}`);
        const boundMs = 2 * CLOCK_SKEW_MAX_MS + (trueMs * CLOCK_DRIFT_MAX_PPM) / 1e6 + 1;
        assert.ok(Math.abs(wallMs - trueMs) <= boundMs);
        previous = wallMs;
      }
    }
  }
});

Deno.test("SimClocks disabled reads true time", () => {
  assert.equal(new SimClocks(7, { enabled: false }).wallMs("o1", 12_345), 12_345);
});
