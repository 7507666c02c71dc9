// Proves a local snapshot is asked for once enough entries were applied since the latest one held.
import assert from "node:assert/strict";
import type { TaskStateMachine } from "../tasks/mod.ts";
import { LocalSnapshots } from "./local_snapshots.ts";

function applied(appliedIndex: number, retainedTasks = 0): TaskStateMachine {
  return { appliedIndex, appliedTerm: 2, tasks: { size: retainedTasks } } as TaskStateMachine;
}

Deno.test("a snapshot is due once enough entries were applied since the one recovered", () => {
  const snapshots = new LocalSnapshots(100, 10);
  assert.equal(snapshots.due(applied(109)), null);
  const sm = applied(110);
  assert.deepEqual(snapshots.due(sm), { index: 110, term: 2, state: sm });
});

Deno.test("a snapshot installed or taken resets the count", () => {
  const snapshots = new LocalSnapshots(0, 10);
  snapshots.held(50);
  assert.equal(snapshots.due(applied(55)), null);
  snapshots.held(40);
  assert.equal(snapshots.due(applied(59)), null, "an older snapshot does not move it back");
  assert.notEqual(snapshots.due(applied(60)), null);
});

Deno.test("a large state waits for as many entries as it retains tasks", () => {
  const snapshots = new LocalSnapshots(0, 10);
  assert.equal(snapshots.due(applied(30, 50)), null);
  assert.notEqual(snapshots.due(applied(50, 50)), null);
});
