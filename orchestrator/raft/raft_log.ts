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
 * Beyond the paper's figure 2 it implements:
 * - pre-vote (dissertation 9.6): a node that was partitioned away asks first
 *   whether it could win, so rejoining never bumps the term of a healthy
 *   cluster; nodes that heard from a leader recently refuse such requests;
 * - check-quorum: a leader that has not heard from a majority within an
 *   election timeout steps down, so a partitioned leader stops serving;
 * - pipelined, batched replication with fast conflict backtracking, and the
 *   leader's own fsync in parallel with the followers' (dissertation 10.2.1);
 * - snapshots, log compaction and chunked InstallSnapshot (section 7);
 * - ReadIndex (dissertation 6.4) for linearizable reads without writing to the
 *   log and without trusting clocks (which a lease would);
 * - rejoining after a lost disk (`rejoin`): a node whose log was lost may have voted, and
 *   acknowledged entries, in terms it no longer remembers. Until it has durably caught up with
 *   the commit index a leader of its current term L sent it, it neither campaigns nor grants a
 *   (pre-)vote; then it records a vote for that leader in L, so it votes again only in terms
 *   above L. A `rejoining` flag in the hard state keeps this across crashes.
 * @module
 */
import { Buffer } from "node:buffer";
import { assert } from "../../shared/assert.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import type { Rng } from "../../shared/prng.ts";
import type {
  ConsensusLog,
  ConsensusOutput,
  ConsensusStatus,
  HardState,
  PeerEnvelope,
  RaftEntry,
  RaftMessage,
  RaftMessageOf,
  StoredSnapshot,
} from "./consensus_log.ts";
import { emptyConsensusOutput } from "./consensus_log.ts";
import { RaftEntries } from "./raft_entries.ts";

/** How a {@link RaftLog} replicating commands of type `C` is set up. */
export interface RaftOptions<C> {
  nodeId: string;
  /** Every voting member, this node included. */
  voters: readonly string[];
  electionTimeoutMinMs: number;
  electionTimeoutMaxMs: number;
  heartbeatIntervalMs: number;
  rng: Rng;
  /**
   * The command of the entry a new leader appends in its own term, at `atMs` (its time): once it
   * commits, so has everything before it (Raft section 5.4.2), and reads may be served (6.4).
   * The state machine must apply it as a no-op. The only command the log makes itself.
   */
  noopCommand: (atMs: number) => C;
  /** Entries per AppendEntries message. */
  maxEntriesPerMessage?: number;
  /** AppendEntries messages in flight per follower (pipelining window). */
  maxInflightMessages?: number;
  /** Bytes of snapshot per InstallSnapshot message. */
  snapshotChunkBytes?: number;
  /** Entries kept in memory behind the latest snapshot, so slightly lagging followers need no snapshot. */
  catchUpEntries?: number;
  /**
   * Reads which entry the bytes of a snapshot received from a leader cover, or null when they are
   * not a snapshot this node can restore. A snapshot is installed only when its bytes cover the
   * very entry (index and term) its InstallSnapshot header names: a mismatch would put a state
   * machine at one index under a log at another, and stop this node when the next entry applies
   * (and again at every restart, since the snapshot is saved). Refusals are counted
   * ({@link RaftLog.refusedSnapshots}). Default: the bytes are opaque and the header is trusted.
   */
  snapshotPosition?: (data: Uint8Array) => SnapshotPosition | null;
  /**
   * Starts as a node that lost its disk and rejoins (see the module doc). The log restored must
   * be empty ({@link canRejoin}); a log restored with `hardState.rejoining` rejoins with or
   * without this option.
   */
  rejoin?: boolean;
}

/** The last entry a snapshot covers. */
export interface SnapshotPosition {
  index: number;
  term: number;
}

/** What a {@link RaftLog} starts from: what its storage recovered. */
export interface RaftRestore<C> {
  hardState: HardState;
  snapshot: StoredSnapshot | null;
  /** Durable entries after the snapshot. */
  entries: readonly RaftEntry<C>[];
  nowMs: number;
}

type Role = "follower" | "preCandidate" | "candidate" | "leader";

interface Progress {
  /** Next index to send. */
  next: number;
  /** Highest index known to match the leader's log. */
  match: number;
  /** AppendEntries with entries in flight. */
  inflight: number;
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
  sending: { snapshot: StoredSnapshot; offset: number } | null;
}

interface PendingRead {
  id: number;
  ctx: number;
}

interface IncomingSnapshot {
  index: number;
  term: number;
  /** The leader sending it, and its term. */
  from: string;
  leaderTerm: number;
  chunks: Uint8Array[];
  received: number;
}

