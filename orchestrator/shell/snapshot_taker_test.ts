// Proves that the snapshot taker writes a snapshot a part at a time as it is encoded (never
// joined in memory), publishes it through the persistence queue, and hands the node the store's
// source for it; and that a stop mid-way leaves no snapshot.
import assert from "node:assert/strict";
import { loggerFrom } from "../../shared/log.ts";
import type { OrchestratorNode } from "../core/mod.ts";
import type { SnapshotRef } from "../storage/mod.ts";
import { MemoryLogStorage } from "../storage/mod.ts";
import { encodeSnapshot, TaskStateMachine } from "../tasks/mod.ts";
import { GroupCommit } from "./group_commit.ts";
import { SnapshotTaker } from "./snapshot_taker.ts";

/** A state machine with `tasks` submitted tasks (one entry each). */
function stateWith(tasks: number): TaskStateMachine {
  const sm = new TaskStateMachine();
  for (let i = 1; i <= tasks; i++) {
    sm.apply({
      index: i,
      term: 1,
      command: {
        type: "taskSubmitted",
        owner: "alice",
        idempotencyKey: `key-${i}`,
        spec: { kind: "sleep", description: `task ${i}`, durationMs: 10 },
        maxAttempts: 3,
        atMs: 1_000 + i,
        lamport: i,
        node: "o1",
      },
    });
  }
  return sm;
}

function setUp(stop: { afterWrites: number } = { afterWrites: Infinity }) {
  const storage = new MemoryLogStorage();
  const writes: number[] = [];
  const created = storage.createSnapshotDraft.bind(storage);
  storage.createSnapshotDraft = async (index, term) => {
    const draft = await created(index, term);
    const write = draft.write.bind(draft);
    draft.write = (bytes) => {
      writes.push(bytes.length);
      return write(bytes);
    };
    return draft;
  };
  const taken: SnapshotRef[] = [];
  const errors: unknown[] = [];
  const node = { snapshotTaken: (ref: SnapshotRef) => taken.push(ref) };
  const commit = new GroupCommit(storage, {
    onDurable: () => {},
    onError: (error) => errors.push(error),
  });
  const lines: string[] = [];
  const taker = new SnapshotTaker({
    logger: loggerFrom((_level, message) => lines.push(message)),
    node: () => node as unknown as OrchestratorNode,
    commit: () => commit,
    storage: () => storage,
    isStopped: () => writes.length >= stop.afterWrites,
    die: (error) => errors.push(error),
  });
  return { storage, writes, taken, errors, taker, lines };
}

/** Waits for `done()`, an event-loop turn at a time (the taker yields between parts). */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !done(); turn++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.ok(done(), "did not happen within 1000 event-loop turns");
}

Deno.test("SnapshotTaker writes the state at its call in parts and hands the node the store's source", async () => {
  const sm = stateWith(4500);
  const expected = encodeSnapshot(sm);
  const { writes, taken, errors, taker, lines } = setUp();
  taker.take({ index: sm.appliedIndex, term: 1, state: sm });
  // The state moves on while the snapshot is encoded: the snapshot keeps the state at the call.
  sm.apply({
    index: sm.appliedIndex + 1,
    term: 1,
    command: {
      type: "taskCancelled",
      taskId: [...sm.tasks.keys()][0],
      by: "alice",
      atMs: 1,
      lamport: 9_000,
      node: "o1",
    },
  });
  await until(() => taken.length > 0 || errors.length > 0);
  assert.deepEqual(errors, []);
  assert.equal(writes.length, 4, "the header and three batches of tasks, each written on its own");
  assert.ok(Math.max(...writes) < expected.length / 2, "no write holds the whole snapshot");
  const [ref] = taken;
  assert.deepEqual([ref.index, ref.term], [4500, 1]);
  assert.deepEqual(ref.source.read(0, ref.source.byteLength), expected);
  assert.match(
    lines.join("\n"),
    new RegExp(`Snapshot at index 4500, term 1 \\(${expected.length} bytes\\)`),
  );
});

Deno.test("SnapshotTaker stopped mid-way publishes nothing and takes the next one asked", async () => {
  const sm = stateWith(2500);
  const stop = { afterWrites: 2 };
  const { storage, writes, taken, errors, taker } = setUp(stop);
  taker.take({ index: sm.appliedIndex, term: 1, state: sm });
  await until(() => writes.length >= 2);
  // Asked again while it runs (or once abandoned): only a taker that gave up starts again.
  stop.afterWrites = Infinity;
  await until(() => {
    taker.take({ index: sm.appliedIndex, term: 1, state: sm });
    return taken.length > 0 || errors.length > 0;
  });
  assert.deepEqual(errors, []);
  assert.equal(writes.length, 2 + 3, "two parts of the abandoned one, then a whole snapshot");
  assert.equal(storage.newestSnapshot?.index, 2500);
});
