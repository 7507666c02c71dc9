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
  encodeSnapshotInSteps,
  encodeSnapshotParts,
  isRestorableSnapshot,
  restoreSnapshot,
  SNAPSHOT_FORMAT,
  takeSnapshot,
} from "./state_snapshot.ts";
import { TaskStateMachine } from "./task_state_machine.ts";
import { listTasks } from "./views.ts";
import { Harness, outcome, randomLog, SLEEP } from "./_task_fixtures_test.ts";
import { historyOf } from "./task_history.ts";
import { lengthPrefixed } from "./_byte_columns.ts";
import { createPrng } from "../../shared/prng.ts";

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

/** The bytes a build of snapshot format 1 wrote: JSON lines, histories as event lists. */
function encodeLegacySnapshot(sm: TaskStateMachine): Uint8Array {
  const { tasks, ...rest } = takeSnapshot(sm);
  const legacy = tasks.map(({ packedHistory: _, ...task }) => ({
    ...task,
    history: historyOf({ packedHistory: _, submittedAtMs: task.submittedAtMs }),
  }));
  const lines = [JSON.stringify({ ...rest, format: 1, tasks: [], taskLines: 2 })];
  lines.push(JSON.stringify(legacy.slice(0, 1)), JSON.stringify(legacy.slice(1)));
  return new TextEncoder().encode(lines.join("\n"));
}

/** A state with every kind of task field: exec specs, truncated output, failures, cancels. */
function variedState(tasks: number): Harness {
  const h = new Harness();
  h.join("w1", { canExec: true, slots: 4 });
  for (let i = 0; i < tasks; i++) {
    const spec = i % 3 === 0
      ? { kind: "exec" as const, description: `run ${i} ✓`, argv: ["echo", `${i}`], timeoutMs: 9 }
      : { ...SLEEP, description: `nap ${i}` };
    const id = h.submitTask({ spec });
    if (i % 5 === 4) continue; // stays queued
    h.assign(id, "w1");
    if (i % 5 === 3) continue; // stays running
    if (i % 5 === 2) h.cancel(id);
    else {
      h.finish(id, {
        outcome: outcome(
          i % 2 === 0
            ? { status: "failed", exitCode: -i, stdout: "x", stdoutTruncated: true, error: "boom" }
            : { stderr: `e${i}`, stderrTruncated: true },
        ),
      });
    }
  }
  return h;
}

Deno.test("encodeSnapshot() writes binary batches that decode to the same state", () => {
  const h = variedState(4500);
  const bytes = encodeSnapshot(h.sm);
  assert.notEqual(bytes[0], "{".charCodeAt(0));
  assert.equal(serialize(restoreSnapshot(decodeSnapshot(bytes))), serialize(h.sm));
  assert.equal(isRestorableSnapshot(bytes), true);
  const json = JSON.stringify(takeSnapshot(h.sm)).length;
  assert.ok(bytes.length * 2 < json, `${bytes.length} bytes against ${json} of JSON`);
});

Deno.test("decodeSnapshot() still reads format 1: JSON lines with histories as event lists", () => {
  const h = variedState(20);
  const legacy = encodeLegacySnapshot(h.sm);
  assert.equal(serialize(restoreSnapshot(decodeSnapshot(legacy))), serialize(h.sm));
  assert.equal(isRestorableSnapshot(legacy), true);
});

Deno.test("decodeSnapshot() still reads a snapshot written as one JSON document", () => {
  const h = new Harness();
  h.join("w1");
  h.submitTask();
  const legacy = new TextEncoder().encode(serialize(h.sm));
  assert.equal(serialize(restoreSnapshot(decodeSnapshot(legacy))), serialize(h.sm));
});

Deno.test("isRestorableSnapshot() refuses truncated, padded or mislabelled snapshot bytes", () => {
  const h = variedState(2500);
  const bytes = encodeSnapshot(h.sm);
  const parts = [...encodeSnapshotPartsSync(h.sm)];
  assert.equal(parts.length, 3, "a header and two batches");
  const withoutLast = bytes.subarray(0, bytes.length - parts[2].length);
  assert.equal(isRestorableSnapshot(withoutLast), false, "a batch missing");
  assert.equal(isRestorableSnapshot(bytes.subarray(0, bytes.length - 3)), false, "cut mid-batch");
  assert.equal(isRestorableSnapshot(concatBytes([bytes, parts[2]])), false, "an extra batch");
  assert.equal(isRestorableSnapshot(concatBytes([bytes, new Uint8Array(1)])), false, "a byte more");
  const header = JSON.parse(new TextDecoder().decode(parts[0].subarray(8)));
  for (const lie of [{ batches: 1 }, { batches: 3 }, { taskCount: 2499 }]) {
    const lying = new TextEncoder().encode(JSON.stringify({ ...header, ...lie }));
    const relabelled = concatBytes([
      parts[0].subarray(0, 4),
      lengthPrefixed(lying),
      ...parts.slice(1),
    ]);
    assert.equal(isRestorableSnapshot(relabelled), false, JSON.stringify(lie));
  }
});

