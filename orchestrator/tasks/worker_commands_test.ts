// Proves that WorkerCommands works on any WorkerCommandState through the lifecycle it is given: it
// assigns only what a live worker can run, fences off stale reports, and requeues or fails the
// attempts of a worker that is lost, oldest task first.
import assert from "node:assert/strict";
import type { TaskState } from "../../shared/protocol/messages.ts";
import type { TaskRecord } from "./records.ts";
import { TaskQueue } from "./task_queue.ts";
import { TaskMetrics } from "./task_metrics.ts";
import { QueueDeadlines } from "./queue_deadlines.ts";
import {
  capacityOf,
  type TaskLifecycle,
  WorkerCommands,
  type WorkerCommandState,
  workerRuns,
} from "./worker_commands.ts";

const STAMP = { atMs: 1, lamport: 1, node: "o1" };

/** A state with queued tasks t-1 and t-2 and a lifecycle that only logs what it is asked. */
function setup(maxAttempts = 2) {
  const state: WorkerCommandState = {
    tasks: new Map(),
    workers: new Map(),
    queue: new TaskQueue(),
    queueDeadlines: new QueueDeadlines(),
    stats: { retries: 0, staleReports: 0, duplicateSubmissions: 0 },
    metrics: new TaskMetrics(),
    rrCursor: null,
  };
  for (const seq of [1, 2]) {
    const task: TaskRecord = {
      id: `t-${seq}`,
      seq,
      owner: "alice",
      idempotencyKey: `k-${seq}`,
      spec: { kind: "exec", description: "ls", argv: ["ls"], timeoutMs: 1000 },
      maxAttempts,
      retry: null,
      retried: 0,
      notBeforeMs: 0,
      priority: 0,
      queue: "default",
      after: [],
      waitingFor: [],
      queueDeadlineMs: 0,
      state: "queued",
      attempt: 1,
      workerId: null,
      started: false,
      submittedAtMs: 0,
      finishedAtMs: null,
      result: null,
      packedHistory: "",
    };
    state.tasks.set(task.id, task);
    state.queue.pushFresh(task.id);
  }
  const log: string[] = [];
  const lifecycle: TaskLifecycle = {
    transition(task: TaskRecord, to: TaskState) {
      log.push(`${task.id} -> ${to}`);
      task.state = to;
    },
    shareOutcome: (outcome) => outcome,
    record(task, event, _stamp, workerId, detail) {
      log.push(`${task.id} ${event} ${workerId ?? "-"} ${detail ?? "-"}`);
    },
  };
  const commands = new WorkerCommands(state, lifecycle);
  const join = (
    canExec = true,
    execAllow: string[] | null = null,
    shape: { slots: number; prefetch?: number } = { slots: 2 },
  ) =>
    commands.apply({
      type: "workerJoined",
      workerId: "w1",
      incarnation: "i1",
      ...shape,
      canExec,
      execAllow,
      ...STAMP,
    });
  const assign = (taskId: string) =>
    commands.apply({
      type: "taskAssigned",
      taskId,
      attempt: 1,
      workerId: "w1",
      incarnation: "i1",
      ...STAMP,
    });
  return { state, log, commands, join, assign };
}

Deno.test("an exec task goes only to a worker that allows its program", () => {
  const { state, join, assign } = setup();
  join(true, ["cat"]);
  assert.deepEqual(assign("t-1"), {
    type: "rejected",
    reason: "worker does not allow this program",
  });
  assert.ok(workerRuns({ canExec: true, execAllow: null }, "ls"));
  assert.ok(!workerRuns({ canExec: false, execAllow: null }, "ls"));
  join(true, ["cat"]); // the same incarnation again changes nothing
  assert.deepEqual(state.workers.get("w1")?.execAllow, ["cat"]);
});

Deno.test("an assignment takes the task off the queue and moves the round-robin cursor", () => {
  const { state, log, assign, join } = setup();
  join();
  assert.equal(assign("t-1").type, "ok");
  assert.deepEqual([...state.queue.inOrder()], ["t-2"]);
  assert.equal(state.rrCursor, "w1");
  assert.deepEqual([...state.workers.get("w1")!.running], ["t-1"]);
  assert.deepEqual(log, ["t-1 -> running", "t-1 assigned w1 -"]);
});

