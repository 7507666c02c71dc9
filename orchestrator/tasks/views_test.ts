// Proves that the views show what the state holds (an owner's tasks newest first, filtered and
// limited) and are copies: changing a view never changes the state.
import assert from "node:assert/strict";
import {
  TaskSummarySchema,
  TaskViewSchema,
  WorkerViewSchema,
} from "../../shared/protocol/messages.ts";
import { takeSnapshot } from "./state_snapshot.ts";
import { listTaskPage, listTasks, toTaskSummary, toTaskView, toWorkerView } from "./views.ts";
import { EXEC, Harness, outcome } from "./_task_fixtures_test.ts";
import { historyOf } from "./task_history.ts";

/** alice: t-1 succeeded, t-2 queued, t-4 running, t-5 queued; bob: t-3 queued. */
function mixedState(): Harness {
  const h = new Harness();
  h.join("w1");
  const t1 = h.submitTask({ owner: "alice" });
  h.submitTask({ owner: "alice" });
  h.submitTask({ owner: "bob" });
  const t4 = h.submitTask({ owner: "alice" });
  h.submitTask({ owner: "alice" });
  h.assign(t1, "w1");
  h.finish(t1);
  h.assign(t4, "w1");
  return h;
}

Deno.test("listTasks() returns the owner's tasks newest first", () => {
  const h = mixedState();
  const ids = listTasks(h.sm, { owner: "alice", limit: 50 }).map((t) => t.id);
  assert.deepEqual(ids, ["t-5", "t-4", "t-2", "t-1"]);
});

Deno.test("listTasks() filters by state", () => {
  const h = mixedState();
  const queued = listTasks(h.sm, { owner: "alice", state: "queued", limit: 50 });
  assert.deepEqual(queued.map((t) => t.id), ["t-5", "t-2"]);
  assert.ok(queued.every((t) => t.state === "queued"));
  const running = listTasks(h.sm, { owner: "alice", state: "running", limit: 50 });
  assert.deepEqual(running.map((t) => t.id), ["t-4"]);
  assert.deepEqual(listTasks(h.sm, { owner: "alice", state: "cancelled", limit: 50 }), []);
});

Deno.test("listTasks() returns at most limit tasks, the newest ones", () => {
  const h = mixedState();
  assert.deepEqual(listTasks(h.sm, { owner: "alice", limit: 2 }).map((t) => t.id), ["t-5", "t-4"]);
  assert.deepEqual(
    listTasks(h.sm, { owner: "alice", state: "queued", limit: 1 }).map((t) => t.id),
    ["t-5"],
  );
  assert.deepEqual(listTasks(h.sm, { owner: "alice", limit: 0 }), []);
});

Deno.test("listTasks() shows no other owner's tasks, and nothing for an unknown owner", () => {
  const h = mixedState();
  assert.deepEqual(listTasks(h.sm, { owner: "bob", limit: 50 }).map((t) => t.id), ["t-3"]);
  assert.deepEqual(listTasks(h.sm, { owner: "mallory", limit: 50 }), []);
});

Deno.test("listTaskPage() counts every matching task and gives a cursor to the next page", () => {
  const h = mixedState();
  const first = listTaskPage(h.sm, { owner: "alice", limit: 2 });
  assert.deepEqual(first.tasks.map((t) => t.id), ["t-5", "t-4"]);
  assert.equal(first.total, 4);
  assert.equal(first.next, "t-4");
  const second = listTaskPage(h.sm, { owner: "alice", limit: 2, after: first.next! });
  assert.deepEqual(second.tasks.map((t) => t.id), ["t-2", "t-1"]);
  assert.equal(second.total, 4);
  assert.equal(second.next, null, "the last page has no next cursor");
  const exact = listTaskPage(h.sm, { owner: "alice", limit: 4 });
  assert.equal(exact.next, null, "a page that ends exactly at the last task has no next cursor");
});

Deno.test("listTaskPage() filters by several states, counting only matches", () => {
  const h = mixedState();
  const page = listTaskPage(h.sm, { owner: "alice", states: ["queued", "succeeded"], limit: 2 });
  assert.deepEqual(page.tasks.map((t) => t.id), ["t-5", "t-2"]);
  assert.equal(page.total, 3);
  assert.equal(page.next, "t-2");
  const rest = listTaskPage(h.sm, {
    owner: "alice",
    states: ["queued", "succeeded"],
    limit: 2,
    after: "t-2",
  });
  assert.deepEqual(rest.tasks.map((t) => t.id), ["t-1"]);
  assert.equal(rest.next, null);
  const everyone = listTaskPage(h.sm, { owner: null, states: ["queued"], limit: 50 });
  assert.deepEqual(everyone.tasks.map((t) => t.id), ["t-5", "t-3", "t-2"]);
  assert.equal(everyone.total, 3);
});

Deno.test("listTaskPage() continues after a cursor whose task is not the caller's or does not exist", () => {
  const h = mixedState();
  // t-3 is bob's: alice's page after it starts with her next older task.
  assert.deepEqual(
    listTaskPage(h.sm, { owner: "alice", limit: 50, after: "t-3" }).tasks.map((t) => t.id),
    ["t-2", "t-1"],
  );
  assert.deepEqual(
    listTaskPage(h.sm, { owner: null, limit: 50, after: "t-99" }).tasks.map((t) => t.id),
    ["t-5", "t-4", "t-3", "t-2", "t-1"],
  );
  assert.deepEqual(listTaskPage(h.sm, { owner: null, limit: 50, after: "t-1" }).tasks, []);
});

