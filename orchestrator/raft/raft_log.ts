/**
 * Raft (Ongaro & Ousterhout 2014; Ongaro's dissertation 2014) as a pure state
 * machine: inputs are proposals, peer messages, ticks and "persisted" reports,
 * each carrying the time; outputs are data (entries and hard state to persist,
 * messages to send, entries committed, reads that became linearizable). No
 * clock, socket, file or randomness inside: election jitter comes from the
 * injected PRNG. Commands are opaque: the log stores, replicates and hands back
 * whatever its owner proposed (type `C`), and makes only the leader's no-op, through
 * `RaftOptions.noopCommand`.
 *
 * RaftLog is the facade: it keeps the public API and dispatches to focused modules over one
 * shared {@link RaftState} (raft_state.ts). Beyond the paper's figure 2 it implements:
 * - pre-vote (dissertation 9.6): a node that was partitioned away asks first
 *   whether it could win, so rejoining never bumps the term of a healthy
 *   cluster; nodes that heard from a leader recently refuse such requests;
 * - check-quorum: a leader that has not heard from a majority within an
 *   election timeout steps down, so a partitioned leader stops serving
 *   (both in raft_elections.ts);
 * - pipelined, batched replication with fast conflict backtracking, and the
 *   leader's own fsync in parallel with the followers' (dissertation 10.2.1)
 *   (raft_replication.ts, leader side; raft_follower.ts, follower side);
 * - snapshots, log compaction and chunked InstallSnapshot (section 7)
 *   (raft_snapshots.ts);
 * - ReadIndex (dissertation 6.4) for linearizable reads without writing to the
 *   log and without trusting clocks (which a lease would) (raft_reads.ts);
 * - rejoining after a lost disk (`rejoin`): a node whose log was lost may have voted, and
 *   acknowledged entries, in terms it no longer remembers. Until it has durably caught up with
 *   the commit index a leader of its current term L sent it, it neither campaigns nor grants a
 *   (pre-)vote; then it records a vote for that leader in L, so it votes again only in terms
 *   above L. A `rejoining` flag in the hard state keeps this across crashes
 *   (raft_rejoin.ts).
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type {
  ConsensusLog,
  ConsensusOutput,
  ConsensusStatus,
  RaftMessage,
  SnapshotRef,
} from "./consensus_log.ts";
import { emptyConsensusOutput } from "./consensus_log.ts";
import {
  campaign,
  checkQuorum,
  normalizeTerm,
  onElectionTimeout,
  onLeaderDisconnected,
  onRequestVote,
  onVoteResponse,
} from "./raft_elections.ts";
import { onAppendEntries } from "./raft_follower.ts";
import type { RaftOptions, RaftRestore } from "./raft_options.ts";
import { resolveRaftOptions } from "./raft_options.ts";
import { requestRead } from "./raft_reads.ts";
import { maybeFinishRejoin, startRejoin } from "./raft_rejoin.ts";
import {
  appendCommands,
  broadcastHeartbeat,
  flushProposals,
  maybeCommit,
  onAppendResponse,
  onSnapshotResponse,
} from "./raft_replication.ts";
import { compactToSnapshot, onInstallSnapshot } from "./raft_snapshots.ts";
import { RaftState } from "./raft_state.ts";

export type { RaftOptions, RaftRestore, SnapshotPosition } from "./raft_options.ts";
export { canRejoin } from "./raft_rejoin.ts";

export class RaftLog<C> implements ConsensusLog<C> {
  readonly nodeId: string;
  readonly #state: RaftState<C>;

  constructor(options: RaftOptions<C>, restore: RaftRestore<C>) {
    assert(
      options.voters.includes(options.nodeId),
      `node ${options.nodeId} is not among the voters`,
    );
    assert(
      options.electionTimeoutMinMs > options.heartbeatIntervalMs &&
        options.electionTimeoutMaxMs > options.electionTimeoutMinMs,
      "need heartbeat < election timeout min < max",
    );
    this.nodeId = options.nodeId;
    const state = this.#state = new RaftState(resolveRaftOptions(options), restore);
    startRejoin(state, { rejoin: options.rejoin === true, restore });
    state.resetElectionTimer();
    if (options.voters.length === 1) campaign(state, false);
  }

  // ---- ConsensusLog ----

  get isLeader(): boolean {
    return this.#state.role === "leader";
  }

  get leaderId(): string | null {
    return this.#state.leaderId;
  }

  get term(): number {
    return this.#state.term;
  }

  get lastIndex(): number {
    return this.#state.log.lastIndex;
  }

  get commitIndex(): number {
    return this.#state.commitIndex;
  }

  /** True while this node rejoins after a lost disk: it neither votes nor campaigns. */
  get isRejoining(): boolean {
    return this.#state.rejoining;
  }

  /** Snapshots received whole from a leader and refused: corrupt, or not covering what their header says. */
  get refusedSnapshots(): number {
    return this.#state.refusedSnapshots;
  }

  propose(commands: readonly C[]): number | null {
    if (this.#state.role !== "leader") return null;
    return appendCommands(this.#state, commands);
  }

  persisted(index: number, term: number): void {
    const state = this.#state;
    // A sync may report entries that were truncated and replaced meanwhile: only count a match.
    if (index <= state.persistedIndex || state.log.termAt(index) !== term) return;
    state.persistedIndex = Math.min(index, state.log.lastIndex);
    if (state.role === "leader") maybeCommit(state);
    state.emitCommitted();
    maybeFinishRejoin(state);
  }

  tick(nowMs: number): void {
    const state = this.#state;
    state.nowMs = Math.max(state.nowMs, nowMs);
    if (state.role === "leader") {
      if (state.nowMs >= state.quorumCheckDueMs) checkQuorum(state);
      if (state.role === "leader" && state.nowMs >= state.heartbeatDueMs) {
        broadcastHeartbeat(state);
      }
      return;
    }
    if (state.nowMs < state.electionDeadlineMs) return;
    onElectionTimeout(state);
  }

  step(from: string, message: RaftMessage<C>, nowMs: number): void {
    const state = this.#state;
    state.nowMs = Math.max(state.nowMs, nowMs);
    if (from === this.nodeId || !state.peers.includes(from)) return; // not a member: ignore
    state.heardMs.set(from, state.nowMs);
    if (!normalizeTerm(state, from, message)) return;
    switch (message.type) {
      case "requestVote":
        onRequestVote(state, from, message);
        break;
      case "voteResponse":
        onVoteResponse(state, from, message);
        break;
      case "appendEntries":
        onAppendEntries(state, from, message);
        break;
      case "appendResponse":
        onAppendResponse(state, from, message);
        break;
      case "installSnapshot":
        onInstallSnapshot(state, from, message);
        break;
      case "snapshotResponse":
        onSnapshotResponse(state, from, message);
        break;
    }
  }

  peerDisconnected(from: string, nowMs: number): void {
    const state = this.#state;
    state.nowMs = Math.max(state.nowMs, nowMs);
    onLeaderDisconnected(state, from);
  }

  requestRead(id: number): void {
    requestRead(this.#state, id);
  }

  snapshotTaken(snapshot: SnapshotRef): void {
    compactToSnapshot(this.#state, snapshot);
  }

  status(nowMs: number): ConsensusStatus {
    const state = this.#state;
    const { electionTimeoutMaxMs } = state.options;
    const role = state.role === "preCandidate" ? "candidate" : state.role;
    return {
      role,
      term: state.term,
      leaderId: state.leaderId,
      commitIndex: state.commitIndex,
      lastIndex: state.log.lastIndex,
      followers: state.role !== "leader" ? [] : state.peers.map((id) => {
        const p = state.progress.get(id)!;
        return {
          id,
          matchIndex: p.match,
          lastContactAgoMs: p.lastContactMs === null ? null : Math.max(0, nowMs - p.lastContactMs),
        };
      }),
      voters: state.options.voters.length,
      justStarted: nowMs - state.startedMs < electionTimeoutMaxMs,
      reachableVoters: 1 + state.peers.filter((peer) => {
        const heard = state.heardMs.get(peer);
        return heard !== undefined && nowMs - heard <= electionTimeoutMaxMs;
      }).length,
    };
  }

  drain(): ConsensusOutput<C> {
    const state = this.#state;
    flushProposals(state);
    if (state.readBroadcastNeeded && state.role === "leader") broadcastHeartbeat(state);
    state.readBroadcastNeeded = false;
    const out = state.out;
    state.out = emptyConsensusOutput();
    return out;
  }
}
