// Proves queue timeouts: a queued task not assigned by its deadline ends expired (a final state,
// with what waited for it failing), one assigned in time no longer expires, an expiry named
// before the deadline or for an assigned task is skipped, and deadlines survive a snapshot.
import assert from "node:assert/strict";
import { Harness } from "./_task_fixtures_test.ts";
import { decodeSnapshot, encodeSnapshot, restoreSnapshot } from "./state_snapshot.ts";
import { findInvariantViolations } from "./invariants.ts";
import { historyOf } from "./task_history.ts";
import { QueueDeadlines } from "./queue_deadlines.ts";

Deno.test("QueueDeadlines hands out due tasks earliest first and forgets deleted ones", () => {
  const deadlines = new QueueDeadlines();
  deadlines.add("t-1", 300);
  deadlines.add("t-2", 100);
  deadlines.add("t-3", 100);
  deadlines.add("t-4", 900);
  deadlines.delete("t-3");
  assert.deepEqual(deadlines.due(300, 10), ["t-2", "t-1"]);
  assert.deepEqual(deadlines.due(1000, 2), ["t-2", "t-1"]);
  assert.equal(deadlines.size, 3);
  assert.ok(!deadlines.has("t-3"));
});

Deno.test("a task not assigned by its queue deadline expires; its dependents fail", () => {
  const h = new Harness();
  const late = h.submitTask({ queueDeadlineMs: h.nowMs + 500 });
  const next = h.submitTask({ after: [late] });
  // Named before its deadline: skipped.
  assert.deepEqual(h.expire([late]), { type: "expired", expired: 0 });
  h.nowMs += 1000;
  assert.deepEqual(h.sm.queueDeadlines.due(h.nowMs, 10), [late]);
  assert.deepEqual(h.expire([late]), { type: "expired", expired: 1 });
  const task = h.sm.tasks.get(late)!;
  assert.equal(task.state, "expired");
  assert.equal(h.sm.counts.expired, 1);
  assert.match(historyOf(task).at(-1)!.detail!, /not started by .*Z \(--queue-timeout\)/);
  assert.ok(!h.sm.queue.has(late));
  assert.equal(h.sm.tasks.get(next)!.result?.error, `dependency_failed: task ${late} expired`);
  assert.deepEqual(h.sm.endedByLastApply, [late, next]);
  // Submitted after its dependency expired: it fails at once.
  const after = h.submitTask({ after: [late] });
  assert.equal(h.sm.tasks.get(after)!.result?.dependencyFailed, late);
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("a task assigned in time never expires, even when requeued later", () => {
  const h = new Harness();
  h.join("w1");
  const id = h.submitTask({ queueDeadlineMs: h.nowMs + 500 });
  h.assign(id, "w1");
  h.lose("w1");
  assert.equal(h.sm.tasks.get(id)!.state, "queued");
  h.nowMs += 1000;
  assert.deepEqual(h.sm.queueDeadlines.due(h.nowMs, 10), []);
  assert.deepEqual(h.expire([id]), { type: "expired", expired: 0 });
  assert.equal(h.sm.tasks.get(id)!.state, "queued");
});

Deno.test("queue deadlines survive a snapshot", () => {
  const h = new Harness();
  const waiting = h.submitTask({ queueDeadlineMs: h.nowMs + 500 });
  const restored = restoreSnapshot(decodeSnapshot(encodeSnapshot(h.sm)));
  assert.equal(
    restored.tasks.get(waiting)!.queueDeadlineMs,
    h.sm.tasks.get(waiting)!.queueDeadlineMs,
  );
  assert.deepEqual(restored.queueDeadlines.due(h.nowMs + 1000, 10), [waiting]);
});
