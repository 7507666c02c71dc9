// Proves that TaskStateMachine.apply() makes every task transition the README describes, fences
// off stale, misdirected and out-of-order reports, and rejects commands that no longer fit.
import assert from "node:assert/strict";
import { InvariantError } from "../../shared/assert.ts";
import type { Outcome, TaskSpec } from "../../shared/protocol/messages.ts";
import type { ApplyResult } from "./commands.ts";
import { findInvariantViolations } from "./invariants.ts";
import { takeSnapshot } from "./state_snapshot.ts";
import { TaskStateMachine } from "./task_state_machine.ts";
import { EXEC, Harness, ORCHESTRATOR, outcome, SLEEP } from "./_task_fixtures_test.ts";
import { historyOf } from "./task_history.ts";

/** Tasks, queue and workers as JSON: what a rejected command must leave exactly as it was. */
function taskState(h: Harness): string {
  const { tasks, queue, workers, counts, rrCursor, nextTaskSeq } = takeSnapshot(h.sm);
  return JSON.stringify({ tasks, queue, workers, counts, rrCursor, nextTaskSeq });
}

function assertRejected(result: ApplyResult, reason: string): void {
  assert.deepEqual(result, { type: "rejected", reason });
}

/** Asserts that `act` is rejected for `reason` and changes no task, queue or worker. */
function assertRejectedUntouched(h: Harness, act: () => ApplyResult, reason: string): void {
  const before = taskState(h);
  assertRejected(act(), reason);
  assert.equal(taskState(h), before, "a rejected command changed the state");
  assert.deepEqual(findInvariantViolations(h.sm), []);
}

/** One worker `w1` running task t-1 (attempt 1), started. */
function runningTask(options: { maxAttempts?: number; started?: boolean } = {}) {
  const h = new Harness();
  h.join("w1");
  const taskId = h.submitTask({ maxAttempts: options.maxAttempts });
  assert.deepEqual(h.assign(taskId, "w1"), { type: "ok" });
  if (options.started ?? true) assert.deepEqual(h.start(taskId), { type: "ok" });
  return { h, taskId, task: h.sm.tasks.get(taskId)! };
}

// ---- submit ----

Deno.test("apply() of taskSubmitted queues task t-1 as attempt 1", () => {
  const h = new Harness();
  const result = h.submit({ owner: "alice", key: "k1", spec: SLEEP, maxAttempts: 2 });
  assert.deepEqual(result, { type: "submitted", taskId: "t-1", duplicate: false });
  const task = h.sm.tasks.get("t-1")!;
  assert.equal(task.state, "queued");
  assert.equal(task.attempt, 1);
  assert.equal(task.owner, "alice");
  assert.equal(task.idempotencyKey, "k1");
  assert.deepEqual(task.spec, SLEEP);
  assert.equal(task.maxAttempts, 2);
  assert.equal(task.workerId, null);
  assert.equal(task.started, false);
  assert.equal(task.submittedAtMs, h.nowMs);
  assert.equal(task.finishedAtMs, null);
  assert.equal(task.result, null);
  assert.deepEqual(historyOf(task), [{
    event: "submitted",
    lamport: h.lamport,
    node: ORCHESTRATOR,
    atMs: h.nowMs,
    attempt: 1,
    workerId: null,
    detail: null,
  }]);
  assert.deepEqual([...h.sm.queue.inOrder()], ["t-1"]);
  assert.equal(h.sm.counts.queued, 1);
  assert.deepEqual(h.sm.ownerTasks.get("alice"), ["t-1"]);
});

Deno.test("apply() of taskSubmitted numbers tasks in order and queues them first in, first out", () => {
  const h = new Harness();
  assert.equal(h.submitTask(), "t-1");
  assert.equal(h.submitTask({ owner: "bob" }), "t-2");
  assert.equal(h.submitTask(), "t-3");
  assert.deepEqual([...h.sm.queue.inOrder()], ["t-1", "t-2", "t-3"]);
  assert.equal(h.sm.counts.queued, 3);
  assert.equal(h.sm.nextTaskSeq, 4);
});

