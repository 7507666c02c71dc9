// Proves a local snapshot is asked for once enough entries were applied since the latest one held.
import assert from "node:assert/strict";
import type { TaskStateMachine } from "../tasks/mod.ts";
import { LocalSnapshots } from "./local_snapshots.ts";

function applied(appliedIndex: number, retainedTasks = 0): TaskStateMachine {
  return { appliedIndex, appliedTerm: 2, tasks: { size: retainedTasks } } as TaskStateMachine;
}

Deno.test("a snapshot is due once enough entries were applied since the one recovered", () => {
  const snapshots = new LocalSnapshots({ index: 100, tasks: 0 }, 10);
  assert.equal(snapshots.due(applied(109)), null);
  const sm = applied(110);
  assert.deepEqual(snapshots.due(sm), { index: 110, term: 2, state: sm });
});

Deno.test("a snapshot installed or taken resets the count", () => {
  const snapshots = new LocalSnapshots({ index: 0, tasks: 0 }, 10);
  snapshots.held(50);
  assert.equal(snapshots.due(applied(55)), null);
  snapshots.held(40);
  assert.equal(snapshots.due(applied(59)), null, "an older snapshot does not move it back");
  assert.notEqual(snapshots.due(applied(60)), null);
});

Deno.test("a large state waits for one entry per task of the previous snapshot", () => {
  const snapshots = new LocalSnapshots({ index: 0, tasks: 50 }, 10);
  assert.equal(snapshots.due(applied(49, 80)), null, "49 entries < 50 tasks");
  assert.notEqual(snapshots.due(applied(50, 80)), null);
  snapshots.held(50);
  assert.equal(snapshots.due(applied(129, 130)), null, "79 entries < 80 tasks taken");
  assert.notEqual(snapshots.due(applied(130, 130)), null);
});

Deno.test("a log of submissions alone (one entry per task) still gets its snapshots", () => {
  // Before, the next snapshot waited for as many entries as tasks retained now: with one entry
  // per task the log never caught up, and grew for ever.
  const snapshots = new LocalSnapshots({ index: 0, tasks: 0 }, 10);
  const taken: number[] = [];
  for (let index = 1; index <= 10_000; index++) {
    const due = snapshots.due(applied(index, index));
    if (due !== null) {
      taken.push(due.index);
      snapshots.held(due.index);
    }
  }
  // Each waits for as many entries as the previous one's tasks: 10, 20, 40, … 5,120.
  assert.deepEqual(taken, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120]);
});

Deno.test("the next snapshot waits in proportion to the one taken, not to later asks", () => {
  const snapshots = new LocalSnapshots({ index: 0, tasks: 0 }, 10);
  assert.notEqual(snapshots.due(applied(10, 10)), null, "asked at 10, with 10 tasks");
  assert.notEqual(snapshots.due(applied(15, 500)), null, "asked again while the first is taken");
  snapshots.held(10); // the one at 10 was taken
  assert.notEqual(snapshots.due(applied(20, 600)), null, "10 tasks after 10: due at 20");
});

Deno.test("the snapshot taken keeps its size however often the node asks while it is written", () => {
  // Under load every step asks again while a large snapshot is written (hundreds of asks).
  const snapshots = new LocalSnapshots({ index: 0, tasks: 1000 }, 10);
  assert.notEqual(snapshots.due(applied(2000, 1_000_000)), null, "the one the shell takes");
  for (let index = 2001; index < 2500; index++) snapshots.due(applied(index, 1_000_000));
  snapshots.held(2000);
  assert.equal(snapshots.due(applied(1_001_999, 1_000_000)), null, "1,000,000 after 2,000");
  assert.notEqual(snapshots.due(applied(1_002_000, 1_000_000)), null);
});
