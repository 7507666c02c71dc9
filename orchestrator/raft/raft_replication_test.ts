// Proves the leader side of replication: flow control (one probe at a time, a bounded pipeline),
// snapshots for followers behind the compacted log, commitment only of the leader's own term by
// counting, and what an answer from a follower changes.
import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { entries, leaderState, sentTypes } from "./_raft_fixtures_test.ts";
import type { SnapshotSource } from "./consensus_log.ts";
import { compactToSnapshot } from "./raft_snapshots.ts";
import {
  appendCommands,
  broadcastHeartbeat,
  flushProposals,
  maybeCommit,
  onAppendResponse,
  onSnapshotResponse,
  sendAppend,
} from "./raft_replication.ts";

Deno.test("appended commands become entries of the leader's term, staged and sent", () => {
  const state = leaderState(2, { entries: entries(1, [1]) });
  for (const p of state.progress.values()) p.probing = false;
  assert.equal(appendCommands(state, ["a", "b"]), 2);
  assert.deepEqual(state.out.entries.map((e) => [e.index, e.term, e.command]), [
    [2, 2, "a"],
    [3, 2, "b"],
  ]);
  assert.deepEqual(sentTypes(state), [], "sent at the flush, with the step's other proposals");
  flushProposals(state);
  assert.deepEqual(sentTypes(state), ["n2:appendEntries", "n3:appendEntries"]);
});

Deno.test("proposals of one step share one AppendEntries per follower", () => {
  const state = leaderState(2, { entries: entries(1, [1]) });
  for (const p of state.progress.values()) p.probing = false;
  appendCommands(state, ["a"]);
  appendCommands(state, ["b"]);
  appendCommands(state, ["c"]);
  flushProposals(state);
  const appends = state.out.messages.filter((m) => m.to === "n2");
  assert.equal(appends.length, 1);
  const message = appends[0].message;
  assert.equal(message.type, "appendEntries");
  if (message.type === "appendEntries") {
    assert.deepEqual(message.entries.map((e) => e.command), ["a", "b", "c"]);
  }
  flushProposals(state);
  assert.equal(state.out.messages.length, 2, "a second flush with nothing new sends nothing");
});

Deno.test("a probing follower gets one message at a time; a heartbeat resends the probe", () => {
  const state = leaderState(1, { entries: entries(1, [1, 1]) });
  const p = state.progress.get("n2")!;
  p.next = 1;
  sendAppend(state, "n2", false);
  sendAppend(state, "n2", false);
  assert.deepEqual(sentTypes(state), ["n2:appendEntries"]);
  assert.equal(p.inflight, 1);
  assert.equal(p.next, 1, "a probe does not advance next before its answer");
  broadcastHeartbeat(state);
  assert.equal(state.out.messages.filter((m) => m.to === "n2").length, 2);
});

Deno.test("the pipeline stops at maxInflightMessages", () => {
  const state = leaderState(1, {
    entries: entries(1, [1, 1, 1, 1]),
    options: { maxEntriesPerMessage: 1, maxInflightMessages: 2 },
  });
  const p = state.progress.get("n2")!;
  p.next = 1;
  p.probing = false;
  for (let i = 0; i < 4; i++) sendAppend(state, "n2", false);
  assert.equal(state.out.messages.length, 2);
  assert.equal(p.next, 3);
});

Deno.test("only the last chunk of a snapshot carries the CRC of its data", () => {
  const state = leaderState(2, {
    snapshot: { index: 5, term: 1, data: new Uint8Array([1, 2, 3, 4, 5]) },
    entries: entries(6, [2]),
    options: { snapshotChunkBytes: 3 },
  });
  const p = state.progress.get("n2")!;
  p.next = 3;
  sendAppend(state, "n2", false);
  const first = state.out.messages[0].message;
  assert.ok(first.type === "installSnapshot" && !first.done && first.crc32 === undefined);
  onSnapshotResponse(state, "n2", {
    type: "snapshotResponse",
    term: 2,
    snapshotIndex: 5,
    received: 3,
    done: false,
  });
  const last = state.out.messages[1].message;
  assert.ok(last.type === "installSnapshot" && last.done);
  assert.equal(last.crc32, crc32(new Uint8Array([1, 2, 3, 4, 5])));
});

