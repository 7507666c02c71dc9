// Proves the rejoin rule: only an empty (or already rejoining) store may start rejoining, the
// flag is persisted first, and rejoining ends only once the commit index the current leader first
// sent is both committed and durable here, with a vote for that leader recorded.
import assert from "node:assert/strict";
import { newState } from "./_raft_fixtures_test.ts";
import { canRejoin, maybeFinishRejoin, noteRejoinTarget, startRejoin } from "./raft_rejoin.ts";

const EMPTY = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [], nowMs: 0 };

Deno.test("only an empty store or a rejoin under way may rejoin", () => {
  assert.equal(canRejoin(EMPTY), true);
  assert.equal(canRejoin({ ...EMPTY, hardState: { term: 1, votedFor: null } }), false);
  assert.equal(canRejoin({ ...EMPTY, entries: [{ index: 1, term: 1, command: "x" }] }), false);
  assert.equal(
    canRejoin({ ...EMPTY, hardState: { term: 4, votedFor: "n2", rejoining: true } }),
    true,
  );
});

Deno.test("starting to rejoin persists the flag first; a lone voter cannot rejoin", () => {
  const state = newState();
  startRejoin(state, { rejoin: true, restore: EMPTY });
  assert.equal(state.rejoining, true);
  assert.deepEqual(state.out.hardState, { term: 0, votedFor: null, rejoining: true });
  assert.throws(() => startRejoin(newState({ voters: ["n1"] }), { rejoin: true, restore: EMPTY }));
  assert.throws(() =>
    startRejoin(newState({ hardState: { term: 1, votedFor: null } }), {
      rejoin: true,
      restore: { ...EMPTY, hardState: { term: 1, votedFor: null } },
    })
  );
});

Deno.test("rejoining ends once the first commit index heard is committed and durable", () => {
  const state = newState({ hardState: { term: 3, votedFor: null, rejoining: true } });
  state.leaderId = "n2";
  noteRejoinTarget(state, 4);
  noteRejoinTarget(state, 9); // only the first one heard in this term counts
  assert.equal(state.rejoinTargetIndex, 4);
  for (let index = 1; index <= 4; index++) {
    state.log.append({ index, term: index < 4 ? 2 : 3, command: "x" } as never);
  }
  state.commitIndex = 4;
  state.persistedIndex = 3;
  maybeFinishRejoin(state);
  assert.equal(state.rejoining, true, "not yet durable");
  state.persistedIndex = 4;
  maybeFinishRejoin(state);
  assert.equal(state.rejoining, false);
  assert.equal(state.votedFor, "n2");
  assert.deepEqual(state.out.hardState, { term: 3, votedFor: "n2" });
});

Deno.test("rejoining does not end on a new leader's commit index before it commits in its term", () => {
  // Soak seed 49126: a fresh leader first sends commit 0; ending there let an empty log vote.
  const state = newState({ hardState: { term: 3, votedFor: null, rejoining: true } });
  state.leaderId = "n2";
  noteRejoinTarget(state, 0);
  maybeFinishRejoin(state);
  assert.equal(state.rejoining, true, "ended before holding an entry committed in this term");
  for (let index = 1; index <= 3; index++) {
    state.log.append({ index, term: index < 3 ? 1 : 3, command: "x" } as never);
  }
  state.commitIndex = 2; // only earlier terms' entries committed so far
  state.persistedIndex = 3;
  maybeFinishRejoin(state);
  assert.equal(state.rejoining, true);
  state.commitIndex = 3; // the leader's own-term entry is committed: its commit index is complete
  maybeFinishRejoin(state);
  assert.equal(state.rejoining, false);
});