Deno.test("toTaskSummary() shows the task's state, kind and description", () => {
  const h = new Harness();
  h.join("w1", { canExec: true });
  const taskId = h.submitTask({ spec: EXEC });
  h.assign(taskId, "w1");
  const summary = toTaskSummary(h.sm.tasks.get(taskId)!);
  assert.deepEqual(summary, {
    id: taskId,
    owner: h.sm.tasks.get(taskId)!.owner,
    state: "running",
    description: EXEC.description,
    kind: "exec",
    attempt: 1,
    workerId: "w1",
    submittedAtMs: h.sm.tasks.get(taskId)!.submittedAtMs,
    finishedAtMs: null,
  });
  assert.ok(TaskSummarySchema.safeParse(summary).success, "a summary is a valid wire value");
});

Deno.test("toTaskView() shows the waiting reason only for a queued task", () => {
  const h = mixedState();
  assert.equal(
    toTaskView(h.sm.tasks.get("t-2")!, "all 2 worker slot(s) are busy").waitingReason,
    "all 2 worker slot(s) are busy",
  );
  assert.equal(toTaskView(h.sm.tasks.get("t-4")!, "stale reason").waitingReason, null);
  assert.equal(toTaskView(h.sm.tasks.get("t-1")!, "stale reason").waitingReason, null);
});

Deno.test("toTaskView() shows the task's fields, result and history", () => {
  const h = mixedState();
  const task = h.sm.tasks.get("t-1")!;
  const view = toTaskView(task, null);
  assert.equal(view.id, "t-1");
  assert.equal(view.owner, "alice");
  assert.equal(view.state, "succeeded");
  assert.equal(view.attempt, 1);
  assert.equal(view.maxAttempts, task.maxAttempts);
  assert.equal(view.workerId, "w1");
  assert.equal(view.finishedAtMs, task.finishedAtMs);
  assert.deepEqual(view.result, outcome());
  assert.deepEqual(view.spec, task.spec);
  assert.deepEqual(view.history, historyOf(task));
  assert.ok(TaskViewSchema.safeParse(view).success, "a view is a valid wire value");
});

Deno.test("toTaskView() copies the history: changing the view leaves the state alone", () => {
  const h = mixedState();
  const before = JSON.stringify(takeSnapshot(h.sm));
  const view = toTaskView(h.sm.tasks.get("t-1")!, null);
  view.history[0].detail = "tampered";
  view.history.push({ ...view.history[0] });
  view.attempt = 99;
  view.state = "failed";
  assert.equal(JSON.stringify(takeSnapshot(h.sm)), before);
});

Deno.test({
  name: "toTaskView() copies the spec and result: changing the view leaves the state alone",
  fn: () => {
    const h = new Harness();
    h.join("w1", { canExec: true });
    const taskId = h.submitTask({ spec: structuredClone(EXEC) });
    h.assign(taskId, "w1");
    h.finish(taskId, { outcome: outcome({ stdout: "secret" }) });
    const before = JSON.stringify(takeSnapshot(h.sm));
    const view = toTaskView(h.sm.tasks.get(taskId)!, null);
    view.spec.description = "tampered";
    if (view.spec.kind === "exec") view.spec.argv[0] = "rm";
    view.result!.stdout = "[redacted]";
    assert.equal(JSON.stringify(takeSnapshot(h.sm)), before);
  },
});

Deno.test("toWorkerView() shows the worker's load and heartbeat age", () => {
  const h = mixedState();
  const view = toWorkerView(h.sm.workers.get("w1")!, 120);
  assert.deepEqual(view, {
    id: "w1",
    incarnation: "w1-i1",
    status: "alive",
    slots: 2,
    running: 1,
    canExec: false,
    execAllow: null,
    lastHeartbeatAgoMs: 120,
    completed: 1,
  });
  assert.ok(WorkerViewSchema.safeParse(view).success, "a worker view is a valid wire value");
  assert.equal(toWorkerView(h.sm.workers.get("w1")!, null).lastHeartbeatAgoMs, null);
});

Deno.test("listTaskPage() stops scanning once it has seen every matching task", () => {
  const h = new Harness();
  for (let i = 0; i < 200; i++) h.submitTask({ owner: i % 2 === 0 ? "alice" : "bob" });
  const fresh = h.submitTask({ owner: "alice" });
  h.submitTask({ owner: "alice" });
  h.cancel(fresh);
  const scan = { visited: 0 };
  const page = listTaskPage(h.sm, { owner: "alice", states: ["cancelled"], limit: 50, scan });
  assert.deepEqual(page, { tasks: [toTaskSummary(h.sm.tasks.get(fresh)!)], total: 1, next: null });
  assert.equal(scan.visited, 2, "the newest alice task and the match, not the 100 older ones");
  const queued = { visited: 0 };
  const newest = listTaskPage(h.sm, { owner: null, states: ["queued"], limit: 3, scan: queued });
  assert.deepEqual(newest.tasks.map((t) => t.id), ["t-202", "t-200", "t-199"]);
  assert.deepEqual([newest.total, newest.next], [201, "t-199"]);
  assert.equal(queued.visited, 5, "the page, the cancelled task and one more match, for next");
  const all = { visited: 0 };
  const whole = listTaskPage(h.sm, { owner: "alice", states: ["queued"], limit: 101, scan: all });
  assert.deepEqual([whole.tasks.length, whole.total, whole.next], [101, 101, null]);
  assert.equal(all.visited, 102, "every alice task once, nothing past the oldest match");
  const after = listTaskPage(h.sm, {
    owner: "alice",
    states: ["cancelled"],
    after: fresh,
    limit: 5,
  });
  assert.deepEqual([after.tasks, after.total, after.next], [[], 1, null]);
});
