// Proves what a ready leader proposes on its own: one scheduling round's assignments (never a task
// already being assigned), and the loss of each suspected worker once.
import assert from "node:assert/strict";
import type { Command } from "../tasks/mod.ts";
import { Harness } from "../tasks/_task_fixtures_test.ts";
import { FailureDetector } from "./failure_detector.ts";
import { InFlightProposals } from "./in_flight_proposals.ts";
import { type LeaderRoundContext, proposeAssignments, proposeLosses } from "./leader_rounds.ts";

function setup(nowMs = 0) {
  const h = new Harness();
  h.join("w1", { slots: 2 });
  h.submitTask();
  h.submitTask();
  const proposed: Command[] = [];
  const dispatched: string[] = [];
  const detector = new FailureDetector({ heartbeatIntervalMs: 500, missedHeartbeats: 3 });
  detector.observe("w1", h.sm.workers.get("w1")!.incarnation, 0);
  const ctx: LeaderRoundContext = {
    proposals: new InFlightProposals(),
    detector,
    options: { schedulerPolicy: "round-robin" },
    sm: () => h.sm,
    nowMs: () => nowMs,
    isAvailable: () => true,
    propose: (command) => {
      proposed.push(command);
      return proposed.length;
    },
    stamp: () => ({ atMs: nowMs, lamport: 100 + proposed.length, node: "o1" }),
    dispatch: (task, workerId) => {
      dispatched.push(`${task.id}->${workerId}`);
      return 7;
    },
  };
  return { ctx, proposed, dispatched };
}

Deno.test("proposeAssignments() assigns queued tasks once, counting what it already proposed", () => {
  const { ctx, proposed } = setup();
  proposeAssignments(ctx);
  assert.deepEqual(proposed.map((c) => c.type), ["taskAssigned", "taskAssigned"]);
  proposeAssignments(ctx);
  assert.equal(proposed.length, 2, "a task on its way to a worker was assigned again");
});

Deno.test("proposeLosses() proposes a silent worker's loss once", () => {
  const { ctx, proposed } = setup(10_000);
  proposeLosses(ctx);
  proposeLosses(ctx);
  assert.deepEqual(proposed.map((c) => c.type), ["workerLost"]);
});

Deno.test("proposeAssignments() sends each assignment to its worker as it proposes it, before it commits", () => {
  const { ctx, proposed, dispatched } = setup();
  proposeAssignments(ctx);
  assert.deepEqual(proposed.map((c) => c.type), ["taskAssigned", "taskAssigned"]);
  assert.deepEqual(dispatched, ["t-1->w1", "t-2->w1"]);
  assert.deepEqual([...ctx.proposals.dispatched], [["t-1", 7], ["t-2", 7]]);
});
