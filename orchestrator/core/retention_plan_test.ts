// planRemovals() on its own: which finished tasks a policy gives up, oldest first, in batches.
import assert from "node:assert/strict";
import { Harness } from "../tasks/_task_fixtures_test.ts";
import {
  DEFAULT_RETENTION,
  planRemovals,
  type RetentionPolicy,
  RetentionRounds,
} from "./retention.ts";

/** Cancelled tasks (finished 10 ms apart, from t = 1,000,010 ms) of the owners given, in order. */
function finished(owners: string[]): Harness {
  const h = new Harness();
  for (const owner of owners) h.cancel(h.submitTask({ owner }), owner);
  return h;
}

function policy(patch: Partial<RetentionPolicy>): RetentionPolicy {
  return { ...DEFAULT_RETENTION, keepFinishedForMs: 0, keepFinishedTasks: 0, ...patch };
}

Deno.test("planRemovals() keeps everything when both limits are 0", () => {
  const h = finished(["a", "b", "a"]);
  assert.deepEqual(planRemovals(h.sm, policy({}), h.nowMs + 1e9), []);
});

Deno.test("planRemovals() takes tasks older than the age limit, and no queued ones", () => {
  const h = finished(["a", "b", "a"]);
  h.submitTask({ owner: "a" }); // queued, never chosen
  const t3Finished = h.sm.tasks.get("t-3")!.finishedAtMs!;
  const chosen = planRemovals(h.sm, policy({ keepFinishedForMs: 100 }), t3Finished + 99);
  assert.deepEqual(chosen.sort(), ["t-1", "t-2"]);
  assert.deepEqual(
    planRemovals(h.sm, policy({ keepFinishedForMs: 100 }), t3Finished + 1e9).sort(),
    ["t-1", "t-2", "t-3"],
  );
});

Deno.test("planRemovals() removes the oldest beyond the cluster's count, and respects the batch", () => {
  const h = finished(["a", "b", "a", "b", "a"]);
  assert.deepEqual(planRemovals(h.sm, policy({ keepFinishedTasks: 2 }), h.nowMs), [
    "t-1",
    "t-2",
    "t-3",
  ]);
  assert.deepEqual(planRemovals(h.sm, policy({ keepFinishedTasks: 2 }), h.nowMs, 2), [
    "t-1",
    "t-2",
  ]);
});

Deno.test("planRemovals(): a user's own count limit replaces the cluster's for that user alone", () => {
  const h = finished(["auditor", "a", "auditor", "a", "a"]);
  // The auditor keeps everything (own limit 0 = none); everyone else shares a limit of 1.
  const chosen = planRemovals(
    h.sm,
    policy({ keepFinishedTasks: 1, users: { auditor: { keepFinishedTasks: 0 } } }),
    h.nowMs,
  );
  assert.deepEqual(chosen, ["t-2", "t-4"]);
  // A user limited to 1 loses their older tasks; the cluster's limit no longer counts them.
  const own = planRemovals(
    h.sm,
    policy({ keepFinishedTasks: 3, users: { auditor: { keepFinishedTasks: 1 } } }),
    h.nowMs,
  );
  assert.deepEqual(own, ["t-1"]);
});

Deno.test("RetentionRounds: one removal in flight; again at once after a full batch, else after the interval", () => {
  const rounds = new RetentionRounds();
  assert.ok(rounds.due(0, 1000));
  rounds.swept(0, 1000, 1000, 7); // a full batch proposed at index 7
  assert.ok(!rounds.due(10, 1000), "due while a removal is in flight");
  rounds.applied(7);
  assert.ok(rounds.due(10, 1000), "a backlog must not wait for the interval");
  rounds.swept(10, 3, 1000, 9);
  rounds.applied(9);
  assert.ok(!rounds.due(500, 1000));
  assert.ok(rounds.due(1010, 1000));
  rounds.swept(1010, 5, 1000, 12);
  rounds.clear(); // leadership lost: the proposal may never apply
  assert.ok(rounds.due(2010, 1000));
});

Deno.test("planRemovals(): with user limits, the cluster's count still takes the oldest across everyone else", () => {
  const h = finished(["auditor", "a", "b", "auditor", "a", "b"]);
  const chosen = planRemovals(
    h.sm,
    policy({ keepFinishedTasks: 2, users: { auditor: { keepFinishedTasks: 0 } } }),
    h.nowMs,
  );
  assert.deepEqual(chosen, ["t-2", "t-3"]);
});