Deno.test("apply() of taskSubmitted with a known owner, key and task returns the same task as a duplicate", () => {
  const h = new Harness();
  h.submit({ owner: "alice", key: "k1", spec: EXEC, maxAttempts: 2 });
  const before = taskState(h);
  // A fresh copy with its fields in another order: equal tasks, whatever their encoding.
  const copy: TaskSpec = { timeoutMs: 5000, argv: ["ls"], description: "ls", kind: "exec" };
  const again = h.submit({ owner: "alice", key: "k1", spec: copy, maxAttempts: 2 });
  assert.deepEqual(again, { type: "submitted", taskId: "t-1", duplicate: true });
  assert.equal(taskState(h), before, "a duplicate submission changed a task");
  assert.equal(h.sm.tasks.size, 1);
  assert.equal(h.sm.stats.duplicateSubmissions, 1);
});

Deno.test("apply() of taskSubmitted rejects a known owner and key reused for a different task", () => {
  const h = new Harness();
  h.submit({ owner: "alice", key: "k1", spec: SLEEP, maxAttempts: 3 });
  const before = taskState(h);
  const reason = "idempotency key k1 was used for task t-1 with a different task; use another key";
  for (
    const change of [
      { spec: EXEC, maxAttempts: 3 },
      { spec: { kind: "sleep", description: "nap", durationMs: 1001 } as TaskSpec, maxAttempts: 3 },
      { spec: { ...SLEEP, description: "other" }, maxAttempts: 3 },
      { spec: SLEEP, maxAttempts: 1 },
    ]
  ) {
    const again = h.submit({ owner: "alice", key: "k1", ...change });
    assert.deepEqual(again, { type: "rejected", reason });
  }
  assert.equal(taskState(h), before, "a refused submission changed a task");
  const argv = h.submit({ owner: "alice", key: "k2", spec: EXEC });
  assert.equal(argv.type, "submitted");
  const longer = h.submit({
    owner: "alice",
    key: "k2",
    spec: { ...EXEC, argv: ["ls", "-l"] } as TaskSpec,
  });
  assert.equal(longer.type, "rejected");
  assert.equal(h.sm.tasks.size, 2);
  assert.equal(h.sm.stats.duplicateSubmissions, 0);
});

Deno.test("apply() of taskSubmitted answers a duplicate with the task even after it finished", () => {
  const { h, taskId } = runningTask();
  h.finish(taskId);
  const again = h.submit({ owner: "alice", key: h.sm.tasks.get(taskId)!.idempotencyKey });
  assert.deepEqual(again, { type: "submitted", taskId, duplicate: true });
  assert.equal(h.sm.counts.queued, 0);
});

Deno.test("apply() of taskSubmitted gives a different owner with the same key a new task", () => {
  const h = new Harness();
  h.submit({ owner: "alice", key: "k1" });
  const other = h.submit({ owner: "bob", key: "k1" });
  assert.deepEqual(other, { type: "submitted", taskId: "t-2", duplicate: false });
  assert.equal(h.sm.stats.duplicateSubmissions, 0);
});

Deno.test("apply() of taskSubmitted gives the same owner with another key a new task", () => {
  const h = new Harness();
  h.submit({ owner: "alice", key: "k1" });
  assert.deepEqual(h.submit({ owner: "alice", key: "k2" }), {
    type: "submitted",
    taskId: "t-2",
    duplicate: false,
  });
});

// ---- assign ----

Deno.test("apply() of taskAssigned moves a queued task to running on the worker", () => {
  const h = new Harness();
  h.join("w1");
  const taskId = h.submitTask();
  assert.deepEqual(h.assign(taskId, "w1"), { type: "ok" });
  const task = h.sm.tasks.get(taskId)!;
  assert.equal(task.state, "running");
  assert.equal(task.workerId, "w1");
  assert.equal(task.started, false);
  assert.equal(task.attempt, 1);
  assert.deepEqual([...h.sm.workers.get("w1")!.running], [taskId]);
  assert.equal(h.sm.queue.size, 0);
  assert.equal(h.sm.rrCursor, "w1");
  assert.deepEqual(h.sm.counts, {
    queued: 0,
    running: 1,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    expired: 0,
  });
  const event = historyOf(task).at(-1)!;
  assert.equal(event.event, "assigned");
  assert.equal(event.workerId, "w1");
  assert.equal(event.lamport, h.lamport);
});

Deno.test("apply() of taskAssigned rejects a worker with no free slot", () => {
  const h = new Harness();
  h.join("w1", { slots: 1 });
  h.assign(h.submitTask(), "w1");
  const second = h.submitTask();
  assertRejectedUntouched(h, () => h.assign(second, "w1"), "worker has no free slot");
});

Deno.test("apply() of taskAssigned rejects a draining worker", () => {
  const h = new Harness();
  h.join("w1");
  assert.deepEqual(h.drain("w1"), { type: "ok" });
  const taskId = h.submitTask();
  assertRejectedUntouched(h, () => h.assign(taskId, "w1"), "worker is draining");
});

