// Proves that applying the same log always gives the same state, and that a snapshot taken at
// any point, serialized and restored, continues exactly as the machine it was taken from.
import assert from "node:assert/strict";
import type { ApplyResult, LogEntry } from "./commands.ts";
import { InvariantError } from "../../shared/assert.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { findInvariantViolations } from "./invariants.ts";
import {
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotParts,
  isRestorableSnapshot,
  restoreSnapshot,
  SNAPSHOT_FORMAT,
  takeSnapshot,
} from "./state_snapshot.ts";
import { TaskStateMachine } from "./task_state_machine.ts";
import { listTasks } from "./views.ts";
import { Harness, randomLog } from "./_task_fixtures_test.ts";

const SEEDS = [1, 2, 3, 42, 8112693];
const STEPS = 5000;

function applyAll(sm: TaskStateMachine, entries: readonly LogEntry[]): ApplyResult[] {
  return entries.map((entry) => sm.apply(entry));
}

/** The snapshot as it would go to disk. */
function serialize(sm: TaskStateMachine): string {
  return JSON.stringify(takeSnapshot(sm));
}

/** Through the bytes that go to disk and to followers. */
function roundTrip(sm: TaskStateMachine): TaskStateMachine {
  return restoreSnapshot(decodeSnapshot(encodeSnapshot(sm)));
}

Deno.test("apply() of the same random log on two fresh machines gives identical snapshots", () => {
  for (const seed of SEEDS) {
    const log = randomLog(seed, STEPS);
    const a = new TaskStateMachine();
    const b = new TaskStateMachine();
    const resultsA = applyAll(a, log);
    const resultsB = applyAll(b, log);
    assert.deepEqual(resultsA, resultsB, `seed ${seed}: results differ`);
    assert.equal(serialize(a), serialize(b), `seed ${seed}: states differ`);
    assert.equal(a.appliedIndex, STEPS);
  }
});

Deno.test("restoreSnapshot() at a midpoint then the rest of the log matches the uninterrupted run", () => {
  for (const seed of SEEDS) {
    const log = randomLog(seed, STEPS);
    const whole = new TaskStateMachine();
    const wholeResults = applyAll(whole, log);
    for (const cut of [1, 777, STEPS / 2, STEPS - 1]) {
      const first = new TaskStateMachine();
      applyAll(first, log.slice(0, cut));
      const restored = roundTrip(first);
      assert.equal(restored.appliedIndex, cut);
      assert.deepEqual(findInvariantViolations(restored), [], `seed ${seed} cut ${cut}`);
      const rest = applyAll(restored, log.slice(cut));
      assert.deepEqual(rest, wholeResults.slice(cut), `seed ${seed} cut ${cut}: results differ`);
      assert.equal(serialize(restored), serialize(whole), `seed ${seed} cut ${cut}: states differ`);
    }
  }
});

Deno.test("restoreSnapshot() rebuilds the idempotency index", () => {
  const h = new Harness();
  h.submit({ owner: "alice", key: "k1" });
  const restored = new Harness(roundTrip(h.sm));
  assert.deepEqual(restored.submit({ owner: "alice", key: "k1" }), {
    type: "submitted",
    taskId: "t-1",
    duplicate: true,
  });
  assert.deepEqual(restored.submit({ owner: "bob", key: "k1" }), {
    type: "submitted",
    taskId: "t-2",
    duplicate: false,
  });
});

Deno.test("restoreSnapshot() rebuilds each owner's task list in submission order", () => {
  const h = new Harness();
  for (const owner of ["alice", "bob", "alice", "carol", "alice"]) h.submitTask({ owner });
  const restored = roundTrip(h.sm);
  assert.deepEqual(restored.ownerTasks, h.sm.ownerTasks);
  const options = { owner: "alice", limit: 10 };
  assert.deepEqual(listTasks(restored, options), listTasks(h.sm, options));
});

Deno.test("restoreSnapshot() restores sessions, workers' running sets and the queue order", () => {
  const h = new Harness();
  h.login("hash-a", "alice", 5000);
  h.join("w1", { slots: 2 });
  const [a, b] = [h.submitTask(), h.submitTask()];
  h.submitTask();
  h.assign(a, "w1");
  h.assign(b, "w1");
  h.handBack(b);
  const restored = roundTrip(h.sm);
  assert.equal(restored.sessionUser("hash-a", 0), "alice");
  assert.deepEqual([...restored.workers.get("w1")!.running], [a]);
  assert.ok(restored.workers.get("w1")!.running instanceof Set);
  assert.deepEqual([...restored.queue.inOrder()], [...h.sm.queue.inOrder()]);
  assert.deepEqual(restored.queue.toJSON(), { retry: [b], fresh: ["t-3"] });
  assert.deepEqual(restored.stats, h.sm.stats);
  assert.deepEqual(restored.counts, h.sm.counts);
  assert.equal(restored.rrCursor, "w1");
  assert.equal(restored.nextTaskSeq, 4);
  assert.equal(restored.maxLamport, h.sm.maxLamport);
});

