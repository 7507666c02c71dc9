// Proves login throttling: free attempts, then exponential waits, a lockout after many failures,
// per-key independence, reset on success, and a bounded table.
import assert from "node:assert/strict";
import { LoginThrottle } from "./login_throttle.ts";

const OPTIONS = {
  freeFailures: 2,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  lockoutFailures: 6,
  lockoutMs: 10_000,
};

Deno.test("LoginThrottle allows the free failures, then doubles the wait, capped", () => {
  const t = new LoginThrottle(OPTIONS);
  const k = ["user:a"];
  t.recordFailure(k, 0);
  t.recordFailure(k, 0);
  assert.equal(t.waitMs(k, 0), 0, "two free failures");
  t.recordFailure(k, 0);
  assert.equal(t.waitMs(k, 0), 100);
  t.recordFailure(k, 100);
  assert.equal(t.waitMs(k, 100), 200);
  t.recordFailure(k, 300);
  assert.equal(t.waitMs(k, 300), 400);
  assert.equal(t.waitMs(k, 700), 0, "the wait ends");
});

Deno.test("LoginThrottle locks a key out after many failures, then lets it try again", () => {
  const t = new LoginThrottle(OPTIONS);
  const k = ["addr:10.0.0.1"];
  for (let i = 0; i < 6; i++) t.recordFailure(k, 0);
  assert.equal(t.waitMs(k, 0), 10_000);
  assert.equal(t.waitMs(k, 9_999), 1);
  assert.equal(t.waitMs(k, 10_000), 0);
});

Deno.test("LoginThrottle waits for the most restricted of several keys", () => {
  const t = new LoginThrottle(OPTIONS);
  for (let i = 0; i < 4; i++) t.recordFailure(["user:a", "addr:x"], 0);
  assert.equal(t.waitMs(["user:b", "addr:x"], 0), 200, "another user from the same address waits");
  assert.equal(t.waitMs(["user:b", "addr:y"], 0), 0);
});

Deno.test("LoginThrottle clears a key on success", () => {
  const t = new LoginThrottle(OPTIONS);
  for (let i = 0; i < 5; i++) t.recordFailure(["user:a"], 0);
  t.recordSuccess(["user:a"]);
  assert.equal(t.waitMs(["user:a"], 0), 0);
  t.recordFailure(["user:a"], 0);
  assert.equal(t.waitMs(["user:a"], 0), 0, "counting starts over");
});

Deno.test("LoginThrottle forgets the oldest keys beyond its bound", () => {
  const t = new LoginThrottle({ ...OPTIONS, freeFailures: 0, maxKeys: 3 });
  for (const key of ["a", "b", "c", "d"]) t.recordFailure([key], 0);
  assert.equal(t.waitMs(["a"], 0), 0, "a was evicted");
  assert.equal(t.waitMs(["d"], 0), 100);
});