Deno.test("apply() of taskAssigned rejects another incarnation of the worker", () => {
  const h = new Harness();
  h.join("w1", { incarnation: "w1-new" });
  const taskId = h.submitTask();
  assertRejectedUntouched(
    h,
    () => h.assign(taskId, "w1", { incarnation: "w1-old" }),
    "worker incarnation is gone",
  );
});

Deno.test("apply() of taskAssigned rejects an unknown worker", () => {
  const h = new Harness();
  const taskId = h.submitTask();
  assertRejectedUntouched(h, () => h.assign(taskId, "w9"), "worker incarnation is gone");
});

Deno.test("apply() of taskAssigned rejects an exec task on a worker without exec", () => {
  const h = new Harness();
  h.join("w1", { canExec: false });
  const taskId = h.submitTask({ spec: EXEC });
  assertRejectedUntouched(h, () => h.assign(taskId, "w1"), "worker does not allow exec");
});

Deno.test("apply() of taskAssigned places an exec task on a worker with exec", () => {
  const h = new Harness();
  h.join("w1", { canExec: true });
  assert.deepEqual(h.assign(h.submitTask({ spec: EXEC }), "w1"), { type: "ok" });
});

Deno.test("apply() of taskAssigned rejects a task that is not queued", () => {
  const { h, taskId } = runningTask();
  h.join("w2");
  assertRejectedUntouched(h, () => h.assign(taskId, "w2"), "task is running");
  h.finish(taskId);
  assertRejectedUntouched(h, () => h.assign(taskId, "w2"), "task is succeeded");
});

Deno.test("apply() of taskAssigned rejects an unknown task", () => {
  const h = new Harness();
  h.join("w1");
  assertRejectedUntouched(h, () => h.assign("t-404", "w1", { attempt: 1 }), "unknown task");
});

Deno.test("apply() of taskAssigned rejects an attempt that is not the task's current one", () => {
  const { h, taskId } = runningTask();
  h.handBack(taskId); // now attempt 2, queued
  assertRejectedUntouched(h, () => h.assign(taskId, "w1", { attempt: 1 }), "stale attempt");
  assert.deepEqual(h.assign(taskId, "w1", { attempt: 2 }), { type: "ok" });
});

// ---- start ----

Deno.test("apply() of taskStarted marks the attempt started, stamped by the worker", () => {
  const { h, task } = runningTask({ started: false });
  assert.deepEqual(h.start(task.id), { type: "ok" });
  assert.equal(task.started, true);
  assert.equal(task.state, "running");
  const event = historyOf(task).at(-1)!;
  assert.equal(event.event, "started");
  assert.equal(event.node, "w1");
  assert.equal(event.workerId, "w1");
  assert.equal(event.attempt, 1);
});

Deno.test("apply() of taskStarted accepts a repeated start of the same attempt without recording it", () => {
  const { h, task } = runningTask();
  const length = historyOf(task).length;
  assert.deepEqual(h.start(task.id), { type: "ok" });
  assert.equal(historyOf(task).length, length);
  assert.equal(h.sm.stats.staleReports, 0);
});

Deno.test("apply() of taskStarted from another worker is rejected as stale and counted", () => {
  const { h, taskId } = runningTask({ started: false });
  h.join("w2");
  assertRejectedUntouched(h, () => h.start(taskId, { workerId: "w2" }), "stale attempt");
  assert.equal(h.sm.stats.staleReports, 1);
  assert.equal(h.sm.tasks.get(taskId)!.started, false);
});

Deno.test("apply() of taskStarted from an old attempt is rejected as stale and counted", () => {
  const { h, taskId } = runningTask();
  h.handBack(taskId);
  h.assign(taskId, "w1");
  assertRejectedUntouched(h, () => h.start(taskId, { attempt: 1 }), "stale attempt");
  assert.equal(h.sm.stats.staleReports, 1);
});

Deno.test("apply() of taskStarted for a task that is not running is stale", () => {
  const h = new Harness();
  const taskId = h.submitTask();
  assertRejectedUntouched(h, () => h.start(taskId, { workerId: "w1" }), "stale attempt");
  assertRejectedUntouched(h, () => h.start("t-404", { workerId: "w1" }), "stale attempt");
  assert.equal(h.sm.stats.staleReports, 2);
});

