// The tasksRemoved command: finished tasks go with their keys; active, unknown and already removed
// ones are skipped alike on every replica; removed ids are told apart from ids never issued.
import assert from "node:assert/strict";
import { Harness, outcome } from "./_task_fixtures_test.ts";
import { listTaskPage } from "./views.ts";
import { restoreSnapshot, takeSnapshot } from "./state_snapshot.ts";
import { findInvariantViolations } from "./invariants.ts";
import { IdQueue } from "./finished_order.ts";

/** t-1 succeeded, t-2 cancelled, t-3 running on w1, t-4 queued; all alice's. */
function mixedState(): Harness {
  const h = new Harness();
  h.join("w1", { slots: 1 });
  const [a, b, c] = [h.submitTask(), h.submitTask(), h.submitTask(), h.submitTask()];
  h.assign(a, "w1");
  h.finish(a, { outcome: outcome() });
  h.cancel(b);
  h.assign(c, "w1");
  return h;
}

Deno.test("tasksRemoved removes finished tasks and their keys, and skips active and unknown ones", () => {
  const h = mixedState();
  const result = h.remove(["t-1", "t-2", "t-3", "t-4", "t-404", "t-1"]);
  assert.deepEqual(result, { type: "removed", removed: 2 });
  assert.deepEqual([...h.sm.tasks.keys()], ["t-3", "t-4"]);
  assert.deepEqual(h.sm.counts, {
    queued: 1,
    running: 1,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    expired: 0,
  });
  assert.equal(h.sm.retainedTasksOf("alice"), 2);
  assert.equal(h.sm.idempotency.get("alice", "key-1"), undefined);
  assert.deepEqual(findInvariantViolations(h.sm), []);
  // The key is free again: the same submission is a new task, not a duplicate of the removed one.
  const again = h.submit({ key: "key-1" });
  assert.deepEqual(again, { type: "submitted", taskId: "t-5", duplicate: false });
});

Deno.test("isRemovedTask() tells a removed id from one never issued", () => {
  const h = mixedState();
  h.remove(["t-1"]);
  assert.equal(h.sm.isRemovedTask("t-1"), true);
  assert.equal(h.sm.isRemovedTask("t-3"), false); // still there
  assert.equal(h.sm.isRemovedTask("t-5"), false); // not issued yet
  assert.equal(h.sm.isRemovedTask("t-0"), false);
  assert.equal(h.sm.isRemovedTask("x-1"), false);
  assert.equal(h.sm.isRemovedTask("t-03"), false); // t-3 is live: "t-03" names nothing
});

Deno.test("lists skip removed tasks and count what is retained", () => {
  const h = mixedState();
  h.remove(["t-1", "t-2"]);
  const page = listTaskPage(h.sm, { owner: "alice", limit: 10 });
  assert.deepEqual(page.tasks.map((t) => t.id), ["t-4", "t-3"]);
  assert.equal(page.total, 2);
  assert.equal(listTaskPage(h.sm, { owner: null, limit: 10 }).total, 2);
  assert.equal(listTaskPage(h.sm, { owner: null, limit: 1, after: "t-4" }).tasks[0].id, "t-3");
});

Deno.test("a snapshot taken after removals restores the same state, and the same finish order", () => {
  const h = mixedState();
  h.remove(["t-2"]);
  h.finish("t-3", { outcome: outcome() });
  const restored = restoreSnapshot(structuredClone(takeSnapshot(h.sm)));
  assert.deepEqual(takeSnapshot(restored), takeSnapshot(h.sm));
  const live = (sm: typeof h.sm) => [...sm.finishedOrder.all.live((id) => sm.tasks.has(id))];
  assert.deepEqual(live(restored), live(h.sm));
  assert.deepEqual(live(restored), ["t-1", "t-3"]);
  assert.equal(restored.isRemovedTask("t-2"), true);
});

Deno.test("IdQueue drops a dead head and compacts once most of it is gone, in order", () => {
  const queue = new IdQueue();
  const live = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    queue.push(`t-${i}`);
    live.add(`t-${i}`);
  }
  for (let i = 0; i < 100; i++) live.delete(`t-${i}`); // a run at the front
  queue.prune((id) => live.has(id), live.size);
  assert.equal(queue.length, 9900);
  for (let i = 100; i < 10_000; i++) if (i % 10 !== 0) live.delete(`t-${i}`); // scattered
  queue.prune((id) => live.has(id), live.size);
  assert.equal(queue.length, live.size);
  assert.deepEqual([...queue.live((id) => live.has(id))], [...live]);
});

Deno.test("IdQueue stays bounded when ids leave at the front as fast as they join at the back", () => {
  // Retention's steady state: a sliding window of live ids; the array behind the head must go.
  const queue = new IdQueue();
  const live = new Set<string>();
  const window = 1000;
  for (let i = 0; i < 200_000; i++) {
    queue.push(`t-${i}`);
    live.add(`t-${i}`);
    if (i >= window) live.delete(`t-${i - window}`);
    if (i % 100 === 0) queue.prune((id) => live.has(id), live.size);
  }
  assert.ok(queue.capacityUsed < 4 * window, `the queue holds ${queue.capacityUsed} slots`);
  assert.deepEqual([...queue.live((id) => live.has(id))], [...live]);
});
