// Proves applying a command settles its in-flight proposal whatever the result, and that only an
// applied (not a rejected) command logs its event and tells workers.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import type { OrchestratorToWorker, Unstamped } from "../../shared/protocol/messages.ts";
import { TaskStateMachine } from "../tasks/mod.ts";
import { outcome } from "../tasks/_task_fixtures_test.ts";
import { afterApply, type AppliedContext } from "./applied_effects.ts";
import { FailureDetector } from "./failure_detector.ts";
import { NodeOutput } from "./node_output.ts";
import type { WorkerLinks } from "./worker_links.ts";

const STAMP = { atMs: 0, lamport: 1, node: "o1" };

function context() {
  const out = new NodeOutput(new LamportClock(0));
  out.recovering = false;
  const toWorkers: Array<[string, Unstamped<OrchestratorToWorker>]> = [];
  const submitted: string[] = [];
  const ctx: AppliedContext = {
    out,
    detector: new FailureDetector({ heartbeatIntervalMs: 1000, missedHeartbeats: 3 }),
    links: {
      linkOf: () => undefined,
      sendAssign: () => {},
      sendToWorker: (workerId: string, message: Unstamped<OrchestratorToWorker>) =>
        toWorkers.push([workerId, message]),
    } as unknown as WorkerLinks,
    proposedAssignments: new Map(),
    dispatchedAssignments: new Map(),
    proposedFinishes: new Map(),
    proposedLosses: new Set(),
    sm: () => new TaskStateMachine(),
    nowMs: () => 0,
    submitApplied: (owner) => submitted.push(owner),
    scheduleSettled: () => {},
  };
  return { ctx, out, toWorkers, submitted };
}

Deno.test("a result settles its proposal and is acknowledged to the worker, applied or not", () => {
  const { ctx, out, toWorkers } = context();
  ctx.proposedFinishes.set("t-1#1@w1", { taskId: "t-1", attempt: 1, workerId: "w1" });
  afterApply(ctx, {
    type: "taskFinished",
    taskId: "t-1",
    attempt: 1,
    workerId: "w1",
    outcome: outcome(),
    ...STAMP,
  }, { type: "rejected", reason: "attempt is not current" });
  assert.equal(ctx.proposedFinishes.size, 0);
  assert.deepEqual(toWorkers.map(([w, m]) => [w, m.type]), [["w1", "finishedAck"]]);
  assert.match(out.take().log[0].message, /^Ignored result of task t-1 attempt 1/);
});

Deno.test("a rejected worker loss settles its proposal and logs nothing", () => {
  const { ctx, out } = context();
  ctx.proposedLosses.add("w1");
  afterApply(ctx, {
    type: "workerLost",
    workerId: "w1",
    incarnation: "i1",
    reason: "missed heartbeats",
    ...STAMP,
  }, { type: "rejected", reason: "stale incarnation" });
  assert.equal(ctx.proposedLosses.size, 0);
  assert.deepEqual(out.take().log, []);
});

Deno.test("an applied submission counts against its owner's in-flight admissions once", () => {
  const { ctx, out, submitted } = context();
  afterApply(ctx, {
    type: "taskSubmitted",
    owner: "alice",
    idempotencyKey: "k",
    spec: { kind: "sleep", description: "nap", durationMs: 1 },
    maxAttempts: 3,
    ...STAMP,
  }, { type: "submitted", taskId: "t-1", duplicate: false });
  assert.deepEqual(submitted, ["alice"]);
  assert.deepEqual(out.take().log, [{ level: "debug", message: "Task t-1 submitted by alice" }]);
});

Deno.test("an assignment sent before it committed is not sent again, and is aborted when refused", () => {
  const { ctx, toWorkers } = context();
  const assigned = {
    type: "taskAssigned" as const,
    taskId: "t-1",
    attempt: 1,
    workerId: "w1",
    incarnation: "i1",
    ...STAMP,
  };
  ctx.proposedAssignments.set("t-1", "w1");
  ctx.dispatchedAssignments.set("t-1", 5);
  afterApply(ctx, assigned, { type: "rejected", reason: "worker has no free slot" });
  assert.deepEqual(toWorkers, [["w1", {
    type: "abort",
    taskId: "t-1",
    attempt: 1,
    reason: "assignment refused: worker has no free slot",
  }]]);
  assert.equal(ctx.dispatchedAssignments.size, 0);
  assert.equal(ctx.proposedAssignments.size, 0);
});