Deno.test("apply() of taskStarted rejects a Lamport time not after the task's last event", () => {
  const { h, task } = runningTask({ started: false });
  const last = historyOf(task).at(-1)!.lamport;
  for (const lamport of [last, last - 1, 0]) {
    assertRejectedUntouched(
      h,
      () => h.start(task.id, { lamport }),
      "Lamport time not after history",
    );
  }
  assert.equal(task.started, false);
  assert.equal(h.sm.stats.staleReports, 0, "a Lamport rejection is not a stale report");
  assert.deepEqual(h.start(task.id, { lamport: last + 1 }), { type: "ok" });
});

// ---- finish ----

Deno.test("apply() of taskFinished with success frees the slot and records the result", () => {
  const { h, task } = runningTask();
  const result = outcome({ status: "succeeded", durationMs: 40, stdout: "hi" });
  assert.deepEqual(h.finish(task.id, { outcome: result }), { type: "ok" });
  assert.equal(task.state, "succeeded");
  assert.deepEqual(task.result, result);
  assert.equal(task.finishedAtMs, h.nowMs);
  const worker = h.sm.workers.get("w1")!;
  assert.equal(worker.running.size, 0);
  assert.equal(worker.completed, 1);
  assert.deepEqual(h.sm.counts, {
    queued: 0,
    running: 0,
    succeeded: 1,
    failed: 0,
    cancelled: 0,
    expired: 0,
  });
  const event = historyOf(task).at(-1)!;
  assert.equal(event.event, "succeeded");
  assert.equal(event.node, "w1");
  assert.equal(event.detail, "in 40 ms");
});

Deno.test("apply() of taskFinished with failure records the exit code or error", () => {
  const cases: Array<[Partial<Outcome>, string]> = [
    [{ status: "failed", exitCode: 2 }, "exit code 2"],
    [{ status: "failed", exitCode: null, error: "Cannot spawn ls" }, "Cannot spawn ls"],
  ];
  for (const [patch, detail] of cases) {
    const { h, task } = runningTask();
    assert.deepEqual(h.finish(task.id, { outcome: outcome(patch) }), { type: "ok" });
    assert.equal(task.state, "failed");
    assert.equal(historyOf(task).at(-1)!.event, "failed");
    assert.equal(historyOf(task).at(-1)!.detail, detail);
    assert.equal(h.sm.counts.failed, 1);
    assert.equal(h.sm.workers.get("w1")!.completed, 1);
  }
});

Deno.test("apply() of taskFinished accepts a result whose start report never arrived", () => {
  const { h, task } = runningTask({ started: false });
  assert.deepEqual(h.finish(task.id), { type: "ok" });
  assert.equal(task.state, "succeeded");
});

Deno.test("apply() of taskFinished from another worker is rejected as stale and counted", () => {
  const { h, taskId } = runningTask();
  h.join("w2");
  assertRejectedUntouched(h, () => h.finish(taskId, { workerId: "w2" }), "stale attempt");
  assert.equal(h.sm.stats.staleReports, 1);
  assert.equal(h.sm.tasks.get(taskId)!.state, "running");
});

Deno.test("apply() of taskFinished from an old attempt is rejected as stale and counted", () => {
  const { h, taskId } = runningTask();
  h.handBack(taskId);
  h.join("w2");
  h.assign(taskId, "w2");
  assertRejectedUntouched(
    h,
    () => h.finish(taskId, { workerId: "w1", attempt: 1 }),
    "stale attempt",
  );
  assert.equal(h.sm.stats.staleReports, 1);
  assert.deepEqual(h.finish(taskId), { type: "ok" });
  assert.equal(h.sm.workers.get("w2")!.completed, 1);
  assert.equal(h.sm.workers.get("w1")!.completed, 0);
});

Deno.test("apply() of taskFinished twice records the first result only", () => {
  const { h, task } = runningTask();
  h.finish(task.id, { outcome: outcome({ status: "succeeded" }) });
  assertRejectedUntouched(
    h,
    () => h.finish(task.id, { workerId: "w1", attempt: 1, outcome: outcome({ status: "failed" }) }),
    "stale attempt",
  );
  assert.equal(task.state, "succeeded");
  assert.equal(h.sm.workers.get("w1")!.completed, 1);
});

Deno.test("apply() of taskFinished rejects a Lamport time not after the task's last event", () => {
  const { h, task } = runningTask();
  const last = historyOf(task).at(-1)!.lamport;
  assertRejectedUntouched(
    h,
    () => h.finish(task.id, { lamport: last }),
    "Lamport time not after history",
  );
  assert.equal(task.state, "running");
  assert.equal(h.sm.workers.get("w1")!.running.has(task.id), true);
});

