/**
 * Terms, roles and elections: the term rules every message passes first, becoming follower,
 * candidate or leader, and the votes themselves. Beyond the paper's figure 2:
 * - pre-vote (dissertation 9.6): a node that was partitioned away asks first whether it could
 *   win, so rejoining never bumps the term of a healthy cluster; nodes that heard from a leader
 *   recently refuse such requests (vote stickiness);
 * - check-quorum: a leader that has not heard from a majority within an election timeout steps
 *   down, so a partitioned leader stops serving;
 * - a rejoining node (raft_rejoin.ts) neither campaigns nor grants a (pre-)vote.
 * @module
 */
import type { RaftMessage, RaftMessageOf } from "./consensus_log.ts";
import { failReads } from "./raft_reads.ts";
import { appendCommands, broadcastHeartbeat } from "./raft_replication.ts";
import { freshProgress, type RaftState } from "./raft_state.ts";

/** The largest term increase accepted from a peer (a million elections ahead is not a real peer). */
export const TERM_JUMP_MAX = 2 ** 20;

/**
 * Applies the term rules common to every message. Returns false when the
 * message must be ignored (or was fully answered here).
 */
export function normalizeTerm<C>(state: RaftState<C>, from: string, m: RaftMessage<C>): boolean {
  // Terms grow by one per election: a jump this large is a bug or an attack, and adopting it
  // would leave no room to campaign (the next term must still be a valid number).
  if (m.term > state.term + TERM_JUMP_MAX) return false;
  if (m.type === "requestVote" && m.preVote) return true; // pre-votes never change terms
  if (m.type === "voteResponse" && m.preVote && m.granted) return true;
  if (m.term > state.term) {
    if (m.type === "requestVote" && inLease(state)) {
      // Vote stickiness (check-quorum): a live leader exists; a disruptive candidate is ignored.
      return false;
    }
    const leader = m.type === "appendEntries" || m.type === "installSnapshot" ? from : null;
    becomeFollower(state, m.term, leader);
    return true;
  }
  if (m.term < state.term) {
    // A stale leader learns the new term from our reply and steps down.
    if (m.type === "appendEntries") {
      state.sendLater(from, {
        type: "appendResponse",
        term: state.term,
        success: false,
        matchIndex: 0,
        conflictIndex: 0,
        readCtx: 0,
      });
    } else if (m.type === "installSnapshot") {
      state.sendLater(from, {
        type: "snapshotResponse",
        term: state.term,
        snapshotIndex: m.snapshotIndex,
        received: 0,
        done: false,
      });
    } else if (m.type === "requestVote") {
      state.sendLater(from, {
        type: "voteResponse",
        term: state.term,
        granted: false,
        preVote: false,
      });
    }
    return false;
  }
  return true;
}

export function becomeFollower<C>(
  state: RaftState<C>,
  term: number,
  leaderId: string | null,
): void {
  const changed = state.role !== "follower" || state.leaderId !== leaderId || term !== state.term;
  if (term > state.term) {
    state.term = term;
    state.votedFor = null;
    state.rejoinTargetIndex = null; // catch up with this term's leader instead
    state.persistHardState();
  }
  if (state.role === "leader") failReads(state);
  state.role = "follower";
  state.leaderId = leaderId;
  state.votes.clear();
  state.resetElectionTimer();
  if (changed) state.out.roleChanged = true;
}

/** Follows `from`, the leader of the current term, and notes that it is alive. */
export function acceptLeader<C>(state: RaftState<C>, from: string): void {
  if (state.role !== "follower" || state.leaderId !== from) {
    becomeFollower(state, state.term, from);
  }
  state.leaderContactMs = state.nowMs;
  state.resetElectionTimer();
}

/** At the election deadline of a node that is not leader. */
export function onElectionTimeout<C>(state: RaftState<C>): void {
  // A rejoining node may have voted in terms it no longer remembers: it waits for a leader.
  if (state.rejoining) state.resetElectionTimer();
  else campaign(state, true);
}

/** The leader `from` closed its connection: campaign soon, staggered by rank. */
export function onLeaderDisconnected<C>(state: RaftState<C>, from: string): void {
  if (state.role !== "follower" || state.leaderId !== from) return;
  // Give up the lease at once and campaign after a short pause. The pause is staggered by
  // the node's rank among the voters (half a heartbeat apart, plus a little jitter), so the
  // surviving followers do not start together and split the vote. Pre-vote still protects
  // a leader that is in fact alive: the others will have heard from it.
  state.leaderContactMs = -Infinity;
  const step = state.options.heartbeatIntervalMs / 2;
  const rank = state.options.voters.indexOf(state.nodeId);
  const delayMs = rank * step + state.options.rng.next() * step / 2;
  state.electionDeadlineMs = Math.min(state.electionDeadlineMs, state.nowMs + delayMs);
}

