// Proves what RaftState takes up from storage, and that committed entries are handed out only
// once both committed and durable, each exactly once.
import assert from "node:assert/strict";
import { entries, newState } from "./_raft_fixtures_test.ts";

Deno.test("a restored state counts only the snapshot as committed and every entry as durable", () => {
  const state = newState({
    hardState: { term: 3, votedFor: "n2" },
    snapshot: { index: 4, term: 2, data: new Uint8Array([1]) },
    entries: entries(5, [2, 3]),
  });
  assert.equal(state.term, 3);
  assert.equal(state.votedFor, "n2");
  assert.equal(state.commitIndex, 4);
  assert.equal(state.emittedIndex, 4);
  assert.equal(state.persistedIndex, 6);
  assert.equal(state.quorum, 2);
  assert.deepEqual(state.peers, ["n2", "n3"]);
  assert.equal(state.rejoining, false);
});

Deno.test("emitCommitted hands out entries up to the lower of the commit and durable indexes, once", () => {
  const state = newState({ entries: entries(1, [1, 1, 1]) });
  state.persistedIndex = 2;
  state.commitIndex = 3;
  state.emitCommitted();
  assert.deepEqual(state.out.committed.map((e) => e.index), [1, 2]);
  state.emitCommitted();
  assert.deepEqual(state.out.committed.map((e) => e.index), [1, 2]);
  state.persistedIndex = 3;
  state.emitCommitted();
  assert.deepEqual(state.out.committed.map((e) => e.index), [1, 2, 3]);
});

Deno.test("the hard state carries the rejoining flag only while rejoining", () => {
  const state = newState({ hardState: { term: 2, votedFor: null } });
  state.persistHardState();
  assert.deepEqual(state.out.hardState, { term: 2, votedFor: null });
  state.rejoining = true;
  state.persistHardState();
  assert.deepEqual(state.out.hardState, { term: 2, votedFor: null, rejoining: true });
});

Deno.test("the election deadline falls between the minimum and maximum timeouts from now", () => {
  const state = newState({ nowMs: 1000 });
  for (let i = 0; i < 50; i++) {
    state.resetElectionTimer();
    assert.ok(state.electionDeadlineMs >= 1150 && state.electionDeadlineMs < 1300);
  }
});