// ---- cancel ----

Deno.test("apply() of taskCancelled cancels a queued task and takes it out of the queue", () => {
  const h = new Harness();
  const taskId = h.submitTask();
  const other = h.submitTask();
  assert.deepEqual(h.cancel(taskId, "alice"), { type: "ok" });
  const task = h.sm.tasks.get(taskId)!;
  assert.equal(task.state, "cancelled");
  assert.equal(task.finishedAtMs, h.nowMs);
  assert.deepEqual([...h.sm.queue.inOrder()], [other]);
  assert.equal(historyOf(task).at(-1)!.event, "cancelled");
  assert.equal(historyOf(task).at(-1)!.detail, "by alice");
  assert.deepEqual(h.sm.counts, {
    queued: 1,
    running: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 1,
    expired: 0,
  });
});

Deno.test("apply() of taskCancelled cancels a running task and frees its slot", () => {
  const h = new Harness();
  h.join("w1", { slots: 1 });
  const taskId = h.submitTask();
  h.assign(taskId, "w1");
  assert.deepEqual(h.cancel(taskId), { type: "ok" });
  assert.equal(h.sm.tasks.get(taskId)!.state, "cancelled");
  assert.equal(h.sm.workers.get("w1")!.running.size, 0);
  assert.equal(h.sm.workers.get("w1")!.completed, 0);
  assert.deepEqual(h.assign(h.submitTask(), "w1"), { type: "ok" }, "the slot is free again");
});

Deno.test("apply() of taskCancelled makes the cancelled attempt's late reports stale", () => {
  const { h, taskId } = runningTask();
  h.cancel(taskId);
  assertRejectedUntouched(h, () => h.finish(taskId, { workerId: "w1" }), "stale attempt");
  assert.equal(h.sm.tasks.get(taskId)!.state, "cancelled");
});

Deno.test("apply() of taskCancelled rejects a task already in a final state", () => {
  const { h, taskId } = runningTask();
  h.finish(taskId);
  assertRejectedUntouched(h, () => h.cancel(taskId), "task is already succeeded");
  const other = h.submitTask();
  h.cancel(other);
  assertRejectedUntouched(h, () => h.cancel(other), "task is already cancelled");
});

Deno.test("apply() of taskCancelled rejects an unknown task", () => {
  const h = new Harness();
  assertRejectedUntouched(h, () => h.cancel("t-404"), "unknown task");
});

// ---- hand back ----

Deno.test("apply() of taskHandedBack requeues the task as the next attempt", () => {
  const { h, task } = runningTask();
  assert.deepEqual(h.handBack(task.id, { reason: "shutting down" }), { type: "ok" });
  assert.equal(task.state, "queued");
  assert.equal(task.attempt, 2);
  assert.equal(task.workerId, null);
  assert.equal(task.started, false);
  assert.equal(h.sm.workers.get("w1")!.running.size, 0);
  assert.equal(h.sm.stats.retries, 1);
  const event = historyOf(task).at(-1)!;
  assert.equal(event.event, "requeued");
  assert.equal(event.attempt, 2);
  assert.equal(event.workerId, "w1");
  assert.equal(event.detail, "handed back by w1: shutting down");
});

Deno.test("apply() of taskHandedBack puts the task in the retry queue ahead of fresh tasks", () => {
  const h = new Harness();
  h.join("w1");
  const first = h.submitTask();
  const second = h.submitTask();
  h.assign(first, "w1");
  h.assign(second, "w1");
  const fresh = h.submitTask();
  h.handBack(second);
  h.handBack(first);
  assert.deepEqual([...h.sm.queue.inOrder()], [second, first, fresh]);
  assert.deepEqual(h.sm.queue.toJSON(), { retry: [second, first], fresh: [fresh] });
});

Deno.test("apply() of taskHandedBack on the last attempt fails the task with a Gave up error", () => {
  const { h, task } = runningTask({ maxAttempts: 1 });
  assert.deepEqual(h.handBack(task.id, { reason: "no disk" }), { type: "ok" });
  assert.equal(task.state, "failed");
  assert.equal(task.attempt, 1);
  assert.equal(task.finishedAtMs, h.nowMs);
  assert.equal(task.result?.status, "failed");
  assert.equal(task.result?.error, "Gave up after 1 attempt(s): handed back by w1: no disk");
  assert.equal(h.sm.queue.size, 0);
  assert.equal(h.sm.stats.retries, 0);
  assert.equal(historyOf(task).at(-1)!.event, "failed");
});