Deno.test("restoreSnapshot() continues task numbering where the snapshot left off", () => {
  const h = new Harness();
  h.submitTask();
  h.submitTask();
  const restored = new Harness(roundTrip(h.sm));
  assert.equal(restored.submitTask(), "t-3");
});

Deno.test("restoreSnapshot() continues the applied index: the next entry must follow it", () => {
  const h = new Harness();
  h.submitTask();
  h.submitTask();
  const restored = roundTrip(h.sm);
  assert.throws(
    () => restored.apply({ index: 1, term: 1, command: { type: "noop", atMs: 0 } }),
    InvariantError,
  );
  assert.deepEqual(restored.apply({ index: 3, term: 1, command: { type: "noop", atMs: 0 } }), {
    type: "ok",
  });
});

Deno.test("restoreSnapshot() refuses a snapshot of another format", () => {
  const snapshot = JSON.parse(serialize(new TaskStateMachine()));
  snapshot.format = SNAPSHOT_FORMAT + 1;
  assert.throws(() => restoreSnapshot(snapshot), RangeError);
});

Deno.test("takeSnapshot() of a fresh machine restores to an equal fresh machine", () => {
  const fresh = new TaskStateMachine();
  assert.equal(serialize(roundTrip(fresh)), serialize(fresh));
  assert.equal(takeSnapshot(fresh).format, SNAPSHOT_FORMAT);
});

Deno.test("takeSnapshot() serialized does not change when the machine moves on", () => {
  const h = new Harness();
  h.join("w1");
  const taskId = h.submitTask();
  const saved = serialize(h.sm);
  h.assign(taskId, "w1");
  h.finish(taskId);
  const restored = restoreSnapshot(JSON.parse(saved));
  assert.equal(restored.tasks.get(taskId)!.state, "queued");
  assert.equal(restored.workers.get("w1")!.running.size, 0);
});

Deno.test("encodeSnapshot() writes tasks as lines of 1,000 and decodes to the same state", () => {
  const h = new Harness();
  h.join("w1");
  for (let i = 0; i < 2500; i++) h.submitTask();
  const bytes = encodeSnapshot(h.sm);
  const lines = new TextDecoder().decode(bytes).split("\n");
  assert.equal(lines.length, 4, "a header and three task lines");
  assert.equal(JSON.parse(lines[0]).taskLines, 3);
  assert.deepEqual(lines.slice(1).map((l) => JSON.parse(l).length), [1000, 1000, 500]);
  assert.equal(serialize(restoreSnapshot(decodeSnapshot(bytes))), serialize(h.sm));
  assert.equal(isRestorableSnapshot(bytes), true);
});

Deno.test("decodeSnapshot() still reads a snapshot written as one JSON document", () => {
  const h = new Harness();
  h.join("w1");
  h.submitTask();
  const legacy = new TextEncoder().encode(serialize(h.sm));
  assert.equal(serialize(restoreSnapshot(decodeSnapshot(legacy))), serialize(h.sm));
});

Deno.test("isRestorableSnapshot() refuses truncated, padded or mislabelled snapshot bytes", () => {
  const h = new Harness();
  h.join("w1");
  for (let i = 0; i < 1500; i++) h.submitTask();
  const bytes = encodeSnapshot(h.sm);
  const text = new TextDecoder().decode(bytes);
  const encoder = new TextEncoder();
  const lastLine = text.lastIndexOf("\n");
  assert.equal(isRestorableSnapshot(bytes.subarray(0, lastLine)), false, "a task line missing");
  assert.equal(isRestorableSnapshot(bytes.subarray(0, bytes.length - 3)), false, "cut mid-line");
  assert.equal(isRestorableSnapshot(encoder.encode(text + "\n[]")), false, "an extra line");
  const lying = text.replace('"taskLines":2', '"taskLines":1');
  assert.equal(isRestorableSnapshot(encoder.encode(lying)), false, "header says fewer lines");
});

Deno.test("encodeSnapshotParts() gives the state at its first step, whatever changes in its pauses", async () => {
  const h = new Harness();
  h.join("w1");
  const ids = Array.from({ length: 2500 }, () => h.submitTask());
  h.assign(ids[0], "w1");
  h.finish(ids[0]); // final before the call
  h.assign(ids[1], "w1"); // running at the call
  const expected = encodeSnapshot(h.sm);
  let pauses = 0;
  const parts: Uint8Array[] = [];
  for await (
    const part of encodeSnapshotParts(h.sm, () => {
      // Between lines the machine moves on: a running task finishes, queued ones start.
      if (pauses === 0) h.finish(ids[1]);
      h.assign(ids[2 + pauses], "w1");
      pauses += 1;
      return Promise.resolve();
    })
  ) parts.push(part);
  assert.equal(pauses, 3, "one pause before each of the three task lines");
  assert.equal(parts.length, 4, "the header, then three task lines");
  assert.deepEqual(concatBytes(parts), expected);
});
