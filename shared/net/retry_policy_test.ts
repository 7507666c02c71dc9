// Proves that the shared retry policy backs off from its minimum, doubling after the quick
// failures up to its cap, jitters within [half, whole] of the backoff, gives up only when every
// orchestrator has definitely been down for long enough, and spaces a worker's warnings.
import assert from "node:assert/strict";
import {
  backoffMs,
  CLIENT_RETRY,
  CLUSTER_DOWN_GIVE_UP_MS,
  isClusterDown,
  retryPauseMs,
  type RetryPolicy,
  shouldWarnUnreachable,
  UNREACHABLE_WARNING_INTERVAL_MS,
  WORKER_RECONNECT,
} from "./retry_policy.ts";

const POLICY: RetryPolicy = {
  minMs: 50,
  maxMs: 400,
  quickFailures: 2,
  connectTimeoutMs: 2000,
  welcomeTimeoutMs: 1000,
};

Deno.test("backoffMs() stays at the minimum for the quick failures, then doubles to the cap", () => {
  const pauses = Array.from({ length: 8 }, (_, failures) => backoffMs(POLICY, failures));
  assert.deepEqual(pauses, [50, 50, 50, 100, 200, 400, 400, 400]);
});

Deno.test("backoffMs() never exceeds the cap, however many failures", () => {
  assert.equal(backoffMs(POLICY, 10_000), POLICY.maxMs);
  assert.equal(backoffMs(WORKER_RECONNECT, 1e9), WORKER_RECONNECT.maxMs);
});

Deno.test("retryPauseMs() jitters between half the backoff and all of it", () => {
  const backoff = backoffMs(CLIENT_RETRY, 1);
  assert.equal(retryPauseMs(CLIENT_RETRY, { failures: 1, random: 0 }), backoff / 2);
  assert.equal(retryPauseMs(CLIENT_RETRY, { failures: 1, random: 0.5 }), backoff * 3 / 4);
  assert.ok(retryPauseMs(CLIENT_RETRY, { failures: 1, random: 0.999999 }) <= backoff);
});

Deno.test("isClusterDown() needs every orchestrator down, for long enough", () => {
  const downForMs = CLUSTER_DOWN_GIVE_UP_MS;
  assert.equal(isClusterDown({ downCount: 3, orchestrators: 3, downForMs }), true);
  assert.equal(isClusterDown({ downCount: 2, orchestrators: 3, downForMs }), false);
  assert.equal(
    isClusterDown({ downCount: 3, orchestrators: 3, downForMs: downForMs - 1 }),
    false,
    "a restarting cluster gets its moment",
  );
});

Deno.test("shouldWarnUnreachable() warns once per interval during an outage", () => {
  const every = UNREACHABLE_WARNING_INTERVAL_MS;
  assert.equal(shouldWarnUnreachable({ sinceMs: 0, lastWarnedMs: null, nowMs: every - 1 }), false);
  assert.equal(shouldWarnUnreachable({ sinceMs: 0, lastWarnedMs: null, nowMs: every }), true);
  assert.equal(
    shouldWarnUnreachable({ sinceMs: 0, lastWarnedMs: every, nowMs: 2 * every - 1 }),
    false,
  );
  assert.equal(shouldWarnUnreachable({ sinceMs: 0, lastWarnedMs: every, nowMs: 2 * every }), true);
});