export function campaign<C>(state: RaftState<C>, preVote: boolean): void {
  if (preVote) {
    state.role = "preCandidate";
    state.leaderId = null;
    state.votes = new Set([state.nodeId]);
    state.resetElectionTimer();
    state.out.roleChanged = true;
    if (state.votes.size >= state.quorum) return campaign(state, false);
    for (const peer of state.peers) {
      // Nothing to persist for a pre-vote: it changes no durable state.
      state.sendNow(peer, {
        type: "requestVote",
        term: state.term + 1,
        lastLogIndex: state.log.lastIndex,
        lastLogTerm: state.log.lastTerm,
        preVote: true,
      });
    }
    return;
  }
  state.term += 1;
  state.votedFor = state.nodeId;
  state.persistHardState();
  state.role = "candidate";
  state.leaderId = null;
  state.votes = new Set([state.nodeId]);
  state.resetElectionTimer();
  state.out.roleChanged = true;
  if (state.votes.size >= state.quorum) return becomeLeader(state);
  for (const peer of state.peers) {
    // Our own vote must be durable first, or a crash could let us vote twice in this term.
    state.sendLater(peer, {
      type: "requestVote",
      term: state.term,
      lastLogIndex: state.log.lastIndex,
      lastLogTerm: state.log.lastTerm,
      preVote: false,
    });
  }
}

function becomeLeader<C>(state: RaftState<C>): void {
  state.role = "leader";
  state.leaderId = state.nodeId;
  state.out.roleChanged = true;
  state.progress.clear();
  for (const peer of state.peers) {
    state.progress.set(peer, freshProgress(state.log.lastIndex + 1));
  }
  state.quorumCheckDueMs = state.nowMs + state.options.electionTimeoutMaxMs;
  // An entry of our own term: committing it commits everything before (Raft section 5.4.2).
  appendCommands(state, [state.options.noopCommand(state.nowMs)]);
  broadcastHeartbeat(state);
}

/** True while a leader was heard from within the minimum election timeout. */
export function inLease<C>(state: RaftState<C>): boolean {
  if (state.role === "leader") return true;
  return state.leaderId !== null &&
    state.nowMs - state.leaderContactMs < state.options.electionTimeoutMinMs;
}

/** A leader that has not heard from a quorum since the last check steps down. */
export function checkQuorum<C>(state: RaftState<C>): void {
  state.quorumCheckDueMs = state.nowMs + state.options.electionTimeoutMaxMs;
  let active = 1;
  for (const p of state.progress.values()) {
    if (p.recentActive) active += 1;
    p.recentActive = false;
  }
  if (active < state.quorum) becomeFollower(state, state.term, null);
}

export function onRequestVote<C>(
  state: RaftState<C>,
  from: string,
  m: RaftMessageOf<C, "requestVote">,
): void {
  const upToDate = m.lastLogTerm > state.log.lastTerm ||
    (m.lastLogTerm === state.log.lastTerm && m.lastLogIndex >= state.log.lastIndex);
  if (m.preVote) {
    const granted = m.term > state.term && upToDate && !inLease(state) && !state.rejoining;
    state.sendNow(from, {
      type: "voteResponse",
      term: granted ? m.term : state.term,
      granted,
      preVote: true,
    });
    return;
  }
  const canVote = state.votedFor === null || state.votedFor === from;
  const granted = m.term === state.term && canVote && upToDate && state.role !== "leader" &&
    !state.rejoining;
  if (granted && state.votedFor === null) {
    state.votedFor = from;
    state.persistHardState();
  }
  if (granted) state.resetElectionTimer();
  state.sendLater(from, { type: "voteResponse", term: state.term, granted, preVote: false });
}

export function onVoteResponse<C>(
  state: RaftState<C>,
  from: string,
  m: RaftMessageOf<C, "voteResponse">,
): void {
  if (m.preVote) {
    if (state.role !== "preCandidate" || m.term !== state.term + 1 || !m.granted) return;
    state.votes.add(from);
    if (state.votes.size >= state.quorum) campaign(state, false);
    return;
  }
  if (state.role !== "candidate" || m.term !== state.term || !m.granted) return;
  state.votes.add(from);
  if (state.votes.size >= state.quorum) becomeLeader(state);
}