/** The largest term increase accepted from a peer (a million elections ahead is not a real peer). */
const TERM_JUMP_MAX = 2 ** 20;

const DEFAULTS = {
  rejoin: false,
  maxEntriesPerMessage: 512,
  maxInflightMessages: 32,
  snapshotChunkBytes: 256 * 1024,
  catchUpEntries: 5000,
};

export class RaftLog<C> implements ConsensusLog<C> {
  readonly nodeId: string;
  readonly #options: Required<Omit<RaftOptions<C>, "snapshotPosition">> & RaftOptions<C>;
  readonly #peers: string[];
  readonly #quorum: number;
  readonly #log: RaftEntries<C>;
  #term: number;
  #votedFor: string | null;
  #role: Role = "follower";
  #leaderId: string | null = null;
  #commitIndex: number;
  /** Highest entry handed out as committed. */
  #emittedIndex: number;
  /** Highest index known durable on this node. */
  #persistedIndex: number;
  #nowMs: number;
  #electionDeadlineMs = 0;
  /** When this node last heard from a live leader (for pre-vote and vote stickiness). */
  #leaderContactMs = -Infinity;
  #votes = new Set<string>();
  #progress = new Map<string, Progress>();
  #heartbeatDueMs = 0;
  #quorumCheckDueMs = 0;
  #readCtx = 0;
  #pendingReads: PendingRead[] = [];
  #readBroadcastNeeded = false;
  #snapshot: StoredSnapshot | null;
  /** When each peer was last heard from (any message), for status and "no quorum" reports. */
  readonly #heardMs = new Map<string, number>();
  readonly #startedMs: number;
  #incoming: IncomingSnapshot | null = null;
  #refusedSnapshots = 0;
  /** True until a rejoining node has caught up (then it may vote again, in later terms). */
  #rejoining: boolean;
  /** While rejoining: the commit index the leader of the current term first sent, once heard. */
  #rejoinTargetIndex: number | null = null;
  #out: ConsensusOutput<C> = emptyConsensusOutput();

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
    this.#options = { ...DEFAULTS, ...options };
    this.#peers = options.voters.filter((v) => v !== options.nodeId);
    this.#quorum = Math.floor(options.voters.length / 2) + 1;
    const snapshot = restore.snapshot;
    this.#snapshot = snapshot;
    this.#log = new RaftEntries<C>(snapshot?.index ?? 0, snapshot?.term ?? 0);
    for (const entry of restore.entries) this.#log.append(entry);
    this.#term = restore.hardState.term;
    this.#votedFor = restore.hardState.votedFor;
    this.#rejoining = restore.hardState.rejoining === true;
    if (options.rejoin === true && !this.#rejoining) {
      assert(canRejoin(restore), "a node can start rejoining only from an empty log");
      this.#rejoining = true;
      this.#persistHardState(); // first thing on disk: a crash from here on keeps rejoining
    }
    assert(
      !this.#rejoining || options.voters.length > 1,
      "a lone voter has no leader to rejoin from",
    );
    // The snapshot is committed; recovered entries past it may not be (the leader will say).
    this.#commitIndex = snapshot?.index ?? 0;
    this.#emittedIndex = this.#commitIndex;
    this.#persistedIndex = this.#log.lastIndex;
    this.#nowMs = restore.nowMs;
    this.#startedMs = restore.nowMs;
    this.#resetElectionTimer();
    if (options.voters.length === 1) this.#campaign(false);
  }

  // ---- ConsensusLog ----

  get isLeader(): boolean {
    return this.#role === "leader";
  }

  get leaderId(): string | null {
    return this.#leaderId;
  }

  get term(): number {
    return this.#term;
  }

  get lastIndex(): number {
    return this.#log.lastIndex;
  }

  get commitIndex(): number {
    return this.#commitIndex;
  }

  /** True while this node rejoins after a lost disk: it neither votes nor campaigns. */
  get isRejoining(): boolean {
    return this.#rejoining;
  }

  /** Snapshots received whole from a leader and refused: corrupt, or not covering what their header says. */
  get refusedSnapshots(): number {
    return this.#refusedSnapshots;
  }

  propose(commands: readonly C[]): number | null {
    if (this.#role !== "leader") return null;
    assert(commands.length > 0, "propose() needs at least one command");
    const first = this.#log.lastIndex + 1;
    for (const command of commands) {
      const entry: RaftEntry<C> = { index: this.#log.lastIndex + 1, term: this.#term, command };
      this.#log.append(entry);
      this.#out.entries.push(entry);
    }
    for (const peer of this.#peers) this.#sendAppend(peer, false);
    return first;
  }

  persisted(index: number, term: number): void {
    // A sync may report entries that were truncated and replaced meanwhile: only count a match.
    if (index <= this.#persistedIndex || this.#log.termAt(index) !== term) return;
    this.#persistedIndex = Math.min(index, this.#log.lastIndex);
    if (this.#role === "leader") this.#maybeCommit();
    this.#emitCommitted();
    this.#maybeFinishRejoin();
  }

  tick(nowMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, nowMs);
    if (this.#role === "leader") {
      if (this.#nowMs >= this.#quorumCheckDueMs) this.#checkQuorum();
      if (this.#role === "leader" && this.#nowMs >= this.#heartbeatDueMs) {
        this.#broadcastHeartbeat();
      }
      return;
    }
    if (this.#nowMs < this.#electionDeadlineMs) return;
    // A rejoining node may have voted in terms it no longer remembers: it waits for a leader.
    if (this.#rejoining) this.#resetElectionTimer();
    else this.#campaign(true);
  }

  step(from: string, message: RaftMessage<C>, nowMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, nowMs);
    if (from === this.nodeId || !this.#peers.includes(from)) return; // not a member: ignore
    this.#heardMs.set(from, this.#nowMs);
    if (!this.#normalizeTerm(from, message)) return;
    switch (message.type) {
      case "requestVote":
        this.#onRequestVote(from, message);
        break;
      case "voteResponse":
        this.#onVoteResponse(from, message);
        break;
      case "appendEntries":
        this.#onAppendEntries(from, message);
        break;
      case "appendResponse":
        this.#onAppendResponse(from, message);
        break;
      case "installSnapshot":
        this.#onInstallSnapshot(from, message);
        break;
      case "snapshotResponse":
        this.#onSnapshotResponse(from, message);
        break;
    }
  }

  peerDisconnected(from: string, nowMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, nowMs);
    if (this.#role !== "follower" || this.#leaderId !== from) return;
    // Give up the lease at once and campaign after a short pause. The pause is staggered by
    // the node's rank among the voters (half a heartbeat apart, plus a little jitter), so the
    // surviving followers do not start together and split the vote. Pre-vote still protects
    // a leader that is in fact alive: the others will have heard from it.
    this.#leaderContactMs = -Infinity;
    const step = this.#options.heartbeatIntervalMs / 2;
    const rank = this.#options.voters.indexOf(this.nodeId);
    const delayMs = rank * step + this.#options.rng.next() * step / 2;
    this.#electionDeadlineMs = Math.min(this.#electionDeadlineMs, this.#nowMs + delayMs);
  }

  requestRead(id: number): void {
    if (this.#role !== "leader") {
      this.#out.readsFailed.push(id);
      return;
    }
    this.#readCtx += 1;
    this.#pendingReads.push({ id, ctx: this.#readCtx });
    if (this.#peers.length > 0) this.#readBroadcastNeeded = true;
    this.#advanceReads();
  }

  snapshotTaken(snapshot: StoredSnapshot): void {
    assert(snapshot.index <= this.#emittedIndex, "snapshot of entries not yet applied");
    if (this.#snapshot !== null && snapshot.index <= this.#snapshot.index) return;
    this.#snapshot = snapshot;
    // Keep a tail so followers a little behind catch up from the log, not a whole snapshot.
    let compactTo = snapshot.index - this.#options.catchUpEntries;
    if (this.#role === "leader") {
      const slowest = Math.min(...[...this.#progress.values()].map((p) => p.match));
      compactTo = Math.max(compactTo, Math.min(snapshot.index, slowest));
    }
    if (compactTo > this.#log.firstIndex - 1) this.#log.compactTo(compactTo);
  }

  status(nowMs: number): ConsensusStatus {
    const role = this.#role === "preCandidate" ? "candidate" : this.#role;
    return {
      role,
      term: this.#term,
      leaderId: this.#leaderId,
      commitIndex: this.#commitIndex,
      lastIndex: this.#log.lastIndex,
      followers: this.#role !== "leader" ? [] : this.#peers.map((id) => {
        const p = this.#progress.get(id)!;
        return {
          id,
          matchIndex: p.match,
          lastContactAgoMs: p.lastContactMs === null ? null : Math.max(0, nowMs - p.lastContactMs),
        };
      }),
      voters: this.#options.voters.length,
      justStarted: nowMs - this.#startedMs < this.#options.electionTimeoutMaxMs,
      reachableVoters: 1 + this.#peers.filter((peer) => {
        const heard = this.#heardMs.get(peer);
        return heard !== undefined && nowMs - heard <= this.#options.electionTimeoutMaxMs;
      }).length,
    };
  }

  drain(): ConsensusOutput<C> {
    if (this.#readBroadcastNeeded && this.#role === "leader") this.#broadcastHeartbeat();
    this.#readBroadcastNeeded = false;
    const out = this.#out;
    this.#out = emptyConsensusOutput();
    return out;
  }

  // ---- terms and roles ----

  /**
   * Applies the term rules common to every message. Returns false when the
   * message must be ignored (or was fully answered here).
   */
  #normalizeTerm(from: string, m: RaftMessage<C>): boolean {
    // Terms grow by one per election: a jump this large is a bug or an attack, and adopting it
    // would leave no room to campaign (the next term must still be a valid number).
    if (m.term > this.#term + TERM_JUMP_MAX) return false;
    if (m.type === "requestVote" && m.preVote) return true; // pre-votes never change terms
    if (m.type === "voteResponse" && m.preVote && m.granted) return true;
    if (m.term > this.#term) {
      if (m.type === "requestVote" && this.#inLease()) {
        // Vote stickiness (check-quorum): a live leader exists; a disruptive candidate is ignored.
        return false;
      }
      const leader = m.type === "appendEntries" || m.type === "installSnapshot" ? from : null;
      this.#becomeFollower(m.term, leader);
      return true;
    }
    if (m.term < this.#term) {
      // A stale leader learns the new term from our reply and steps down.
      if (m.type === "appendEntries") {
        this.#sendLater(from, {
          type: "appendResponse",
          term: this.#term,
          success: false,
          matchIndex: 0,
          conflictIndex: 0,
          readCtx: 0,
        });
      } else if (m.type === "installSnapshot") {
        this.#sendLater(from, {
          type: "snapshotResponse",
          term: this.#term,
          snapshotIndex: m.snapshotIndex,
          received: 0,
          done: false,
        });
      } else if (m.type === "requestVote") {
        this.#sendLater(from, {
          type: "voteResponse",
          term: this.#term,
          granted: false,
          preVote: false,
        });
      }
      return false;
    }
    return true;
  }

  #becomeFollower(term: number, leaderId: string | null): void {
    const changed = this.#role !== "follower" || this.#leaderId !== leaderId || term !== this.#term;
    if (term > this.#term) {
      this.#term = term;
      this.#votedFor = null;
      this.#rejoinTargetIndex = null; // catch up with this term's leader instead
      this.#persistHardState();
    }
    if (this.#role === "leader") this.#failReads();
    this.#role = "follower";
    this.#leaderId = leaderId;
    this.#votes.clear();
    this.#resetElectionTimer();
    if (changed) this.#out.roleChanged = true;
  }

  #campaign(preVote: boolean): void {
    if (preVote) {
      this.#role = "preCandidate";
      this.#leaderId = null;
      this.#votes = new Set([this.nodeId]);
      this.#resetElectionTimer();
      this.#out.roleChanged = true;
      if (this.#votes.size >= this.#quorum) return this.#campaign(false);
      for (const peer of this.#peers) {
        // Nothing to persist for a pre-vote: it changes no durable state.
        this.#sendNow(peer, {
          type: "requestVote",
          term: this.#term + 1,
          lastLogIndex: this.#log.lastIndex,
          lastLogTerm: this.#log.lastTerm,
          preVote: true,
        });
      }
      return;
    }
    this.#term += 1;
    this.#votedFor = this.nodeId;
    this.#persistHardState();
    this.#role = "candidate";
    this.#leaderId = null;
    this.#votes = new Set([this.nodeId]);
    this.#resetElectionTimer();
    this.#out.roleChanged = true;
    if (this.#votes.size >= this.#quorum) return this.#becomeLeader();
    for (const peer of this.#peers) {
      // Our own vote must be durable first, or a crash could let us vote twice in this term.
      this.#sendLater(peer, {
        type: "requestVote",
        term: this.#term,
        lastLogIndex: this.#log.lastIndex,
        lastLogTerm: this.#log.lastTerm,
        preVote: false,
      });
    }
  }

  #becomeLeader(): void {
    this.#role = "leader";
    this.#leaderId = this.nodeId;
    this.#out.roleChanged = true;
    this.#progress.clear();
    for (const peer of this.#peers) {
      this.#progress.set(peer, {
        next: this.#log.lastIndex + 1,
        match: 0,
        inflight: 0,
        probing: true,
        // Earned by answering: a leader cut off right after winning steps down after one timeout.
        recentActive: false,
        lastContactMs: null,
        readCtxAcked: 0,
        sending: null,
      });
    }
    this.#quorumCheckDueMs = this.#nowMs + this.#options.electionTimeoutMaxMs;
    // An entry of our own term: committing it commits everything before (Raft section 5.4.2).
    this.propose([this.#options.noopCommand(this.#nowMs)]);
    this.#broadcastHeartbeat();
  }

  #resetElectionTimer(): void {
    const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max, rng } = this.#options;
    this.#electionDeadlineMs = this.#nowMs + min + rng.next() * (max - min);
  }

  /** True while a leader was heard from within the minimum election timeout. */
  #inLease(): boolean {
    if (this.#role === "leader") return true;
    return this.#leaderId !== null &&
      this.#nowMs - this.#leaderContactMs < this.#options.electionTimeoutMinMs;
  }

  #checkQuorum(): void {
    this.#quorumCheckDueMs = this.#nowMs + this.#options.electionTimeoutMaxMs;
    let active = 1;
    for (const p of this.#progress.values()) {
      if (p.recentActive) active += 1;
      p.recentActive = false;
    }
    if (active < this.#quorum) this.#becomeFollower(this.#term, null);
  }

  // ---- votes ----

  #onRequestVote(from: string, m: RaftMessageOf<C, "requestVote">): void {
    const upToDate = m.lastLogTerm > this.#log.lastTerm ||
      (m.lastLogTerm === this.#log.lastTerm && m.lastLogIndex >= this.#log.lastIndex);
    if (m.preVote) {
      const granted = m.term > this.#term && upToDate && !this.#inLease() && !this.#rejoining;
      this.#sendNow(from, {
        type: "voteResponse",
        term: granted ? m.term : this.#term,
        granted,
        preVote: true,
      });
      return;
    }
    const canVote = this.#votedFor === null || this.#votedFor === from;
    const granted = m.term === this.#term && canVote && upToDate && this.#role !== "leader" &&
      !this.#rejoining;
    if (granted && this.#votedFor === null) {
      this.#votedFor = from;
      this.#persistHardState();
    }
    if (granted) this.#resetElectionTimer();
    this.#sendLater(from, { type: "voteResponse", term: this.#term, granted, preVote: false });
  }

  #onVoteResponse(from: string, m: RaftMessageOf<C, "voteResponse">): void {
    if (m.preVote) {
      if (this.#role !== "preCandidate" || m.term !== this.#term + 1 || !m.granted) return;
      this.#votes.add(from);
      if (this.#votes.size >= this.#quorum) this.#campaign(false);
      return;
    }
    if (this.#role !== "candidate" || m.term !== this.#term || !m.granted) return;
    this.#votes.add(from);
    if (this.#votes.size >= this.#quorum) this.#becomeLeader();
  }

  // ---- replication: follower side ----

  #onAppendEntries(from: string, m: RaftMessageOf<C, "appendEntries">): void {
    this.#acceptLeader(from);
    if (this.#rejoining && this.#rejoinTargetIndex === null) {
      this.#rejoinTargetIndex = m.leaderCommit;
    }
    const reply = (success: boolean, matchIndex: number, conflictIndex: number) =>
      this.#sendLater(from, {
        type: "appendResponse",
        term: this.#term,
        success,
        matchIndex,
        conflictIndex,
        readCtx: m.readCtx,
      });
    if (!wellFormedEntries(m)) return reply(false, 0, 0); // a broken leader: ignore its entries
    let prevIndex = m.prevLogIndex;
    let entries = m.entries;
    const floor = this.#log.firstIndex - 1; // entries up to here are compacted, hence committed
    if (prevIndex < floor) {
      entries = entries.filter((e) => e.index > floor);
      if (entries.length === 0) return reply(true, m.prevLogIndex + m.entries.length, 0);
      prevIndex = entries[0].index - 1;
    } else if (prevIndex > this.#log.lastIndex) {
      return reply(false, 0, this.#log.lastIndex + 1);
    } else if (this.#log.termAt(prevIndex) !== m.prevLogTerm) {
      return reply(false, 0, this.#conflictHint(prevIndex));
    }
    this.#appendFromLeader(prevIndex, entries);
    const lastNew = prevIndex + entries.length;
    if (m.leaderCommit > this.#commitIndex) {
      this.#commitIndex = Math.max(this.#commitIndex, Math.min(m.leaderCommit, lastNew));
      this.#emitCommitted();
    }
    this.#maybeFinishRejoin();
    reply(true, lastNew, 0);
  }

  /**
   * Ends rejoining once this node holds durably, as committed, everything the leader of its term
   * had committed when first heard from: every entry it may have acknowledged before losing its
   * disk and that counted toward a commit is then back. It records a vote for that leader in this
   * term, so it votes again only in later terms (one it cast and lost in this term stays unique).
   */
  #maybeFinishRejoin(): void {
    const target = this.#rejoinTargetIndex;
    if (!this.#rejoining || target === null || this.#leaderId === null) return;
    if (this.#commitIndex < target || this.#persistedIndex < target) return;
    this.#rejoining = false;
    this.#rejoinTargetIndex = null;
    if (this.#votedFor === null) this.#votedFor = this.#leaderId;
    this.#persistHardState();
  }

  #acceptLeader(from: string): void {
    if (this.#role !== "follower" || this.#leaderId !== from) {
      this.#becomeFollower(this.#term, from);
    }
    this.#leaderContactMs = this.#nowMs;
    this.#resetElectionTimer();
  }

  /** Where the leader should retry: the start of our conflicting term's run (fast backtracking). */
  #conflictHint(prevIndex: number): number {
    const conflictTerm = this.#log.termAt(prevIndex);
    let index = prevIndex;
    while (
      index - 1 > this.#commitIndex && index - 1 >= this.#log.firstIndex &&
      this.#log.termAt(index - 1) === conflictTerm
    ) {
      index -= 1;
    }
    return Math.max(index, this.#commitIndex + 1);
  }

  #appendFromLeader(prevIndex: number, entries: readonly RaftEntry<C>[]): void {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      assert(entry.index === prevIndex + 1 + i, "leader sent non-contiguous entries");
      if (entry.index <= this.#log.lastIndex) {
        if (this.#log.termAt(entry.index) === entry.term) continue;
        // A correct leader never contradicts a committed entry: refuse rather than corrupt
        // (and rather than stop, which would let a forged peer take nodes down).
        if (entry.index <= this.#commitIndex) return;
        this.#log.truncateFrom(entry.index);
        this.#persistedIndex = Math.min(this.#persistedIndex, entry.index - 1);
      }
      this.#log.append(entry);
      this.#out.entries.push(entry);
    }
  }

  #onInstallSnapshot(from: string, m: RaftMessageOf<C, "installSnapshot">): void {
    this.#acceptLeader(from);
    const reply = (received: number, done: boolean, later: boolean) => {
      const message = {
        type: "snapshotResponse" as const,
        term: this.#term,
        snapshotIndex: m.snapshotIndex,
        received,
        done,
      };
      if (later) this.#sendLater(from, message);
      else this.#sendNow(from, message);
    };
    // Nothing new in it; but acknowledging it promises those entries are durable here.
    if (m.snapshotIndex <= this.#commitIndex) return reply(0, true, true);
    let incoming = this.#incoming;
    // Chunks are only joined when they come from the same leader in the same term.
    if (
      incoming === null || incoming.index !== m.snapshotIndex || incoming.term !== m.snapshotTerm ||
      incoming.from !== from || incoming.leaderTerm !== this.#term
    ) {
      if (m.offset !== 0) return reply(0, false, false); // start over from the first chunk
      incoming = this.#incoming = {
        index: m.snapshotIndex,
        term: m.snapshotTerm,
        from,
        leaderTerm: this.#term,
        chunks: [],
        received: 0,
      };
    }
    if (m.offset !== incoming.received) return reply(incoming.received, false, false);
    const chunk = new Uint8Array(Buffer.from(m.data, "base64"));
    incoming.chunks.push(chunk);
    incoming.received += chunk.length;
    if (!m.done) return reply(incoming.received, false, false);
    this.#incoming = null;
    const snapshot = {
      index: incoming.index,
      term: incoming.term,
      data: concatBytes(incoming.chunks),
    };
    if (!this.#isInstallable(snapshot)) {
      this.#refusedSnapshots += 1;
      return reply(0, false, false); // corrupt or mislabelled: start over
    }
    this.#installSnapshot(snapshot);
    reply(incoming.received, true, true);
  }

  /** True when a received snapshot's bytes cover exactly the entry its header names. */
  #isInstallable(snapshot: StoredSnapshot): boolean {
    const read = this.#options.snapshotPosition;
    if (read === undefined) return true;
    const position = read(snapshot.data);
    return position !== null && position.index === snapshot.index &&
      position.term === snapshot.term;
  }

  #installSnapshot(snapshot: StoredSnapshot): void {
    // Keep the log after the snapshot only if it agrees with it at its index (Raft section 7).
    const hadEntryThere = snapshot.index <= this.#log.lastIndex;
    const keep = hadEntryThere && snapshot.index >= this.#log.firstIndex - 1 &&
      this.#log.termAt(snapshot.index) === snapshot.term;
    if (keep) {
      this.#log.compactTo(snapshot.index);
    } else {
      this.#log.reset(snapshot.index, snapshot.term);
      this.#persistedIndex = snapshot.index;
    }
    this.#persistedIndex = Math.max(this.#persistedIndex, snapshot.index);
    this.#snapshot = snapshot;
    this.#commitIndex = Math.max(this.#commitIndex, snapshot.index);
    this.#emittedIndex = snapshot.index;
    // Only a log that reaches the snapshot's index has disagreeing entries after it to drop.
    this.#out.snapshot = { ...snapshot, discardLog: !keep && hadEntryThere };
    // Entries staged earlier in this drain are covered by (or conflict with) the snapshot.
    this.#out.entries = keep ? this.#out.entries.filter((e) => e.index > snapshot.index) : [];
    // Entries emitted earlier in this drain are covered by the snapshot: the state machine is replaced.
    this.#out.committed = this.#out.committed.filter((e) => e.index > snapshot.index);
    this.#emitCommitted();
  }

  // ---- replication: leader side ----

  #onAppendResponse(from: string, m: RaftMessageOf<C, "appendResponse">): void {
    if (this.#role !== "leader") return;
    const p = this.#progress.get(from)!;
    this.#heardFrom(p);
    p.readCtxAcked = Math.max(p.readCtxAcked, m.readCtx);
    if (m.success) {
      // A follower cannot hold entries this leader never had: such an answer is bogus.
      if (m.matchIndex > this.#log.lastIndex) return;
      if (m.matchIndex > p.match) p.match = m.matchIndex;
      p.next = Math.max(p.next, p.match + 1);
      p.probing = false;
      p.inflight = p.match >= p.next - 1 ? 0 : Math.max(0, p.inflight - 1);
      this.#maybeCommit();
    } else if (m.conflictIndex > 0) {
      // A follower lacking entries it acknowledged lost its disk and rejoins (or this refusal is
      // older than its acknowledgement: then a resend restores the match). Keeping the old match
      // would pin `next` above the follower's log forever; a lower one only delays commits.
      if (m.conflictIndex <= p.match) p.match = m.conflictIndex - 1;
      p.next = Math.max(p.match + 1, Math.min(m.conflictIndex, p.next));
      p.probing = true;
      p.inflight = 0;
    }
    this.#advanceReads();
    this.#sendAppend(from, false);
  }

  #onSnapshotResponse(from: string, m: RaftMessageOf<C, "snapshotResponse">): void {
    if (this.#role !== "leader") return;
    const p = this.#progress.get(from)!;
    this.#heardFrom(p);
    if (m.done) {
      if (m.snapshotIndex > this.#log.lastIndex) return; // bogus: past anything we ever sent
      p.match = Math.max(p.match, m.snapshotIndex);
      p.next = Math.max(p.next, p.match + 1);
      p.sending = null;
      p.probing = false;
      p.inflight = 0;
      this.#maybeCommit();
      this.#sendAppend(from, false);
      return;
    }
    const sending = p.sending;
    if (sending === null || m.snapshotIndex !== sending.snapshot.index) return; // about another transfer
    // Only a change of position sends a chunk: duplicated or repeated answers must not start
    // parallel chunk streams (lost chunks are re-sent by the heartbeat).
    if (m.received === sending.offset) return;
    sending.offset = m.received;
    this.#sendSnapshotChunk(from, p);
  }

  #heardFrom(p: Progress): void {
    p.recentActive = true;
    p.lastContactMs = this.#nowMs;
  }

  /** Sends what a follower needs next, within its flow-control window. */
  #sendAppend(peer: string, heartbeat: boolean): void {
    const p = this.#progress.get(peer)!;
    if (p.sending !== null || p.next < this.#log.firstIndex) {
      if (p.sending === null) {
        assert(
          this.#snapshot !== null,
          `follower ${peer} needs compacted entries but there is no snapshot`,
        );
        p.sending = { snapshot: this.#snapshot, offset: 0 };
        this.#sendSnapshotChunk(peer, p);
      } else if (heartbeat) {
        this.#sendSnapshotChunk(peer, p); // the chunk in flight may have been lost
      }
      return;
    }
    const hasEntries = p.next <= this.#log.lastIndex;
    const windowFull = p.probing ? p.inflight > 0 : p.inflight >= this.#options.maxInflightMessages;
    if (!heartbeat && (!hasEntries || windowFull)) return;
    const entries = hasEntries && !windowFull
      ? this.#log.slice(p.next, this.#options.maxEntriesPerMessage)
      : [];
    const prevLogIndex = p.next - 1;
    this.#sendNow(peer, {
      type: "appendEntries",
      term: this.#term,
      prevLogIndex,
      prevLogTerm: this.#log.termAt(prevLogIndex)!,
      entries,
      leaderCommit: this.#commitIndex,
      readCtx: this.#readCtx,
    });
    if (entries.length > 0) {
      p.inflight += 1;
      // Optimistic in the pipelined state; a probe waits for its answer first.
      if (!p.probing) p.next = entries[entries.length - 1].index + 1;
    }
  }

  #sendSnapshotChunk(peer: string, p: Progress): void {
    const { snapshot, offset } = p.sending!;
    const end = Math.min(snapshot.data.length, offset + this.#options.snapshotChunkBytes);
    this.#sendNow(peer, {
      type: "installSnapshot",
      term: this.#term,
      snapshotIndex: snapshot.index,
      snapshotTerm: snapshot.term,
      offset,
      data: Buffer.from(snapshot.data.subarray(offset, end)).toString("base64"),
      done: end === snapshot.data.length,
    });
  }

  #broadcastHeartbeat(): void {
    this.#heartbeatDueMs = this.#nowMs + this.#options.heartbeatIntervalMs;
    this.#readBroadcastNeeded = false;
    for (const peer of this.#peers) {
      const p = this.#progress.get(peer)!;
      // An unanswered probe is presumed lost: the heartbeat carries it again.
      if (p.probing) p.inflight = 0;
      this.#sendAppend(peer, true);
    }
  }

  #maybeCommit(): void {
    const matches = [this.#persistedIndex, ...[...this.#progress.values()].map((p) => p.match)]
      .sort((a, b) => b - a);
    const candidate = matches[this.#quorum - 1];
    // Only entries of the current term are committed by counting (Raft section 5.4.2).
    if (candidate > this.#commitIndex && this.#log.termAt(candidate) === this.#term) {
      this.#commitIndex = candidate;
      this.#emitCommitted();
      this.#advanceReads();
    }
  }

  #emitCommitted(): void {
    const upTo = Math.min(this.#commitIndex, this.#persistedIndex);
    if (upTo <= this.#emittedIndex) return;
    for (const entry of this.#log.slice(this.#emittedIndex + 1, upTo - this.#emittedIndex)) {
      this.#out.committed.push(entry);
    }
    this.#emittedIndex = upTo;
  }

  // ---- reads (ReadIndex) ----

  #advanceReads(): void {
    if (this.#role !== "leader" || this.#pendingReads.length === 0) return;
    // Before an entry of this term commits, the leader may not know the true commit index.
    if (this.#log.termAt(this.#commitIndex) !== this.#term) return;
    const acked = [...this.#progress.values()].map((p) => p.readCtxAcked).sort((a, b) => b - a);
    // With this node counted, the quorum-th highest acknowledgement confirms leadership up to it.
    const confirmed = this.#quorum === 1 ? Infinity : acked[this.#quorum - 2];
    while (this.#pendingReads.length > 0 && this.#pendingReads[0].ctx <= confirmed) {
      const read = this.#pendingReads.shift()!;
      this.#out.readsReady.push({ id: read.id, readIndex: this.#commitIndex });
    }
  }

  #failReads(): void {
    for (const read of this.#pendingReads) this.#out.readsFailed.push(read.id);
    this.#pendingReads = [];
  }

  // ---- output ----

  #persistHardState(): void {
    this.#out.hardState = this.#rejoining
      ? { term: this.#term, votedFor: this.#votedFor, rejoining: true }
      : { term: this.#term, votedFor: this.#votedFor };
  }

  #sendNow(to: string, message: PeerEnvelope<C>["message"]): void {
    this.#out.messages.push({ to, message });
  }

  #sendLater(to: string, message: PeerEnvelope<C>["message"]): void {
    this.#out.messagesAfterPersist.push({ to, message });
  }
}

/**
 * Whether a node may start rejoining (`RaftOptions.rejoin`) from what its storage recovered: only
 * from nothing at all (a new, empty data directory), or from a rejoin already under way.
 */
export function canRejoin(
  restore: Pick<RaftRestore<unknown>, "hardState" | "snapshot" | "entries">,
): boolean {
  const { hardState, snapshot, entries } = restore;
  if (hardState.rejoining === true) return true;
  return hardState.term === 0 && hardState.votedFor === null && snapshot === null &&
    entries.length === 0;
}

/**
 * Checks what a leader sent before any of it is used: indexes contiguous after prevLogIndex,
 * terms never going backwards, none before prevLogTerm nor after the leader's own term.
 */
function wellFormedEntries<C>(m: RaftMessageOf<C, "appendEntries">): boolean {
  let term = m.prevLogTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const entry = m.entries[i];
    if (entry.index !== m.prevLogIndex + 1 + i || entry.term < term || entry.term > m.term) {
      return false;
    }
    term = entry.term;
  }
  return m.prevLogTerm <= m.term;
}