Deno.test("apply() of taskHandedBack from a stale attempt is rejected and counted", () => {
  const { h, taskId } = runningTask();
  h.join("w2");
  assertRejectedUntouched(h, () => h.handBack(taskId, { workerId: "w2" }), "stale attempt");
  assertRejectedUntouched(h, () => h.handBack(taskId, { attempt: 2 }), "stale attempt");
  assert.equal(h.sm.stats.staleReports, 2);
});

// ---- workers ----

Deno.test("apply() of workerJoined registers an alive worker with no tasks", () => {
  const h = new Harness();
  assert.deepEqual(h.join("w1", { incarnation: "i7", slots: 3, canExec: true }), { type: "ok" });
  const worker = h.sm.workers.get("w1")!;
  assert.deepEqual({ ...worker, running: [...worker.running] }, {
    id: "w1",
    incarnation: "i7",
    slots: 3,
    prefetch: 0,
    canExec: true,
    execAllow: null,
    kinds: [],
    queues: ["default"],
    status: "alive",
    joinedAtMs: h.nowMs,
    running: [],
    completed: 0,
  });
});

Deno.test("apply() of workerJoined with a new incarnation replaces the old one and requeues its tasks", () => {
  const h = new Harness();
  h.join("w1", { incarnation: "old", slots: 2 });
  const a = h.submitTask();
  const b = h.submitTask();
  h.assign(a, "w1");
  h.assign(b, "w1");
  assert.deepEqual(h.join("w1", { incarnation: "new", slots: 5, canExec: true }), { type: "ok" });
  const worker = h.sm.workers.get("w1")!;
  assert.equal(worker.incarnation, "new");
  assert.equal(worker.slots, 5);
  assert.equal(worker.canExec, true);
  assert.equal(worker.running.size, 0);
  for (const id of [a, b]) {
    const task = h.sm.tasks.get(id)!;
    assert.equal(task.state, "queued");
    assert.equal(task.attempt, 2);
    assert.equal(
      historyOf(task).at(-1)!.detail,
      "worker w1 replaced by a new incarnation of the same worker",
    );
  }
  assert.deepEqual([...h.sm.queue.inOrder()], [a, b]);
  assert.equal(h.sm.stats.retries, 2);
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("apply() of workerJoined for the same incarnation changes nothing", () => {
  const { h, taskId } = runningTask();
  const before = taskState(h);
  assert.deepEqual(h.join("w1", { incarnation: "w1-i1", slots: 9, canExec: true }), {
    type: "ok",
  });
  assert.equal(taskState(h), before);
  assert.equal(h.sm.tasks.get(taskId)!.state, "running");
  assert.equal(h.sm.stats.retries, 0);
});

Deno.test("apply() of workerDraining stops new assignments but lets running tasks finish", () => {
  const { h, taskId } = runningTask();
  assert.deepEqual(h.drain("w1"), { type: "ok" });
  assert.equal(h.sm.workers.get("w1")!.status, "draining");
  const next = h.submitTask();
  assertRejected(h.assign(next, "w1"), "worker is draining");
  assert.deepEqual(h.finish(taskId), { type: "ok" });
  assert.equal(h.sm.tasks.get(taskId)!.state, "succeeded");
});

Deno.test("apply() of workerDraining rejects another incarnation or an unknown worker", () => {
  const h = new Harness();
  h.join("w1");
  assertRejectedUntouched(h, () => h.drain("w1", "w1-i0"), "worker incarnation is gone");
  assertRejectedUntouched(h, () => h.drain("w9", "w9-i1"), "worker incarnation is gone");
  assert.equal(h.sm.workers.get("w1")!.status, "alive");
});

Deno.test("apply() of workerLost requeues all of the worker's tasks as their next attempt", () => {
  const h = new Harness();
  h.join("w1", { slots: 3 });
  h.join("w2");
  const ids = [h.submitTask(), h.submitTask(), h.submitTask()];
  const elsewhere = h.submitTask();
  // Assigned out of submission order: requeueing follows submission order.
  h.assign(ids[2], "w1");
  h.assign(ids[0], "w1");
  h.assign(ids[1], "w1");
  h.assign(elsewhere, "w2");
  h.start(ids[0]);
  assert.deepEqual(h.lose("w1", { reason: "missed heartbeats" }), { type: "ok" });
  assert.equal(h.sm.workers.has("w1"), false);
  for (const id of ids) {
    const task = h.sm.tasks.get(id)!;
    assert.equal(task.state, "queued", id);
    assert.equal(task.attempt, 2, id);
    assert.equal(task.workerId, null, id);
    assert.equal(task.started, false, id);
    assert.equal(historyOf(task).at(-1)!.detail, "worker w1 missed heartbeats");
  }
  assert.deepEqual(h.sm.queue.toJSON(), { retry: ids, fresh: [] });
  assert.equal(h.sm.tasks.get(elsewhere)!.state, "running", "other workers keep their tasks");
  assert.equal(h.sm.stats.retries, 3);
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("apply() of workerLost makes the lost attempt's late result stale", () => {
  const { h, taskId } = runningTask();
  h.lose("w1");
  h.join("w1", { incarnation: "w1-i2" });
  assertRejectedUntouched(
    h,
    () => h.finish(taskId, { workerId: "w1", attempt: 1 }),
    "stale attempt",
  );
  assert.equal(h.sm.stats.staleReports, 1);
});

Deno.test("apply() of workerLost rejects another incarnation and keeps the worker", () => {
  const { h } = runningTask();
  assertRejectedUntouched(
    h,
    () => h.lose("w1", { incarnation: "w1-i0" }),
    "worker incarnation is gone",
  );
  assertRejectedUntouched(h, () => h.lose("w9"), "worker incarnation is gone");
  assert.equal(h.sm.workers.has("w1"), true);
});

Deno.test("apply() of workerLost past maxAttempts fails the task with a Gave up error", () => {
  const h = new Harness();
  const taskId = h.submitTask({ maxAttempts: 3 });
  for (let attempt = 1; attempt <= 3; attempt++) {
    h.join("w1", { incarnation: `w1-i${attempt}` });
    assert.deepEqual(h.assign(taskId, "w1"), { type: "ok" });
    assert.equal(h.sm.tasks.get(taskId)!.attempt, attempt);
    h.lose("w1");
  }
  const task = h.sm.tasks.get(taskId)!;
  assert.equal(task.state, "failed");
  assert.equal(task.attempt, 3);
  assert.deepEqual(task.result, {
    status: "failed",
    exitCode: null,
    stdout: "",
    stderr: "",
    error: "Gave up after 3 attempt(s): worker w1 missed heartbeats",
    durationMs: 0,
  });
  assert.equal(task.finishedAtMs, h.nowMs);
  assert.equal(h.sm.stats.retries, 2);
  assert.deepEqual(h.sm.counts, {
    queued: 0,
    running: 0,
    succeeded: 0,
    failed: 1,
    cancelled: 0,
    expired: 0,
  });
  assert.deepEqual(
    historyOf(task).map((e) => `${e.event}#${e.attempt}`),
    [
      "submitted#1",
      "assigned#1",
      "requeued#2",
      "assigned#2",
      "requeued#3",
      "assigned#3",
      "failed#3",
    ],
  );
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

// ---- log order and Lamport time ----

Deno.test("apply() throws InvariantError for an entry that is not the next index", () => {
  const sm = new TaskStateMachine();
  const noop = { type: "noop" as const, atMs: 0 };
  assert.throws(() => sm.apply({ index: 2, term: 1, command: noop }), InvariantError);
  assert.equal(sm.appliedIndex, 0);
  sm.apply({ index: 1, term: 1, command: noop });
  assert.throws(() => sm.apply({ index: 1, term: 1, command: noop }), InvariantError);
  assert.throws(() => sm.apply({ index: 0, term: 1, command: noop }), InvariantError);
  assert.equal(sm.appliedIndex, 1);
});

Deno.test("apply() throws InvariantError for a term that goes backwards", () => {
  const sm = new TaskStateMachine();
  const noop = { type: "noop" as const, atMs: 0 };
  sm.apply({ index: 1, term: 3, command: noop });
  assert.throws(
    () => sm.apply({ index: 2, term: 2, command: noop }),
    (error: unknown) =>
      error instanceof InvariantError && /term went backwards/.test(error.message),
  );
  assert.equal(sm.appliedIndex, 1);
  assert.equal(sm.appliedTerm, 3);
});

Deno.test("apply() records the applied index and term", () => {
  const h = new Harness();
  h.term = 4;
  h.submitTask();
  h.term = 5;
  h.submitTask();
  assert.equal(h.sm.appliedIndex, 2);
  assert.equal(h.sm.appliedTerm, 5);
});

Deno.test("apply() tracks the highest Lamport time seen, including in rejected commands", () => {
  const h = new Harness();
  h.submitTask();
  assert.equal(h.sm.maxLamport, h.lamport);
  h.lamport += 100;
  h.cancel("t-404");
  assert.equal(h.sm.maxLamport, h.lamport);
  const high = h.sm.maxLamport;
  h.apply({ type: "noop", atMs: 0 });
  h.login("hash", "alice", 1);
  assert.equal(h.sm.maxLamport, high, "commands without a Lamport time do not move it");
});

Deno.test("apply() keeps every task's history in Lamport order", () => {
  const { h, task } = runningTask();
  h.finish(task.id);
  for (let i = 1; i < historyOf(task).length; i++) {
    assert.ok(historyOf(task)[i].lamport > historyOf(task)[i - 1].lamport, `event ${i}`);
  }
});

Deno.test("apply() of noop changes nothing but the applied index", () => {
  const { h } = runningTask();
  const before = taskState(h);
  assert.deepEqual(h.apply({ type: "noop", atMs: 5 }), { type: "ok" });
  assert.equal(taskState(h), before);
});

// ---- sessions ----

Deno.test("sessionUser() returns the user of a session until it expires", () => {
  const h = new Harness();
  assert.deepEqual(h.login("hash-a", "alice", 5000), { type: "ok" });
  assert.equal(h.sm.sessionUser("hash-a", 4999), "alice");
  assert.equal(h.sm.sessionUser("hash-a", 5000), null, "expired at expiresAtMs");
  assert.equal(h.sm.sessionUser("hash-a", 9999), null);
  assert.equal(h.sm.sessionUser("hash-b", 0), null, "unknown token");
});

Deno.test("apply() of sessionOpened for a known token hash replaces the session", () => {
  const h = new Harness();
  h.login("hash-a", "alice", 5000);
  h.login("hash-a", "bob", 8000);
  assert.equal(h.sm.sessionUser("hash-a", 6000), "bob");
});

Deno.test("apply() of sessionClosed ends the session", () => {
  const h = new Harness();
  h.login("hash-a", "alice", 5000);
  h.login("hash-b", "bob", 5000);
  assert.deepEqual(h.logout("hash-a"), { type: "ok" });
  assert.equal(h.sm.sessionUser("hash-a", 0), null);
  assert.equal(h.sm.sessionUser("hash-b", 0), "bob");
  assertRejected(h.logout("hash-a"), "no such session");
});

Deno.test("apply() of sessionOpened sweeps expired sessions every 1024 logins", () => {
  const h = new Harness();
  const farMs = h.nowMs + 1_000_000_000;
  h.login("short", "alice", h.nowMs + 50);
  h.login("long", "bob", farMs);
  // Spread over users: each user holds at most SESSIONS_PER_USER_MAX sessions.
  for (let i = 0; i < 1021; i++) h.login(`live-${i}`, `carol-${i % 20}`, farMs);
  assert.equal(h.sm.loginsSinceSweep, 1023);
  assert.equal(h.sm.sessions.has("short"), true, "expired, but kept until the sweep");
  h.login("last", "carol-0", farMs); // the 1024th login
  assert.equal(h.sm.loginsSinceSweep, 0);
  assert.equal(h.sm.sessions.has("short"), false, "the expired session is swept");
  assert.equal(h.sm.sessions.has("long"), true);
  assert.equal(h.sm.sessions.size, 1023, "1024 logins, one of them expired");
});

Deno.test("apply() of taskFinished that includes the start records started, then the result", () => {
  const h = new Harness();
  h.join("w1");
  const id = h.submitTask();
  h.assign(id, "w1");
  assert.equal(h.finish(id, { workerId: "w1", includesStart: true }).type, "ok");
  const task = h.sm.tasks.get(id)!;
  assert.equal(task.started, true);
  assert.deepEqual(historyOf(task).map((e) => e.event), [
    "submitted",
    "assigned",
    "started",
    "succeeded",
  ]);
  const [started, done] = historyOf(task).slice(-2);
  assert.ok(done.lamport > started.lamport, "in Lamport order");
  assert.equal(started.workerId, "w1");
});

Deno.test("apply() of taskFinished without includesStart (older entries) records no start", () => {
  const h = new Harness();
  h.join("w1");
  const id = h.submitTask();
  h.assign(id, "w1");
  h.finish(id, { workerId: "w1" });
  assert.deepEqual(historyOf(h.sm.tasks.get(id)!).map((e) => e.event), [
    "submitted",
    "assigned",
    "succeeded",
  ]);
});
