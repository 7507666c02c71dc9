// Proves the token bucket: a burst up front, then the steady rate, per key, with the wait reported.
import assert from "node:assert/strict";
import { RateLimiter } from "./rate_limiter.ts";

Deno.test("RateLimiter allows a burst, then refuses with the time until tokens return", () => {
  const r = new RateLimiter({ ratePerSec: 10, burst: 20 });
  assert.deepEqual(r.take("alice", 20, 0), { ok: true });
  assert.deepEqual(r.take("alice", 1, 0), { ok: false, retryAfterMs: 100 });
  assert.deepEqual(r.take("alice", 5, 500), { ok: true }, "half a second refills 5");
  assert.deepEqual(r.take("bob", 20, 500), { ok: true }, "keys are independent");
});

Deno.test("RateLimiter refuses for good what can never fit, and rate 0 means unlimited", () => {
  const r = new RateLimiter({ ratePerSec: 10, burst: 20 });
  assert.equal((r.take("alice", 21, 0) as { retryAfterMs: number }).retryAfterMs, Infinity);
  const unlimited = new RateLimiter({ ratePerSec: 0, burst: 0 });
  assert.deepEqual(unlimited.take("alice", 1e9, 0), { ok: true });
});