Deno.test("a follower behind the compacted log is sent the snapshot in chunks", () => {
  const state = leaderState(2, {
    snapshot: { index: 5, term: 1, data: new Uint8Array(10) },
    entries: entries(6, [2]),
    options: { snapshotChunkBytes: 4 },
  });
  const p = state.progress.get("n2")!;
  p.next = 3;
  sendAppend(state, "n2", false);
  const first = state.out.messages[0].message;
  assert.equal(first.type, "installSnapshot");
  assert.equal(first.type === "installSnapshot" && first.done, false);
  onSnapshotResponse(state, "n2", {
    type: "snapshotResponse",
    term: 2,
    snapshotIndex: 5,
    received: 4,
    done: false,
  });
  assert.equal(p.sending?.offset, 4);
  assert.equal(state.out.messages.length, 2);
  onSnapshotResponse(state, "n2", {
    type: "snapshotResponse",
    term: 2,
    snapshotIndex: 5,
    received: 4,
    done: false,
  });
  assert.equal(state.out.messages.length, 2, "a repeated answer starts no second stream");
  onSnapshotResponse(state, "n2", {
    type: "snapshotResponse",
    term: 2,
    snapshotIndex: 5,
    received: 10,
    done: true,
  });
  assert.equal(p.sending, null);
  assert.equal(p.match, 5);
  assert.equal(state.out.messages.at(-1)?.message.type, "appendEntries", "entry 6 follows at once");
  assert.equal(p.next, 7);
});

Deno.test("only an entry of the current term is committed by counting", () => {
  const state = leaderState(2, { entries: entries(1, [1, 2]) });
  state.progress.get("n2")!.match = 1;
  maybeCommit(state);
  assert.equal(state.commitIndex, 0, "a quorum holds entry 1, but it is of term 1");
  state.progress.get("n2")!.match = 2;
  maybeCommit(state);
  assert.equal(state.commitIndex, 2);
  assert.deepEqual(state.out.committed.map((e) => e.index), [1, 2]);
});

Deno.test("a success past the leader's log is ignored; a refusal below the match lowers it", () => {
  const state = leaderState(1, { entries: entries(1, [1, 1, 1]) });
  const p = state.progress.get("n2")!;
  const answer = { type: "appendResponse" as const, term: 1, readCtx: 0 };
  onAppendResponse(state, "n2", { ...answer, success: true, matchIndex: 9, conflictIndex: 0 });
  assert.equal(p.match, 0);
  assert.equal(p.recentActive, true);
  onAppendResponse(state, "n2", { ...answer, success: true, matchIndex: 3, conflictIndex: 0 });
  assert.equal(p.match, 3);
  assert.equal(p.probing, false);
  onAppendResponse(state, "n2", { ...answer, success: false, matchIndex: 0, conflictIndex: 2 });
  assert.equal(p.match, 1, "a follower that lost what it acknowledged is caught up again");
  assert.equal(p.next, 2);
  assert.equal(p.probing, true);
});

Deno.test("one answer frees every in-flight message it covers (a follower answers once per sync)", () => {
  const state = leaderState(1, {
    entries: entries(1, [1, 1, 1, 1]),
    options: { maxEntriesPerMessage: 1, maxInflightMessages: 3 },
  });
  const p = state.progress.get("n2")!;
  p.next = 1;
  p.probing = false;
  for (let i = 0; i < 3; i++) sendAppend(state, "n2", false);
  assert.equal(p.inflight, 3);
  assert.deepEqual(p.inflightEnds, [1, 2, 3]);
  onAppendResponse(state, "n2", {
    type: "appendResponse",
    term: state.term,
    success: true,
    matchIndex: 2,
    conflictIndex: 0,
    readCtx: 0,
  });
  // The answer for 1 and 2 freed two places; with 4 to send, the window refills to three.
  assert.deepEqual(p.inflightEnds, [3, 4]);
  assert.equal(p.inflight, 2);
});

