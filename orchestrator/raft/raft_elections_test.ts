// Proves the term and election rules: bounded term jumps, stale senders told the new term,
// pre-vote that changes nothing durable, vote stickiness while a leader is alive, a rejoining node
// that never votes, check-quorum, and the staggered election after a leader disconnects.
import assert from "node:assert/strict";
import { entries, MIN_MS, newState, sentTypes } from "./_raft_fixtures_test.ts";
import {
  acceptLeader,
  campaign,
  checkQuorum,
  inLease,
  normalizeTerm,
  onElectionTimeout,
  onLeaderDisconnected,
  onRequestVote,
  onVoteResponse,
  TERM_JUMP_MAX,
} from "./raft_elections.ts";

const vote = (term: number, preVote: boolean) => ({
  type: "requestVote" as const,
  term,
  lastLogIndex: 0,
  lastLogTerm: 0,
  preVote,
});

Deno.test("a term jump beyond TERM_JUMP_MAX is ignored", () => {
  const state = newState({ hardState: { term: 1, votedFor: null } });
  assert.equal(normalizeTerm(state, "n2", vote(1 + TERM_JUMP_MAX + 1, false)), false);
  assert.equal(state.term, 1);
  assert.equal(normalizeTerm(state, "n2", vote(1 + TERM_JUMP_MAX, false)), true);
  assert.equal(state.term, 1 + TERM_JUMP_MAX);
});

Deno.test("a stale leader's AppendEntries is answered with the current term", () => {
  const state = newState({ hardState: { term: 5, votedFor: null } });
  const stale = {
    type: "appendEntries" as const,
    term: 4,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [],
    leaderCommit: 0,
    readCtx: 0,
  };
  assert.equal(normalizeTerm(state, "n2", stale), false);
  assert.deepEqual(sentTypes(state), ["n2:appendResponse!"]);
  assert.equal(state.out.messagesAfterPersist[0].message.term, 5);
});

Deno.test("a pre-vote campaign asks for term + 1 without changing the term or the vote", () => {
  const state = newState({ hardState: { term: 3, votedFor: null }, entries: entries(1, [3]) });
  campaign(state, true);
  assert.equal(state.role, "preCandidate");
  assert.equal(state.term, 3);
  assert.equal(state.out.hardState, null);
  assert.deepEqual(sentTypes(state), ["n2:requestVote", "n3:requestVote"]);
  onVoteResponse(state, "n2", { type: "voteResponse", term: 4, granted: true, preVote: true });
  assert.equal(state.role, "candidate", "a granted pre-vote leads to the real election");
  assert.equal(state.term, 4);
  assert.deepEqual(state.out.hardState, { term: 4, votedFor: "n1" });
});

Deno.test("a node that heard from its leader recently refuses pre-votes and ignores candidates", () => {
  const state = newState({ hardState: { term: 2, votedFor: null }, nowMs: 1000 });
  acceptLeader(state, "n2");
  assert.equal(inLease(state), true);
  onRequestVote(state, "n3", vote(3, true));
  const answer = state.out.messages[0].message;
  assert.equal(answer.type === "voteResponse" && answer.granted, false);
  assert.equal(normalizeTerm(state, "n3", vote(3, false)), false);
  assert.equal(state.term, 2);
  state.nowMs += MIN_MS;
  assert.equal(inLease(state), false);
});

Deno.test("a rejoining node grants no vote and does not campaign at its deadline", () => {
  const state = newState({ hardState: { term: 2, votedFor: null, rejoining: true } });
  onRequestVote(state, "n2", vote(2, false));
  const answer = state.out.messagesAfterPersist[0].message;
  assert.equal(answer.type === "voteResponse" && answer.granted, false);
  onElectionTimeout(state);
  assert.equal(state.role, "follower");
  assert.equal(state.term, 2);
});

Deno.test("a vote is granted once per term and made durable before the answer", () => {
  const state = newState({ hardState: { term: 2, votedFor: null } });
  onRequestVote(state, "n2", vote(2, false));
  onRequestVote(state, "n3", vote(2, false));
  assert.equal(state.votedFor, "n2");
  assert.deepEqual(state.out.hardState, { term: 2, votedFor: "n2" });
  const granted = state.out.messagesAfterPersist.map((m) =>
    m.message.type === "voteResponse" && m.message.granted
  );
  assert.deepEqual(granted, [true, false]);
});

Deno.test("a candidate with a quorum of votes becomes leader and appends its no-op", () => {
  const state = newState({ hardState: { term: 1, votedFor: null }, nowMs: 500 });
  campaign(state, false);
  onVoteResponse(state, "n3", { type: "voteResponse", term: 2, granted: true, preVote: false });
  assert.equal(state.role, "leader");
  assert.deepEqual(state.out.entries.map((e) => [e.index, e.term, e.command]), [[
    1,
    2,
    "noop@500",
  ]]);
});

Deno.test("check-quorum makes a leader that heard from no majority step down", () => {
  const state = newState({ hardState: { term: 1, votedFor: null } });
  campaign(state, false);
  onVoteResponse(state, "n2", { type: "voteResponse", term: 2, granted: true, preVote: false });
  state.progress.get("n2")!.recentActive = true;
  checkQuorum(state);
  assert.equal(state.role, "leader");
  checkQuorum(state);
  assert.equal(state.role, "follower");
  assert.equal(state.leaderId, null);
});

Deno.test("a follower whose leader disconnects campaigns within its rank's stagger", () => {
  const state = newState({ nodeId: "n3", hardState: { term: 1, votedFor: null }, nowMs: 0 });
  acceptLeader(state, "n1");
  onLeaderDisconnected(state, "n2"); // not the leader: nothing changes
  assert.equal(inLease(state), true);
  onLeaderDisconnected(state, "n1");
  assert.equal(inLease(state), false);
  // n3 is third: two steps of half a heartbeat, plus at most a quarter heartbeat of jitter.
  assert.ok(state.electionDeadlineMs >= 50 && state.electionDeadlineMs < 62.5);
});
