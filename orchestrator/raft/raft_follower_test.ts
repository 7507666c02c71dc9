// Proves the follower side of AppendEntries: malformed batches are refused whole, a gap or a
// conflict is answered with where to retry (skipping a whole conflicting term), committed entries
// are never overwritten, and the commit index follows the leader only as far as the log matches.
import assert from "node:assert/strict";
import type { RaftEntry, RaftMessageOf } from "./consensus_log.ts";
import { type Cmd, entries, newState } from "./_raft_fixtures_test.ts";
import { conflictHint, onAppendEntries, wellFormedEntries } from "./raft_follower.ts";

function append(
  term: number,
  prev: [number, number],
  list: RaftEntry<Cmd>[],
  leaderCommit = 0,
): RaftMessageOf<Cmd, "appendEntries"> {
  return {
    type: "appendEntries",
    term,
    prevLogIndex: prev[0],
    prevLogTerm: prev[1],
    entries: list,
    leaderCommit,
    readCtx: 0,
  };
}

function lastAnswer(state: ReturnType<typeof newState>) {
  const message = state.out.messagesAfterPersist.at(-1)?.message;
  assert.ok(message?.type === "appendResponse");
  return message;
}

Deno.test("wellFormedEntries refuses gaps, terms going back and terms past the leader's", () => {
  assert.equal(wellFormedEntries(append(2, [0, 0], entries(1, [1, 2]))), true);
  assert.equal(
    wellFormedEntries(append(2, [0, 0], [...entries(1, [1]), ...entries(3, [1])])),
    false,
  );
  assert.equal(wellFormedEntries(append(2, [0, 0], entries(1, [2, 1]))), false);
  assert.equal(wellFormedEntries(append(2, [0, 0], entries(1, [3]))), false);
  assert.equal(wellFormedEntries(append(2, [1, 3], [])), false);
});

Deno.test("conflictHint points at the start of the conflicting term's run, above the commit index", () => {
  const state = newState({ entries: entries(1, [1, 2, 2, 2]) });
  assert.equal(conflictHint(state, 4), 2);
  state.commitIndex = 2;
  assert.equal(conflictHint(state, 4), 3);
});

Deno.test("a follower takes in entries, answers with its match and commits up to the leader's index", () => {
  const state = newState({ hardState: { term: 1, votedFor: null } });
  onAppendEntries(state, "n2", append(1, [0, 0], entries(1, [1, 1]), 5));
  assert.equal(state.leaderId, "n2");
  assert.deepEqual(state.out.entries.map((e) => e.index), [1, 2]);
  assert.equal(state.commitIndex, 2, "no further than the entries it has from this leader");
  const answer = lastAnswer(state);
  assert.equal(answer.success, true);
  assert.equal(answer.matchIndex, 2);
  assert.deepEqual(state.out.committed, [], "nothing is applied before it is durable");
});

Deno.test("a gap is answered with the index after the follower's last entry", () => {
  const state = newState({ hardState: { term: 2, votedFor: null }, entries: entries(1, [1]) });
  onAppendEntries(state, "n2", append(2, [5, 2], entries(6, [2])));
  const answer = lastAnswer(state);
  assert.equal(answer.success, false);
  assert.equal(answer.conflictIndex, 2);
});

Deno.test("a conflicting uncommitted suffix is replaced; a committed entry is never", () => {
  const state = newState({
    hardState: { term: 3, votedFor: null },
    entries: entries(1, [1, 2, 2]),
  });
  state.commitIndex = 1;
  onAppendEntries(state, "n2", append(3, [1, 1], entries(2, [3, 3])));
  assert.deepEqual([state.log.termAt(2), state.log.termAt(3)], [3, 3]);
  assert.equal(state.persistedIndex, 1, "the replaced entries are no longer durable");
  state.commitIndex = 3;
  onAppendEntries(state, "n2", append(3, [1, 1], entries(2, [1])));
  assert.equal(state.log.termAt(2), 3);
});
