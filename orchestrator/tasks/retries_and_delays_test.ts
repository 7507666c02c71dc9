// Proves the state machine's retry policy (a failed attempt queued again after its backoff, never
// after success, never past its retries, never out of the budget for lost workers), its delays
// (a timed task is not assigned before its time, on every replica by the leader's stamp), and
// handler kinds (a handler task goes only to a worker serving its kind).
import assert from "node:assert/strict";
import { Harness, outcome } from "./_task_fixtures_test.ts";
import { decodeSnapshot, encodeSnapshot, restoreSnapshot } from "./state_snapshot.ts";
import { findInvariantViolations } from "./invariants.ts";
import { historyOf } from "./task_history.ts";
import type { TaskSpec } from "../../shared/protocol/messages.ts";

const FIXED = { retries: 2, backoff: "fixed", delayMs: 500, maxDelayMs: 500 } as const;
const ADD: TaskSpec = { kind: "handler", handler: "add", description: "", payload: '{"a":1}' };
const failed = outcome({ status: "failed", error: "boom" });

function runOnce(h: Harness, taskId: string, workerId = "w1") {
  h.nowMs = Math.max(h.nowMs, h.sm.tasks.get(taskId)!.notBeforeMs);
  assert.deepEqual(h.assign(taskId, workerId), { type: "ok" });
}

