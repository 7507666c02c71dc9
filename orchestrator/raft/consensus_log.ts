/**
 * The seam between a state machine and its replicated log. The state machine's
 * owner proposes commands and applies what comes back committed; how entries
 * become committed (a Raft group commits once a majority has them) is the
 * implementation's business.
 *
 * The log never looks inside a command: `C` is whatever the owner replicates,
 * stored, sent and handed back as given. Checking commands is the owner's job,
 * at its edge (the codec that decodes peer frames).
 *
 * Pattern (as in etcd/raft's Ready): calls accumulate work; `drain()` hands it
 * over as data, in the order the shell must carry it out.
 * @module
 */
import type { Unstamped } from "../../shared/protocol/messages.ts";
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import type { HardState, SnapshotRef, SnapshotSource, StoredSnapshot } from "../storage/mod.ts";

export type { HardState, SnapshotRef, SnapshotSource, StoredSnapshot };

/** A command at its place in the log. `term` is the Raft term that created the entry. */
export interface RaftEntry<C> {
  index: number;
  term: number;
  command: C;
}

/**
 * A Raft message between two nodes, without the envelope the owner stamps on it (protocol
 * version, Lamport time), its entries carrying commands of type `C`. The wire format is
 * defined once, in shared/protocol/peer_messages.ts; this is that union with the commands left
 * open.
 */
export type RaftMessage<C> = WithCommands<Unstamped<PeerMessage>, C>;

/** Gives the entries of an appendEntries message commands of type `C` (distributes over unions). */
type WithCommands<M, C> = M extends { type: "appendEntries" }
  ? Omit<M, "entries"> & { entries: RaftEntry<C>[] }
  : M;

/** One kind of {@link RaftMessage}. */
export type RaftMessageOf<C, T extends RaftMessage<C>["type"]> = Extract<
  RaftMessage<C>,
  { type: T }
>;

/** A message for another node; the owner stamps it before sending. */
export interface PeerEnvelope<C> {
  to: string;
  message: RaftMessage<C>;
}

/** A read that may now be served: the state machine must have applied `readIndex` first. */
export interface ReadyRead {
  id: number;
  readIndex: number;
}

/** Work handed over by {@link ConsensusLog.drain}. */
export interface ConsensusOutput<C> {
  /**
   * A snapshot received from the leader. Persist it before `entries`, then
   * restore the state machine from it. With `discardLog`, the local log
   * disagrees with it: durably drop every entry after the snapshot's index
   * BEFORE saving the snapshot (Raft section 7; see GroupCommit).
   */
  snapshot: (StoredSnapshot & { discardLog: boolean }) | null;
  /** Append durably, in order; an entry whose index is <= the last one truncates the log there first. */
  entries: RaftEntry<C>[];
  /** Persist with the entries, when not null. */
  hardState: HardState | null;
  /** Newly committed entries, in log order: apply them. */
  committed: RaftEntry<C>[];
  /** True when leadership or term changed since the previous drain. */
  roleChanged: boolean;
  /** Peer messages that may be sent at once. */
  messages: PeerEnvelope<C>[];
  /** Peer messages to send only once `snapshot`, `entries` and `hardState` are durable. */
  messagesAfterPersist: PeerEnvelope<C>[];
  /** Reads (by the id given to `requestRead`) that are now linearizable. */
  readsReady: ReadyRead[];
  /** Reads that cannot be served by this node (it is not, or no longer, the leader). */
  readsFailed: number[];
  /** Operating problems to log (a snapshot chunk that could not be read). */
  warnings: string[];
}

/** Where one node stands, for `client cluster`. */
export interface ConsensusStatus {
  role: "leader" | "follower" | "candidate";
  term: number;
  leaderId: string | null;
  commitIndex: number;
  lastIndex: number;
  /** On a leader: each follower's replication progress. */
  followers: Array<{ id: string; matchIndex: number; lastContactAgoMs: number | null }>;
  /** Voters in the group, and how many (this node included) it heard from within an election timeout. */
  voters: number;
  reachableVoters: number;
  /** True during the first election timeout after start, before peers could have been heard. */
  justStarted: boolean;
}

/** A replicated log of commands of type `C`, which it stores and hands back without reading them. */
export interface ConsensusLog<C> {
  readonly nodeId: string;
  readonly isLeader: boolean;
  /** The current leader as far as this node knows; null during an election. */
  readonly leaderId: string | null;
  readonly term: number;
  readonly lastIndex: number;
  readonly commitIndex: number;
  /** Appends commands as new entries; returns the first one's index, or null when not leader. */
  propose(commands: readonly C[]): number | null;
  /** Reports that every entry up to `index` (whose term is `term`), and what was staged with it, is durable. */
  persisted(index: number, term: number): void;
  /** Advances timers (elections, heartbeats). */
  tick(nowMs: number): void;
  /** Feeds a message from another node (a stamped message, envelope included, will do). */
  step(from: string, message: RaftMessage<C>, nowMs: number): void;
  /**
   * The connection from peer `from` closed. If it is the leader, its process most likely died
   * (a kill closes its sockets at once): start an election soon rather than after a full timeout.
   */
  peerDisconnected(from: string, nowMs: number): void;
  /** Asks to serve a linearizable read; the answer comes in `readsReady` or `readsFailed`. */
  requestRead(id: number): void;
  /**
   * The state machine was snapshotted at `snapshot.index`: compact the log, keep it for followers
   * (its bytes read from `snapshot.source` only when one needs them). Handing again the snapshot
   * the log already holds (same index and term) swaps its source: the store's, on disk, for the
   * bytes of a snapshot installed from the leader.
   */
  snapshotTaken(snapshot: SnapshotRef): void;
  status(nowMs: number): ConsensusStatus;
  /** Takes the accumulated work. */
  drain(): ConsensusOutput<C>;
}

/** An output with nothing in it. */
export function emptyConsensusOutput<C>(): ConsensusOutput<C> {
  return {
    snapshot: null,
    entries: [],
    hardState: null,
    committed: [],
    roleChanged: false,
    messages: [],
    messagesAfterPersist: [],
    readsReady: [],
    readsFailed: [],
    warnings: [],
  };
}
