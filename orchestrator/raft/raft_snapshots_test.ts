// Proves snapshot handling: compaction keeps a catch-up tail (and what the slowest follower needs
// on a leader), InstallSnapshot chunks are joined only in order from one leader and term, and a
// snapshot whose bytes do not cover the entry its header names is refused and counted.
import assert from "node:assert/strict";
import { bytesSnapshotSource } from "../storage/mod.ts";
import { Buffer } from "node:buffer";
import { crc32 } from "node:zlib";
import type { RaftMessageOf } from "./consensus_log.ts";
import { type Cmd, entries, leaderState, newState } from "./_raft_fixtures_test.ts";
import { compactToSnapshot, isInstallable, onInstallSnapshot } from "./raft_snapshots.ts";

function chunk(
  offset: number,
  bytes: number[],
  done: boolean,
  header = { index: 5, term: 1 },
): RaftMessageOf<Cmd, "installSnapshot"> {
  return {
    type: "installSnapshot",
    term: 2,
    snapshotIndex: header.index,
    snapshotTerm: header.term,
    offset,
    data: Buffer.from(bytes).toString("base64"),
    done,
  };
}

function lastAnswer(state: ReturnType<typeof newState>) {
  const all = [...state.out.messages, ...state.out.messagesAfterPersist];
  const message = all.at(-1)?.message;
  assert.ok(message?.type === "snapshotResponse");
  return message;
}

Deno.test("a follower compacts its log behind a snapshot but keeps catchUpEntries of tail", () => {
  const state = newState({ entries: entries(1, [1, 1, 1, 1, 1]), options: { catchUpEntries: 2 } });
  state.commitIndex = state.emittedIndex = 5;
  compactToSnapshot(state, { index: 5, term: 1, source: bytesSnapshotSource(new Uint8Array()) });
  assert.equal(state.log.firstIndex, 4);
  compactToSnapshot(state, { index: 4, term: 1, source: bytesSnapshotSource(new Uint8Array()) });
  assert.equal(state.snapshot?.index, 5, "an older snapshot is ignored");
});

Deno.test("a leader compacts up to what its slowest follower holds", () => {
  const state = leaderState(1, {
    entries: entries(1, [1, 1, 1, 1, 1]),
    options: { catchUpEntries: 4 },
  });
  state.commitIndex = state.emittedIndex = 5;
  state.progress.get("n2")!.match = 3;
  state.progress.get("n3")!.match = 5;
  compactToSnapshot(state, { index: 5, term: 1, source: bytesSnapshotSource(new Uint8Array()) });
  assert.equal(state.log.firstIndex, 4);
});

Deno.test("chunks in order are joined and the snapshot installed; out-of-order chunks restart", () => {
  const state = newState({ hardState: { term: 2, votedFor: null }, entries: entries(1, [1, 1]) });
  onInstallSnapshot(state, "n2", chunk(3, [9], false));
  assert.equal(lastAnswer(state).received, 0, "no transfer under way: start from offset 0");
  onInstallSnapshot(state, "n2", chunk(0, [1, 2], false));
  assert.equal(lastAnswer(state).received, 2);
  onInstallSnapshot(state, "n2", chunk(1, [2], false));
  assert.equal(lastAnswer(state).received, 2, "a chunk at the wrong offset is not taken");
  onInstallSnapshot(state, "n2", chunk(2, [3], true));
  const done = lastAnswer(state);
  assert.equal(done.done, true);
  assert.deepEqual([...state.out.snapshot!.data], [1, 2, 3]);
  assert.equal(state.out.snapshot!.discardLog, false, "the log did not reach index 5");
  assert.equal(state.commitIndex, 5);
  assert.equal(state.log.lastIndex, 5);
});

Deno.test("a snapshot whose bytes cover another entry than its header names is refused", () => {
  const state = newState({
    hardState: { term: 2, votedFor: null },
    options: { snapshotPosition: (data) => ({ index: data[0], term: 1 }) },
  });
  assert.equal(isInstallable(state, { index: 5, term: 1, data: new Uint8Array([5]) }), true);
  onInstallSnapshot(state, "n2", chunk(0, [4], true));
  assert.equal(state.refusedSnapshots, 1);
  assert.equal(state.out.snapshot, null);
  assert.equal(lastAnswer(state).done, false);
});

Deno.test("a snapshot whose bytes do not match the CRC sent with its last chunk is refused", () => {
  const state = newState({ hardState: { term: 2, votedFor: null } });
  onInstallSnapshot(state, "n2", chunk(0, [1, 2], false));
  // The leader read a damaged file: its trailer's CRC is of the bytes as they were written.
  onInstallSnapshot(state, "n2", {
    ...chunk(2, [4], true),
    crc32: crc32(new Uint8Array([1, 2, 3])),
  });
  assert.equal(state.refusedSnapshots, 1);
  assert.equal(state.out.snapshot, null);
  assert.equal(lastAnswer(state).done, false);
  onInstallSnapshot(state, "n2", chunk(0, [1, 2], false));
  onInstallSnapshot(state, "n2", {
    ...chunk(2, [3], true),
    crc32: crc32(new Uint8Array([1, 2, 3])),
  });
  assert.deepEqual([...state.out.snapshot!.data], [1, 2, 3], "the intact bytes are installed");
});

Deno.test("a leader sends the source's CRC with the last chunk", () => {
  const source = bytesSnapshotSource(new Uint8Array([7, 8, 9]));
  assert.equal(source.crc32, crc32(new Uint8Array([7, 8, 9])));
});

Deno.test("the same snapshot handed again swaps its source (the store's, once it is saved)", () => {
  const state = newState({ entries: entries(1, [1, 1, 1]) });
  state.commitIndex = state.emittedIndex = 3;
  const inMemory = bytesSnapshotSource(new Uint8Array([1]));
  const onDisk = bytesSnapshotSource(new Uint8Array([1]));
  compactToSnapshot(state, { index: 3, term: 1, source: inMemory });
  compactToSnapshot(state, { index: 3, term: 1, source: onDisk });
  assert.equal(state.snapshot?.source, onDisk);
  compactToSnapshot(state, { index: 3, term: 2, source: inMemory });
  assert.equal(state.snapshot?.source, onDisk, "another term at that index is not the same one");
});
