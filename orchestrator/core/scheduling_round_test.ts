// Proves a scheduling round places queued tasks only on available workers with free slots,
// counting slots that proposed assignments will take and proposed results will free.
import assert from "node:assert/strict";
import { Harness } from "../tasks/_task_fixtures_test.ts";
import { planRound, type RoundInput } from "./scheduling_round.ts";

function round(h: Harness, patch: Partial<RoundInput> = {}) {
  return planRound({
    sm: h.sm,
    proposedAssignments: new Map(),
    proposedFinishes: new Map(),
    isAvailable: () => true,
    policy: "round-robin",
    cursor: null,
    maxAssignments: 100,
    nowMs: 0,
    ...patch,
  });
}

Deno.test("a round assigns queued tasks to free slots, naming each attempt and incarnation", () => {
  const h = new Harness();
  h.join("w1", { incarnation: "i1", slots: 1 });
  const a = h.submitTask();
  h.submitTask();
  const plan = round(h);
  assert.deepEqual(plan, [{ taskId: a, attempt: 1, workerId: "w1", incarnation: "i1" }]);
});

Deno.test("a round skips workers that are not available and plans nothing without any", () => {
  const h = new Harness();
  h.join("w1", { slots: 2 });
  h.submitTask();
  assert.deepEqual(round(h, { isAvailable: () => false }), []);
});

Deno.test("a round counts proposed assignments as busy and proposed results as free", () => {
  const h = new Harness();
  h.join("w1", { slots: 1 });
  const a = h.submitTask();
  const b = h.submitTask();
  const busy = round(h, { proposedAssignments: new Map([[a, "w1"]]) });
  assert.deepEqual(busy, [], "w1's only slot is taken by the proposed assignment");
  const freed = round(h, {
    proposedAssignments: new Map([[a, "w1"]]),
    proposedFinishes: new Map([[`${a}#1@w1`, { taskId: a, attempt: 1, workerId: "w1" }]]),
  });
  assert.deepEqual(freed.map((p) => p.taskId), [b], "a proposed result frees the slot again");
});

Deno.test("a result bound to be refused frees no slot, and its task is not placed while it is pending", () => {
  const h = new Harness();
  h.join("w1", { slots: 1 });
  const a = h.submitTask();
  const b = h.submitTask();
  const c = h.submitTask();
  assert.equal(h.assign(b, "w1").type, "ok");
  // w1 reported `a` from a dispatch that was refused: the state has `a` queued, proposed to no one.
  const refused = new Map([[`${a}#1@w1`, { taskId: a, attempt: 1, workerId: "w1" }]]);
  assert.deepEqual(round(h, { proposedFinishes: refused }), [], "w1 is full: b runs there");
  // Once w1 has room, `a` still waits for its pending result; `c` may go.
  h.join("w2", { slots: 1 });
  assert.deepEqual(round(h, { proposedFinishes: refused }).map((p) => p.taskId), [c]);
});

Deno.test("a round plans nothing when every queued task is already proposed", () => {
  const h = new Harness();
  h.join("w1", { slots: 4 });
  const a = h.submitTask();
  assert.deepEqual(round(h, { proposedAssignments: new Map([[a, "w1"]]) }), []);
});

Deno.test("a round fills a worker's prefetch after its slots, and the state machine takes them all", () => {
  const h = new Harness();
  h.join("w1", { incarnation: "i1", slots: 1, prefetch: 2 });
  const ids = [h.submitTask(), h.submitTask(), h.submitTask(), h.submitTask()];
  const plan = round(h);
  assert.deepEqual(plan.map((a) => a.taskId), ids.slice(0, 3), "one slot and two prefetched");
  for (const a of plan) {
    assert.equal(h.assign(a.taskId, a.workerId, { incarnation: "i1" }).type, "ok");
  }
  assert.deepEqual(round(h), [], "full until one of them finishes");
});
