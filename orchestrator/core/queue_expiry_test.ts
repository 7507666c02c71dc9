// Proves the leader's expiry sweep: it proposes the tasks whose queue deadline passed, one
// proposal in flight at a time, and nothing while no task has a deadline.
import assert from "node:assert/strict";
import { Harness } from "../tasks/_task_fixtures_test.ts";
import type { Command } from "../tasks/mod.ts";
import { ExpiryRounds, sweepExpiries } from "./queue_expiry.ts";

Deno.test("the sweep proposes expired tasks once, then again only after that entry applied", () => {
  const h = new Harness();
  const due = h.submitTask({ queueDeadlineMs: h.nowMs + 100 });
  h.submitTask({ queueDeadlineMs: h.nowMs + 10_000 });
  const proposed: Command[] = [];
  const io = {
    propose: (command: Command) => (proposed.push(command), proposed.length),
    stamp: () => ({ atMs: h.nowMs, lamport: 99, node: "o1" }),
  };
  const rounds = new ExpiryRounds();
  sweepExpiries(h.sm, rounds, h.nowMs, io);
  assert.equal(proposed.length, 0, "nothing is due yet");
  h.nowMs += 1000;
  sweepExpiries(h.sm, rounds, h.nowMs, io);
  assert.deepEqual(proposed.map((c) => c.type === "tasksExpired" && c.taskIds), [[due]]);
  sweepExpiries(h.sm, rounds, h.nowMs + 500, io);
  assert.equal(proposed.length, 1, "one proposal in flight");
  rounds.applied(1);
  h.expire([due]);
  sweepExpiries(h.sm, rounds, h.nowMs + 500, io);
  assert.equal(proposed.length, 1, "the other task is not due");
});
