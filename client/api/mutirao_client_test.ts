// Proves that the client's silence limit (how long an orchestrator may stay silent while a reply is
// owed) is learnt from the keepalives' observed gaps: three default intervals until a few gaps
// are known, then about the interval plus half a second when they are steady, more when they vary.
import assert from "node:assert/strict";
import { ArrivalWindow } from "../../shared/arrival_window.ts";
import { silenceLimitMs } from "./mutirao_client.ts";

function keepalives(gapsMs: number[]): ArrivalWindow {
  const window = new ArrivalWindow({ expectedGapMs: 500, minStdDevMs: 100 });
  let t = 1_000_000;
  window.record(t);
  for (const gap of gapsMs) window.record(t += gap);
  return window;
}

Deno.test("silenceLimitMs() is 1.5 s until a few keepalive gaps are known", () => {
  assert.equal(silenceLimitMs(keepalives([])), 1500);
  assert.equal(silenceLimitMs(keepalives([500, 500])), 1500);
});

Deno.test("silenceLimitMs() leaves a steady 500 ms keepalive stream after about 1 s", () => {
  const limit = silenceLimitMs(keepalives(Array(20).fill(500)));
  assert.ok(limit > 1000 && limit < 1100, `limit ${limit} ms`);
});

Deno.test("silenceLimitMs() waits longer for keepalives that arrive erratically", () => {
  const steady = silenceLimitMs(keepalives(Array(20).fill(500)));
  const erratic = silenceLimitMs(
    keepalives(Array.from({ length: 20 }, (_, i) => i % 2 === 0 ? 200 : 800)),
  );
  assert.ok(erratic > steady + 1000, `erratic ${erratic} ms, steady ${steady} ms`);
});

Deno.test("silenceLimitMs() never falls below one and a half observed intervals", () => {
  // A slow interval (5 s): the spread floor alone would allow only about 5.5 s.
  assert.equal(silenceLimitMs(keepalives(Array(20).fill(5000))), 7500);
});