Deno.test("a failed attempt is retried after its backoff, and the last failure ends the task", () => {
  const h = new Harness();
  h.join("w1");
  const id = h.submitTask({ retry: FIXED });
  for (let attempt = 1; attempt <= 2; attempt++) {
    runOnce(h, id);
    assert.deepEqual(h.finish(id, { outcome: failed }), { type: "ok" });
    const task = h.sm.tasks.get(id)!;
    assert.equal(task.state, "queued");
    assert.equal(task.attempt, attempt + 1);
    assert.equal(task.retried, attempt);
    assert.equal(task.result, null);
    assert.equal(task.notBeforeMs, h.nowMs + 500);
    // Not before its time: the leader's stamp decides, the same on every replica.
    assert.deepEqual(h.assign(id, "w1"), { type: "rejected", reason: "task is not due yet" });
  }
  runOnce(h, id);
  h.finish(id, { outcome: failed });
  const task = h.sm.tasks.get(id)!;
  assert.equal(task.state, "failed");
  assert.equal(task.result?.error, "boom");
  const events = historyOf(task).map((e) => e.event);
  assert.deepEqual(events.filter((e) => e === "retrying").length, 2);
  assert.match(
    historyOf(task).find((e) => e.event === "retrying")!.detail!,
    /boom; retry 1 of 2 in 0.5 s/,
  );
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("a task that succeeds is never retried, and one without a policy fails at once", () => {
  const h = new Harness();
  h.join("w1");
  const lucky = h.submitTask({ retry: FIXED });
  runOnce(h, lucky);
  h.finish(lucky);
  assert.equal(h.sm.tasks.get(lucky)!.state, "succeeded");
  const plain = h.submitTask();
  runOnce(h, plain);
  h.finish(plain, { outcome: failed });
  assert.equal(h.sm.tasks.get(plain)!.state, "failed");
  assert.equal(h.sm.tasks.get(plain)!.retried, 0);
});

Deno.test("lost workers do not burn retries, and retries do not burn the budget for lost workers", () => {
  const h = new Harness();
  h.join("w1");
  const id = h.submitTask({ retry: { ...FIXED, delayMs: 0 }, maxAttempts: 2 });
  runOnce(h, id);
  h.finish(id, { outcome: failed }); // retry 1
  runOnce(h, id);
  h.finish(id, { outcome: failed }); // retry 2
  runOnce(h, id);
  h.lose("w1"); // attempt 3 lost: the first loss of maxAttempts 2
  const task = h.sm.tasks.get(id)!;
  assert.equal(task.state, "queued");
  assert.equal(task.attempt, 4);
  h.join("w1", { incarnation: "w1-i2" });
  runOnce(h, id);
  h.finish(id);
  assert.equal(h.sm.tasks.get(id)!.state, "succeeded");
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("a delayed task waits in time order and is assigned once due", () => {
  const h = new Harness();
  h.join("w1", { slots: 4 });
  const later = h.submitTask({ notBeforeMs: h.nowMs + 5000 });
  const sooner = h.submitTask({ notBeforeMs: h.nowMs + 1000 });
  const now = h.submitTask();
  assert.deepEqual([...h.sm.queue.inOrder(h.nowMs)], [now]);
  assert.deepEqual([...h.sm.queue.inOrder(h.nowMs + 1000)], [sooner, now]);
  assert.deepEqual(h.assign(later, "w1"), { type: "rejected", reason: "task is not due yet" });
  runOnce(h, later);
  assert.equal(h.sm.tasks.get(later)!.state, "running");
  assert.deepEqual(findInvariantViolations(h.sm), []);
});

Deno.test("a handler task goes only to a worker serving its kind", () => {
  const h = new Harness();
  h.join("plain");
  h.join("adder", { kinds: ["add"] });
  const id = h.submitTask({ spec: ADD });
  assert.deepEqual(h.assign(id, "plain"), {
    type: "rejected",
    reason: "worker does not serve kind add",
  });
  assert.deepEqual(h.assign(id, "adder"), { type: "ok" });
});

Deno.test("a resubmission with the same key must ask for the same payload and retry policy", () => {
  const h = new Harness();
  h.submit({ key: "k", spec: ADD, retry: FIXED });
  assert.equal(h.submit({ key: "k", spec: ADD, retry: FIXED }).type, "submitted");
  assert.equal(
    h.submit({ key: "k", spec: { ...ADD, payload: "{}" }, retry: FIXED }).type,
    "rejected",
  );
  assert.equal(h.submit({ key: "k", spec: ADD }).type, "rejected");
  assert.equal(h.submit({ key: "k", spec: ADD, retry: { ...FIXED, retries: 3 } }).type, "rejected");
});

Deno.test("retry policy, retries used, delays, kinds and result values survive a snapshot", () => {
  const h = new Harness();
  h.join("adder", { kinds: ["add"] });
  const id = h.submitTask({ spec: ADD, retry: FIXED });
  runOnce(h, id, "adder");
  h.finish(id, { outcome: failed });
  const done = h.submitTask({ spec: { ...ADD, timeoutMs: 300 } });
  runOnce(h, done, "adder");
  h.finish(done, { outcome: outcome({ value: '{"sum":3}', timedOut: true, status: "failed" }) });
  h.submitTask({ notBeforeMs: h.nowMs + 9000 });
  const restored = restoreSnapshot(decodeSnapshot(encodeSnapshot(h.sm)));
  assert.deepEqual(restored.tasks.get(id), h.sm.tasks.get(id));
  assert.deepEqual(restored.tasks.get(done), h.sm.tasks.get(done));
  assert.deepEqual([...restored.queue.inOrder()], [...h.sm.queue.inOrder()]);
  assert.deepEqual(restored.workers.get("adder")!.kinds, ["add"]);
});

Deno.test("a task goes only to a worker taking tasks from its queue; priorities order its queue", () => {
  const h = new Harness();
  h.join("plain");
  h.join("imager", { queues: ["images"] });
  const pic = h.submitTask({ queue: "images" });
  const low = h.submitTask({ priority: -1 });
  const urgent = h.submitTask({ priority: 9 });
  assert.deepEqual([...h.sm.queue.inOrder()], [pic, urgent, low]);
  assert.deepEqual(h.assign(pic, "plain"), {
    type: "rejected",
    reason: "worker does not take tasks from queue images",
  });
  assert.deepEqual(h.assign(pic, "imager"), { type: "ok" });
  // A failed attempt's retry keeps its lane.
  const retried = h.submitTask({ priority: 9, retry: { ...FIXED, delayMs: 0 } });
  runOnce(h, retried, "plain");
  h.finish(retried, { outcome: failed });
  assert.deepEqual(h.sm.queue.laneOf(retried), { queue: "default", priority: 9 });
  assert.deepEqual([...h.sm.queue.inOrder()], [retried, urgent, low]);
  const restored = restoreSnapshot(decodeSnapshot(encodeSnapshot(h.sm)));
  assert.equal(restored.tasks.get(urgent)!.priority, 9);
  assert.equal(restored.tasks.get(pic)!.queue, "images");
  assert.deepEqual(restored.workers.get("imager")!.queues, ["images"]);
  assert.deepEqual([...restored.queue.inOrder()], [retried, urgent, low]);
});
