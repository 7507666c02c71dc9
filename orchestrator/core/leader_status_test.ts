// Proves the "not leader" refusal names the leader when one is known (with its address as the
// hint), and otherwise says whether an election is under way or the quorum is lost.
import assert from "node:assert/strict";
import type { ConsensusLog, ConsensusStatus } from "../raft/mod.ts";
import type { Command } from "../tasks/mod.ts";
import { notLeader } from "./leader_status.ts";

function fakeLog(
  leaderId: string | null,
  status: Partial<ConsensusStatus> = {},
): ConsensusLog<Command> {
  return {
    leaderId,
    status: () => ({ voters: 3, reachableVoters: 3, justStarted: false, ...status }),
  } as unknown as ConsensusLog<Command>;
}

const SELF = { nodeId: "o1", peers: [{ id: "o2", address: "o2.example:7700" }] };

Deno.test("a follower that knows the leader names it and hints at its address", () => {
  assert.deepEqual(notLeader(fakeLog("o2"), SELF, 0), {
    code: "not_leader",
    message: "Orchestrator o1 is not the leader; the leader is o2",
    leaderHint: "o2.example:7700",
  });
});

Deno.test("without a leader, a node says an election is under way while it reaches a quorum", () => {
  const refusal = notLeader(fakeLog(null), SELF, 0);
  assert.equal(refusal.code, "not_leader");
  assert.match(refusal.message, /election is in progress/);
  assert.equal(refusal.leaderHint, undefined);
});

Deno.test("without a quorum, a node says writes are refused and answers unavailable", () => {
  const refusal = notLeader(fakeLog(null, { reachableVoters: 1 }), SELF, 0);
  assert.equal(refusal.code, "unavailable");
  assert.match(refusal.message, /^No quorum: orchestrator o1 reaches 1 of 3/);
});
