// Proves the ReadIndex rules: a read is served at the commit index only on a leader whose own
// term has committed an entry and once a quorum acknowledged its read context; otherwise it waits
// or fails.
import assert from "node:assert/strict";
import { entries, leaderState, newState } from "./_raft_fixtures_test.ts";
import { advanceReads, failReads, requestRead } from "./raft_reads.ts";

Deno.test("a follower fails a read at once", () => {
  const state = newState();
  requestRead(state, 7);
  assert.deepEqual(state.out.readsFailed, [7]);
  assert.deepEqual(state.pendingReads, []);
});

Deno.test("a leader waits for an entry of its own term to commit before serving a read", () => {
  const state = leaderState(2, { entries: entries(1, [1, 2]) });
  state.commitIndex = 1; // an entry of term 1 only
  for (const p of state.progress.values()) p.readCtxAcked = 5;
  requestRead(state, 1);
  assert.equal(state.out.readsReady.length, 0);
  assert.equal(state.readBroadcastNeeded, true);
  state.commitIndex = 2;
  advanceReads(state);
  assert.deepEqual(state.out.readsReady, [{ id: 1, readIndex: 2 }]);
});

Deno.test("a read is served once a quorum, the leader included, acknowledged its context", () => {
  const state = leaderState(1, { entries: entries(1, [1]) });
  state.commitIndex = 1;
  requestRead(state, 1);
  requestRead(state, 2);
  assert.equal(state.out.readsReady.length, 0);
  state.progress.get("n3")!.readCtxAcked = 1; // one follower plus the leader: a quorum of 3
  advanceReads(state);
  assert.deepEqual(state.out.readsReady, [{ id: 1, readIndex: 1 }]);
  state.progress.get("n2")!.readCtxAcked = 2;
  advanceReads(state);
  assert.deepEqual(state.out.readsReady.map((r) => r.id), [1, 2]);
});

Deno.test("a lone leader serves reads without asking anyone", () => {
  const state = leaderState(1, { voters: ["n1"], entries: entries(1, [1]) });
  state.commitIndex = 1;
  requestRead(state, 3);
  assert.deepEqual(state.out.readsReady, [{ id: 3, readIndex: 1 }]);
  assert.equal(state.readBroadcastNeeded, false);
});

Deno.test("failReads fails every pending read and forgets them", () => {
  const state = leaderState(1, { entries: entries(1, [1]) });
  requestRead(state, 1);
  requestRead(state, 2);
  failReads(state);
  assert.deepEqual(state.out.readsFailed, [1, 2]);
  assert.deepEqual(state.pendingReads, []);
});