Deno.test("a report from an attempt that is not current counts as stale and changes nothing", () => {
  const { state, commands, join, assign } = setup();
  join();
  assign("t-1");
  const result = commands.apply({
    type: "taskStarted",
    taskId: "t-1",
    attempt: 2,
    workerId: "w1",
    ...STAMP,
  });
  assert.deepEqual(result, { type: "rejected", reason: "stale attempt" });
  assert.equal(state.stats.staleReports, 1);
  assert.equal(state.tasks.get("t-1")?.started, false);
});

Deno.test("a lost worker's tasks are requeued oldest first, or failed past their attempts", () => {
  const { state, log, commands, join, assign } = setup(1);
  join();
  assign("t-2");
  assign("t-1");
  log.length = 0;
  const result = commands.apply({
    type: "workerLost",
    workerId: "w1",
    incarnation: "i1",
    reason: "missed heartbeats",
    ...STAMP,
  });
  assert.equal(result.type, "ok");
  assert.equal(state.workers.size, 0);
  assert.deepEqual(log, [
    "t-1 -> failed",
    "t-1 failed w1 Gave up after 1 attempt(s): worker w1 missed heartbeats",
    "t-2 -> failed",
    "t-2 failed w1 Gave up after 1 attempt(s): worker w1 missed heartbeats",
  ]);
  assert.equal(state.metrics.workersLost, 1);
});

Deno.test("a task handed back runs again as its next attempt", () => {
  const { state, commands, join, assign } = setup();
  join();
  assign("t-1");
  const result = commands.apply({
    type: "taskHandedBack",
    taskId: "t-1",
    attempt: 1,
    workerId: "w1",
    reason: "stopping",
    ...STAMP,
  });
  assert.equal(result.type, "ok");
  const task = state.tasks.get("t-1")!;
  assert.equal(task.state, "queued");
  assert.equal(task.attempt, 2);
  assert.equal(task.workerId, null);
  assert.equal(state.stats.retries, 1);
  assert.equal(state.workers.get("w1")?.running.size, 0);
});

Deno.test("a worker holds at most its slots plus its prefetch; a join without prefetch holds none", () => {
  const plain = setup();
  plain.join(true, null, { slots: 1 });
  assert.equal(plain.state.workers.get("w1")!.prefetch, 0, "absent in older entries: 0");
  assert.equal(plain.assign("t-1").type, "ok");
  assert.deepEqual(plain.assign("t-2"), { type: "rejected", reason: "worker has no free slot" });

  const prefetching = setup();
  prefetching.join(true, null, { slots: 1, prefetch: 1 });
  assert.equal(prefetching.assign("t-1").type, "ok");
  assert.equal(prefetching.assign("t-2").type, "ok", "the second waits on the worker");
  assert.deepEqual([...prefetching.state.workers.get("w1")!.running], ["t-1", "t-2"]);
  assert.equal(capacityOf({ slots: 3, prefetch: 5 }), 8);
});

Deno.test("a start and a finish are observed: the first start's wait, the run time, a timeout", () => {
  const { state, commands, join, assign } = setup();
  join();
  assign("t-1");
  const task = state.tasks.get("t-1")!;
  commands.apply({
    type: "taskStarted",
    taskId: "t-1",
    attempt: 1,
    workerId: "w1",
    ...STAMP,
    atMs: task.submittedAtMs + 1500,
  });
  commands.apply({
    type: "taskFinished",
    taskId: "t-1",
    attempt: 1,
    workerId: "w1",
    outcome: {
      status: "failed",
      exitCode: null,
      stdout: "",
      stderr: "",
      error: "timeout",
      durationMs: 1000,
      timedOut: true,
    },
    ...STAMP,
    lamport: 2,
    atMs: task.submittedAtMs + 2500,
  });
  assert.equal(state.metrics.waitSeconds.read().sum, 1.5);
  assert.equal(state.metrics.runSeconds.read().sum, 1);
  assert.equal(state.metrics.timedOut, 1);
});
