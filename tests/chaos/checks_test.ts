// Proves the chaos checks catch each violation they promise (missing, unfinished, two results,
// Lamport disorder, a key split or shared) and pass a clean history.
import assert from "node:assert/strict";
import type { TaskEvent, TaskView } from "../../shared/protocol/messages.ts";
import { type AckedSubmission, checkTasks } from "./checks.ts";

function event(e: TaskEvent["event"], lamport: number, attempt = 1): TaskEvent {
  return { event: e, lamport, node: "o1", atMs: lamport, attempt, workerId: "w", detail: null };
}

function task(id: string, state: TaskView["state"], history: TaskEvent[], attempt = 1): TaskView {
  return {
    id,
    owner: "u",
    state,
    spec: { kind: "sleep", description: "", durationMs: 0 },
    attempt,
    maxAttempts: 5,
    workerId: null,
    submittedAtMs: 0,
    finishedAtMs: null,
    result: null,
    waitingReason: null,
    history,
  };
}

const ok = (id: string) =>
  task(id, "succeeded", [
    event("submitted", 1),
    event("assigned", 2),
    event("started", 3),
    event("succeeded", 4),
  ]);

function check(acked: AckedSubmission[], tasks: TaskView[]) {
  return checkTasks(acked, new Map(tasks.map((t) => [t.id, t])));
}

Deno.test("checkTasks() passes clean histories and counts executions and retries", () => {
  const rerun = task("t-2", "succeeded", [
    event("submitted", 1),
    event("assigned", 2),
    event("started", 3),
    event("requeued", 5, 2),
    event("assigned", 6, 2),
    event("started", 7, 2),
    event("succeeded", 8, 2),
  ], 2);
  const report = check(
    [{ key: "a", taskId: "t-1", duplicate: false }, { key: "b", taskId: "t-2", duplicate: true }],
    [ok("t-1"), rerun],
  );
  assert.deepEqual(report.violations, []);
  assert.equal(report.tasks, 2);
  assert.equal(report.executions, 3);
  assert.equal(report.retries, 1);
  assert.equal(report.requeues, 1);
});

Deno.test("checkTasks() reports a missing acknowledged task", () => {
  const report = check([{ key: "a", taskId: "t-9", duplicate: false }], []);
  assert.match(report.violations[0], /t-9 \(key a\) does not exist/);
});

Deno.test("checkTasks() reports an unfinished task and two results", () => {
  const twice = task("t-2", "succeeded", [
    event("submitted", 1),
    event("succeeded", 2),
    event("succeeded", 3),
  ]);
  const report = check(
    [{ key: "a", taskId: "t-1", duplicate: false }, { key: "b", taskId: "t-2", duplicate: false }],
    [task("t-1", "running", [event("submitted", 1)]), twice],
  );
  assert.equal(report.violations.length, 2);
  assert.match(report.violations[0], /still running/);
  assert.match(report.violations[1], /has 2 results/);
});

Deno.test("checkTasks() reports a result from an old attempt and Lamport disorder", () => {
  const stale = task("t-1", "succeeded", [event("submitted", 1), event("succeeded", 2, 1)], 2);
  const disordered = task("t-2", "succeeded", [event("submitted", 5), event("succeeded", 5)]);
  const report = check(
    [{ key: "a", taskId: "t-1", duplicate: false }, { key: "b", taskId: "t-2", duplicate: false }],
    [stale, disordered],
  );
  assert.match(report.violations[0], /from attempt 1, not the current 2/);
  assert.match(report.violations[1], /out of Lamport order/);
});

Deno.test("checkTasks() reports one key with two tasks and two keys with one task", () => {
  const report = check(
    [
      { key: "a", taskId: "t-1", duplicate: false },
      { key: "a", taskId: "t-2", duplicate: true },
      { key: "b", taskId: "t-2", duplicate: false },
    ],
    [ok("t-1"), ok("t-2")],
  );
  assert.equal(report.violations.length, 2);
  assert.match(report.violations[0], /Key a was acknowledged with two tasks/);
  assert.match(report.violations[1], /Keys a and b were both acknowledged with task t-2/);
});
