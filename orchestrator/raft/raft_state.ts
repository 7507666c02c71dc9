/**
 * What one Raft node holds, shared by the modules that make up RaftLog (elections, replication,
 * the follower side, snapshots, ReadIndex reads, rejoining), and the few steps they all take:
 * stage a message or the hard state, restart the election timer, hand out committed entries.
 * Everything here is plain data and belongs to one RaftLog; nothing outside orchestrator/raft
 * sees it.
 * @module
 */
import type { ConsensusOutput, PeerEnvelope, SnapshotRef } from "./consensus_log.ts";
import { emptyConsensusOutput } from "./consensus_log.ts";
import { RaftEntries } from "./raft_entries.ts";
import type { RaftRestore, ResolvedRaftOptions } from "./raft_options.ts";

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** What a leader knows of one follower. */
export interface Progress {
  /** Next index to send. */
  next: number;
  /** Highest index known to match the leader's log. */
  match: number;
  /** AppendEntries with entries in flight (the length of `inflightEnds`). */
  inflight: number;
  /**
   * The last index of each AppendEntries with entries in flight, oldest first. An answer
   * acknowledges every message it covers, not just one: a follower answers once per sync, for
   * everything that sync made durable (mergeDurableReplies), and answers can be lost.
   */
  inflightEnds: number[];
  /** After a rejection: one message at a time until one succeeds. */
  probing: boolean;
  /** Heard from since the last quorum check. */
  recentActive: boolean;
  lastContactMs: number | null;
  /** Highest read context this follower acknowledged. */
  readCtxAcked: number;
  /**
   * While a snapshot is being sent: which one (pinned, so a newer local snapshot does not restart
   * the transfer) and the offset of the chunk in flight.
   */
  sending: { snapshot: SnapshotRef; offset: number } | null;
}

/** A ReadIndex read waiting for a quorum to confirm leadership at read context `ctx`. */
export interface PendingRead {
  id: number;
  ctx: number;
}

/** A snapshot being received in chunks. */
export interface IncomingSnapshot {
  index: number;
  term: number;
  /** The leader sending it, and its term. */
  from: string;
  leaderTerm: number;
  chunks: Uint8Array[];
  received: number;
}

/** One Raft node's state. Fields are public to the raft modules only (mod.ts does not export it). */
export class RaftState<C> {
  readonly nodeId: string;
  readonly options: ResolvedRaftOptions<C>;
  readonly peers: string[];
  readonly quorum: number;
  readonly log: RaftEntries<C>;
  term: number;
  votedFor: string | null;
  role: Role = "follower";
  leaderId: string | null = null;
  commitIndex: number;
  /** Highest entry handed out as committed. */
  emittedIndex: number;
  /** Highest index known durable on this node. */
  persistedIndex: number;
  nowMs: number;
  electionDeadlineMs = 0;
  /** When this node last heard from a live leader (for pre-vote and vote stickiness). */
  leaderContactMs = -Infinity;
  votes = new Set<string>();
  readonly progress = new Map<string, Progress>();
  heartbeatDueMs = 0;
  quorumCheckDueMs = 0;
  readCtx = 0;
  pendingReads: PendingRead[] = [];
  readBroadcastNeeded = false;
  /**
   * The newest snapshot. Only a reference: its bytes stay in the store (a file) and are read a
   * chunk at a time when a follower needs them.
   */
  snapshot: SnapshotRef | null;
  /** When each peer was last heard from (any message), for status and "no quorum" reports. */
  readonly heardMs = new Map<string, number>();
  readonly startedMs: number;
  incoming: IncomingSnapshot | null = null;
  refusedSnapshots = 0;
  /** True until a rejoining node has caught up (then it may vote again, in later terms). */
  rejoining: boolean;
  /** While rejoining: the commit index the leader of the current term first sent, once heard. */
  rejoinTargetIndex: number | null = null;
  out: ConsensusOutput<C> = emptyConsensusOutput();
  /** Entries were proposed since the last drain and are not yet sent to the followers. */
  appendPending = false;

  /** Takes up what storage recovered; the election timer is not yet set. */
  constructor(options: ResolvedRaftOptions<C>, restore: RaftRestore<C>) {
    this.nodeId = options.nodeId;
    this.options = options;
    this.peers = options.voters.filter((v) => v !== options.nodeId);
    this.quorum = Math.floor(options.voters.length / 2) + 1;
    const snapshot = restore.snapshot;
    this.snapshot = snapshot;
    this.log = new RaftEntries<C>(snapshot?.index ?? 0, snapshot?.term ?? 0);
    for (const entry of restore.entries) this.log.append(entry);
    this.term = restore.hardState.term;
    this.votedFor = restore.hardState.votedFor;
    this.rejoining = restore.hardState.rejoining === true;
    // The snapshot is committed; recovered entries past it may not be (the leader will say).
    this.commitIndex = snapshot?.index ?? 0;
    this.emittedIndex = this.commitIndex;
    this.persistedIndex = this.log.lastIndex;
    this.nowMs = restore.nowMs;
    this.startedMs = restore.nowMs;
  }

  /** Stages the hard state to be persisted (before the messages sent after persisting). */
  persistHardState(): void {
    this.out.hardState = this.rejoining
      ? { term: this.term, votedFor: this.votedFor, rejoining: true }
      : { term: this.term, votedFor: this.votedFor };
  }

  /** Sends a message that promises nothing durable. */
  sendNow(to: string, message: PeerEnvelope<C>["message"]): void {
    this.out.messages.push({ to, message });
  }

  /** Sends a message once this drain's entries and hard state are durable. */
  sendLater(to: string, message: PeerEnvelope<C>["message"]): void {
    this.out.messagesAfterPersist.push({ to, message });
  }

  resetElectionTimer(): void {
    const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max, rng } = this.options;
    this.electionDeadlineMs = this.nowMs + min + rng.next() * (max - min);
  }

  /** Hands out the entries both committed and durable here, in order, each once. */
  emitCommitted(): void {
    const upTo = Math.min(this.commitIndex, this.persistedIndex);
    if (upTo <= this.emittedIndex) return;
    for (const entry of this.log.slice(this.emittedIndex + 1, upTo - this.emittedIndex)) {
      this.out.committed.push(entry);
    }
    this.emittedIndex = upTo;
  }
}

/**
 * What a new leader knows of a follower: nothing yet. It probes from the end of its own log, and
 * the follower earns `recentActive` by answering (a leader cut off right after winning steps down
 * after one timeout).
 */
export function freshProgress(nextIndex: number): Progress {
  return {
    next: nextIndex,
    match: 0,
    inflight: 0,
    inflightEnds: [],
    probing: true,
    recentActive: false,
    lastContactMs: null,
    readCtxAcked: 0,
    sending: null,
  };
}