Deno.test("decodeSnapshot() of damaged bytes throws a RangeError or SyntaxError, never anything else", () => {
  const bytes = encodeSnapshot(variedState(300).sm);
  const rng = createPrng(7);
  for (let round = 0; round < 3000; round++) {
    const damaged = bytes.slice(0, rng.int(0, bytes.length));
    for (let flips = rng.int(0, 3); flips > 0; flips--) {
      if (damaged.length > 0) damaged[rng.int(0, damaged.length - 1)] = rng.int(0, 255);
    }
    try {
      decodeSnapshot(damaged);
    } catch (error) {
      assert.ok(error instanceof RangeError || error instanceof SyntaxError, String(error));
    }
    isRestorableSnapshot(damaged); // never throws
  }
});

Deno.test("encodeSnapshotParts() yields encodeSnapshot()'s bytes, a pause before each batch", async () => {
  const h = variedState(4500);
  const expected = encodeSnapshot(h.sm);
  let pauses = 0;
  const parts: Uint8Array[] = [];
  for await (
    const part of encodeSnapshotParts(h.sm, () => {
      pauses += 1;
      return Promise.resolve();
    })
  ) parts.push(part);
  assert.equal(parts.length, 4, "a header and three batches");
  assert.equal(pauses, 3);
  assert.deepEqual(concatBytes(parts), expected);
});

Deno.test("encodeSnapshotInSteps() gives the state at its call, whatever changes in its pauses", async () => {
  const h = new Harness();
  h.join("w1");
  const ids = Array.from({ length: 4500 }, () => h.submitTask());
  h.assign(ids[0], "w1");
  h.finish(ids[0]); // final before the call
  h.assign(ids[1], "w1"); // running at the call
  const expected = encodeSnapshot(h.sm);
  let pauses = 0;
  const bytes = await encodeSnapshotInSteps(h.sm, () => {
    // Between batches the machine moves on: a running task finishes, queued ones start.
    if (pauses === 0) h.finish(ids[1]);
    h.assign(ids[2 + pauses], "w1");
    pauses += 1;
    return Promise.resolve();
  });
  assert.equal(pauses, 3, "one pause before each of the three batches");
  assert.deepEqual(bytes, expected);
});

/** The parts of encodeSnapshotParts without pauses (the state does not change meanwhile). */
function* encodeSnapshotPartsSync(sm: TaskStateMachine): Generator<Uint8Array> {
  const bytes = encodeSnapshot(sm);
  let at = 4;
  const lengthAt = (i: number) =>
    new DataView(bytes.buffer, bytes.byteOffset + i, 4).getUint32(0, true);
  yield bytes.subarray(0, at + 4 + lengthAt(at));
  at += 4 + lengthAt(at);
  while (at < bytes.length) {
    const end = at + 4 + lengthAt(at);
    yield bytes.subarray(at, end);
    at = end;
  }
}

Deno.test("tasks finished without output share one frozen outcome, also after a restore", () => {
  const h = new Harness();
  h.join("w1", { slots: 4 });
  const ids = Array.from({ length: 4 }, () => h.submitTask());
  for (const id of ids) h.assign(id, "w1");
  for (const id of ids.slice(0, 3)) h.finish(id);
  h.finish(ids[3], { outcome: outcome({ stdout: "hello" }) });
  for (const sm of [h.sm, roundTrip(h.sm)]) {
    const [a, b, c, d] = ids.map((id) => sm.tasks.get(id)!.result!);
    assert.equal(a, b);
    assert.equal(b, c);
    assert.ok(Object.isFrozen(a));
    assert.notEqual(c, d, "an outcome with output is the task's own");
    assert.deepEqual(a, outcome());
  }
});

Deno.test("outcomes differing only in status, exit code or duration are not mixed up", () => {
  const h = new Harness();
  h.join("w1", { slots: 8 });
  const outcomes = [
    outcome(),
    outcome({ status: "failed" }),
    outcome({ exitCode: 0 }),
    outcome({ exitCode: 1 }),
    outcome({ exitCode: 255 }),
    outcome({ exitCode: 256 }),
    outcome({ exitCode: -1 }),
    outcome({ durationMs: 26 }),
  ];
  const ids = outcomes.map(() => h.submitTask());
  ids.forEach((id) => h.assign(id, "w1"));
  ids.forEach((id, i) => h.finish(id, { outcome: outcomes[i] }));
  assert.deepEqual(ids.map((id) => h.sm.tasks.get(id)!.result), outcomes);
  assert.deepEqual(ids.map((id) => roundTrip(h.sm).tasks.get(id)!.result), outcomes);
});

Deno.test("encodeSnapshotParts() captures the state at its call, before the first part is asked for", async () => {
  const h = new Harness();
  h.join("w1");
  const id = h.submitTask();
  h.assign(id, "w1");
  const expected = encodeSnapshot(h.sm);
  const parts = encodeSnapshotParts(h.sm, () => Promise.resolve());
  h.finish(id); // between the call and the first next()
  h.submitTask();
  const received: Uint8Array[] = [];
  for await (const part of parts) received.push(part);
  assert.deepEqual(concatBytes(received), expected);
});

Deno.test("encodeSnapshot() keeps a task id that is not t-<seq> (most are, and are not stored)", () => {
  const h = new Harness();
  h.submitTask();
  const task = h.sm.tasks.get("t-1")!;
  task.id = "imported-1";
  const restored = roundTrip(h.sm);
  assert.equal(restored.tasks.get("imported-1")?.seq, 1);
  assert.equal(restored.tasks.has("t-1"), false);
});
