// Proves that OutcomePool shares only outcomes that carry nothing of their own: equal plain
// outcomes become one frozen copy, and anything a task owns (output, error, a result) is kept.
import assert from "node:assert/strict";
import type { Outcome } from "../../shared/protocol/messages.ts";
import { OutcomePool } from "./_outcome_pool.ts";

const PLAIN: Outcome = {
  status: "succeeded",
  exitCode: null,
  stdout: "",
  stderr: "",
  error: null,
  durationMs: 3,
};

Deno.test("OutcomePool.share() gives equal plain outcomes one frozen copy", () => {
  const pool = new OutcomePool();
  const first = pool.share({ ...PLAIN });
  assert.equal(pool.share({ ...PLAIN }), first);
  assert.ok(Object.isFrozen(first));
  assert.deepEqual(first, PLAIN);
});

Deno.test("OutcomePool.share() keeps an outcome with a result value or a timeout as it is", () => {
  const pool = new OutcomePool();
  const withValue: Outcome = { ...PLAIN, value: "5" };
  assert.equal(pool.share(withValue), withValue);
  assert.equal(pool.share({ ...PLAIN }).value, undefined, "the pool holds no value");
  const timedOut: Outcome = { ...PLAIN, status: "failed", timedOut: true };
  assert.equal(pool.share(timedOut), timedOut);
});
