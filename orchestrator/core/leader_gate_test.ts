// Proves only a leader passes the gate, and only a leader that has applied its term's first
// entry and its bootstrap accounts may serve clients; others are told why, naming the leader.
import assert from "node:assert/strict";
import { LamportClock } from "../../shared/lamport_clock.ts";
import type { ConsensusLog } from "../raft/mod.ts";
import { type Command, TaskStateMachine } from "../tasks/mod.ts";
import { LeaderGate } from "./leader_gate.ts";
import { NodeOutput } from "./node_output.ts";

function gate(log: { isLeader: boolean; lastIndex: number; leaderId: string | null }) {
  const out = new NodeOutput(new LamportClock(0));
  out.recovering = false;
  const sm = new TaskStateMachine();
  const leaderGate = new LeaderGate({
    log: log as unknown as ConsensusLog<Command>,
    out,
    self: { nodeId: "o1", peers: [{ id: "o2", address: "o2:7700" }] },
    sm: () => sm,
    nowMs: () => 0,
  });
  return { leaderGate, out, sm };
}

Deno.test("a follower is refused with the leader's address as the hint", () => {
  const { leaderGate, out } = gate({ isLeader: false, lastIndex: 3, leaderId: "o2" });
  assert.equal(leaderGate.requireLeader(1, 2), false);
  const [reply] = out.take().send;
  assert.equal(reply.message.type === "error" && reply.message.leaderHint, "o2:7700");
});

Deno.test("a new leader is not ready until it has applied its term's first entry", () => {
  const { leaderGate, out } = gate({ isLeader: true, lastIndex: 1, leaderId: "o1" });
  leaderGate.roleChanged();
  assert.equal(leaderGate.isReady, false, "its state has applied nothing yet");
  assert.equal(leaderGate.requireReadyLeader(1, 2), false);
  const [reply] = out.take().send;
  assert.equal(reply.message.type === "error" && reply.message.code, "unavailable");
});

Deno.test("a leader whose term starts at index 0 is ready, unless bootstrap accounts are due", () => {
  const { leaderGate } = gate({ isLeader: true, lastIndex: 0, leaderId: "o1" });
  leaderGate.roleChanged();
  assert.equal(leaderGate.canServeClients, true);
  leaderGate.bootstrapIndex = 1;
  assert.equal(leaderGate.canServeClients, false);
});