/** A source over `data` that counts its reads and fails them while `failing` is set. */
function countingSource(data: Uint8Array) {
  const reads: Array<[number, number]> = [];
  const control = { failing: false };
  const source: SnapshotSource = {
    byteLength: data.length,
    read(offset, length) {
      reads.push([offset, length]);
      if (control.failing) throw new Error("snapshot file removed");
      return data.slice(offset, offset + length);
    },
  };
  return { source, reads, control };
}

/** A leader of term 2 whose log is compacted to 4 behind a snapshot of `data`; n2 needs it. */
function leaderNeedingSnapshot(source: SnapshotSource) {
  const state = leaderState(2, { entries: entries(1, [1, 1, 1, 1, 2]) });
  state.commitIndex = state.emittedIndex = 4;
  compactToSnapshot(state, { index: 4, term: 1, source });
  state.log.compactTo(4);
  state.progress.get("n2")!.next = 1; // behind the compacted log
  return state;
}

function chunksTo(state: ReturnType<typeof leaderState>, peer: string) {
  return state.out.messages.flatMap(({ to, message }) =>
    to === peer && message.type === "installSnapshot" ? [message] : []
  );
}

Deno.test("a leader reads each snapshot chunk from the snapshot's source when it sends it", () => {
  const { source, reads } = countingSource(new Uint8Array([1, 2, 3, 4, 5]));
  const state = leaderNeedingSnapshot(source);
  state.options.snapshotChunkBytes = 2;
  assert.deepEqual(reads, [], "nothing is read before a follower needs it");
  sendAppend(state, "n2", false);
  assert.deepEqual(reads, [[0, 2]]);
  onSnapshotResponse(state, "n2", {
    type: "snapshotResponse",
    term: 2,
    snapshotIndex: 4,
    received: 2,
    done: false,
  });
  onSnapshotResponse(state, "n2", {
    type: "snapshotResponse",
    term: 2,
    snapshotIndex: 4,
    received: 4,
    done: false,
  });
  assert.deepEqual(reads, [[0, 2], [2, 2], [4, 1]], "one read per chunk, the last one short");
  const chunks = chunksTo(state, "n2");
  assert.deepEqual(chunks.map((c) => [c.offset, atob(c.data), c.done]), [
    [0, "\x01\x02", false],
    [2, "\x03\x04", false],
    [4, "\x05", true],
  ]);
});

Deno.test("a chunk that cannot be read stops the transfer with a warning; a heartbeat retries", () => {
  const { source, control } = countingSource(new Uint8Array([1, 2, 3]));
  const state = leaderNeedingSnapshot(source);
  control.failing = true;
  sendAppend(state, "n2", false);
  assert.deepEqual(chunksTo(state, "n2"), [], "nothing sent");
  assert.equal(state.progress.get("n2")!.sending, null, "the transfer is dropped");
  assert.equal(state.out.warnings.length, 1);
  assert.match(state.out.warnings[0], /Cannot send snapshot 4 to n2: .*snapshot file removed/);
  control.failing = false;
  broadcastHeartbeat(state);
  assert.deepEqual(chunksTo(state, "n2").map((c) => [c.offset, c.done]), [[0, true]]);
});

Deno.test("a source that returns fewer bytes than asked counts as a failed read", () => {
  const source: SnapshotSource = { byteLength: 3, read: () => new Uint8Array(1) };
  const state = leaderNeedingSnapshot(source);
  sendAppend(state, "n2", false);
  assert.deepEqual(chunksTo(state, "n2"), []);
  assert.match(state.out.warnings[0], /short read: 1 of 3 bytes/);
});
