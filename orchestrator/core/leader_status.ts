/**
 * What a node that cannot serve a request says about the leader: the error code, the message
 * (who leads, or that an election or a lost quorum is why there is none) and the leader hint.
 * @module
 */
import type { ConsensusLog } from "../raft/mod.ts";
import type { Command } from "../tasks/mod.ts";

/** The "not leader" refusal of one node at one moment. */
export interface NotLeader {
  /** "not_leader" when a leader is known or may soon be; "unavailable" without a quorum. */
  code: "not_leader" | "unavailable";
  message: string;
  /** The leader's "host:port" (or id), when another node leads. */
  leaderHint: string | undefined;
}

/** What this node knows of itself and its peers, to describe the leader. */
export interface Self {
  nodeId: string;
  peers?: ReadonlyArray<{ id: string; address: string }>;
}

/** Describes why `log`'s node is not the leader it was asked to be. */
export function notLeader(log: ConsensusLog<Command>, self: Self, nowMs: number): NotLeader {
  return {
    code: notLeaderCode(log, nowMs),
    message: notLeaderMessage(log, self.nodeId, nowMs),
    leaderHint: leaderHint(log, self),
  };
}

function notLeaderMessage(log: ConsensusLog<Command>, nodeId: string, nowMs: number): string {
  const leader = log.leaderId;
  if (leader !== null) {
    return `Orchestrator ${nodeId} is not the leader; the leader is ${leader}`;
  }
  const { voters, reachableVoters, justStarted } = log.status(nowMs);
  const quorum = Math.floor(voters / 2) + 1;
  if (reachableVoters < quorum && !justStarted) {
    return `No quorum: orchestrator ${nodeId} reaches ${reachableVoters} of ${voters} ` +
      `orchestrators (itself included) and a majority of ${quorum} is needed; writes are refused`;
  }
  return `Orchestrator ${nodeId} is not the leader and an election is in progress`;
}

function notLeaderCode(log: ConsensusLog<Command>, nowMs: number): NotLeader["code"] {
  if (log.leaderId !== null) return "not_leader";
  const { voters, reachableVoters, justStarted } = log.status(nowMs);
  return reachableVoters < Math.floor(voters / 2) + 1 && !justStarted
    ? "unavailable"
    : "not_leader";
}

function leaderHint(log: ConsensusLog<Command>, self: Self): string | undefined {
  const leader = log.leaderId;
  if (leader === null || leader === self.nodeId) return undefined;
  return self.peers?.find((p) => p.id === leader)?.address ?? leader;
}
