// Proves tasks that run after others (`--after`): a task waits out of the dispatch queue until
// every task it names succeeded, fails as dependency_failed as soon as one fails or is cancelled
// (and so do the tasks waiting for it, down a chain), may only name its owner's kept tasks, and
// keeps all of this across a snapshot.
import assert from "node:assert/strict";
import { Harness, outcome } from "./_task_fixtures_test.ts";
import { decodeSnapshot, encodeSnapshot, restoreSnapshot } from "./state_snapshot.ts";
import { findInvariantViolations } from "./invariants.ts";
import { historyOf } from "./task_history.ts";

function run(h: Harness, taskId: string, ok = true): void {
  assert.deepEqual(h.assign(taskId, "w1"), { type: "ok" });
  h.finish(taskId, { outcome: ok ? outcome() : outcome({ status: "failed", error: "boom" }) });
}

Deno.test("a task waits until every task it runs after succeeded, then joins the queue", () => {
  const h = new Harness();
  h.join("w1", { slots: 4 });
  const a = h.submitTask();
  const b = h.submitTask();
  const c = h.submitTask({ after: [a, b] });
  assert.deepEqual([...h.sm.queue.inOrder()], [a, b]);
  assert.deepEqual(h.assign(c, "w1"), {
    type: "rejected",
    reason: "task waits for the tasks it runs after",
  });
  run(h, a);
  assert.deepEqual(h.sm.tasks.get(c)!.waitingFor, [b]);
  assert.ok(!h.sm.queue.has(c));
  run(h, b);
  assert.deepEqual(h.sm.tasks.get(c)!.waitingFor, []);
  assert.deepEqual([...h.sm.queue.inOrder()], [c]);
  run(h, c);
  assert.equal(h.sm.tasks.get(c)!.state, "succeeded");
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("a failed or cancelled dependency fails its chain as dependency_failed", () => {
  const h = new Harness();
  h.join("w1", { slots: 4 });
  const a = h.submitTask();
  const b = h.submitTask({ after: [a] });
  const c = h.submitTask({ after: [b] });
  const other = h.submitTask();
  const d = h.submitTask({ after: [other] });
  run(h, a, false);
  for (const [id, failedBy] of [[b, a], [c, b]]) {
    const task = h.sm.tasks.get(id)!;
    assert.equal(task.state, "failed");
    assert.equal(task.result?.dependencyFailed, failedBy);
    assert.equal(task.result?.error, `dependency_failed: task ${failedBy} failed`);
    assert.deepEqual(historyOf(task).map((e) => e.event), ["submitted", "failed"]);
  }
  h.cancel(other);
  assert.equal(h.sm.tasks.get(d)!.result?.error, `dependency_failed: task ${other} cancelled`);
  // Submitted after its dependency already failed: it fails at once.
  const late = h.submitTask({ after: [a] });
  assert.equal(h.sm.tasks.get(late)!.state, "failed");
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("a task may run only after its owner's tasks that the cluster keeps", () => {
  const h = new Harness();
  const mine = h.submitTask({ owner: "alice" });
  const theirs = h.submitTask({ owner: "bob" });
  const refused = /does not exist, is not yours, or is no longer kept/;
  for (const after of [[theirs], ["t-999"], [mine, theirs]]) {
    const result = h.submit({ owner: "alice", after });
    assert.equal(result.type, "rejected");
    assert.match(result.type === "rejected" ? result.reason : "", refused);
  }
  assert.equal(h.submit({ owner: "alice", after: [mine] }).type, "submitted");
});

Deno.test("cancelling a waiting task needs no dispatch queue, and fails what waits for it", () => {
  const h = new Harness();
  const a = h.submitTask();
  const b = h.submitTask({ after: [a] });
  const c = h.submitTask({ after: [b] });
  assert.deepEqual(h.cancel(b), { type: "ok" });
  assert.equal(h.sm.tasks.get(c)!.state, "failed");
  assert.deepEqual(h.sm.tasks.get(b)!.waitingFor, []);
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("waits survive a snapshot: the restored state releases and fails the same tasks", () => {
  const h = new Harness();
  h.join("w1", { slots: 4 });
  const a = h.submitTask();
  const b = h.submitTask();
  const c = h.submitTask({ after: [a, b] });
  const d = h.submitTask({ after: [c] });
  run(h, a);
  const restored = new Harness(restoreSnapshot(decodeSnapshot(encodeSnapshot(h.sm))));
  restored.nowMs = h.nowMs;
  restored.lamport = h.lamport;
  assert.deepEqual(restored.sm.tasks.get(c), h.sm.tasks.get(c));
  assert.deepEqual(restored.sm.tasks.get(c)!.waitingFor, [b]);
  for (const harness of [h, restored]) {
    run(harness, b);
    run(harness, c, false);
    assert.equal(harness.sm.tasks.get(d)!.result?.dependencyFailed, c);
    assert.deepEqual(findInvariantViolations(harness.sm), []);
  }
});
