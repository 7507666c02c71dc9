/**
 * The seam between the orchestrator node and its replicated log. The node
 * proposes commands and applies what comes back committed; how entries become
 * committed (one node that commits once its disk has them, or a Raft group that
 * commits once a majority has them) is the implementation's business.
 *
 * Pattern (as in etcd/raft's Ready): calls accumulate work; `drain()` hands it
 * over as data, in the order the shell must carry it out.
 * @module
 */
import type { PeerMessage } from "../../shared/protocol/peer_messages.ts";
import type { Unstamped } from "../../shared/protocol/messages.ts";
import type { Command, LogEntry } from "../tasks/mod.ts";
import type { HardState, StoredSnapshot } from "../storage/mod.ts";

export type { HardState, StoredSnapshot };

/** A message for another orchestrator; the node stamps it with its Lamport time. */
export interface PeerEnvelope {
  to: string;
  message: Unstamped<PeerMessage>;
}

/** A read that may now be served: the state machine must have applied `readIndex` first. */
export interface ReadyRead {
  id: number;
  readIndex: number;
}

/** Work handed to the node by {@link ConsensusLog.drain}. */
export interface ConsensusOutput {
  /**
   * A snapshot received from the leader. Persist it before `entries`, then
   * restore the state machine from it. With `discardLog`, the local log
   * disagrees with it: durably drop every entry after the snapshot's index
   * BEFORE saving the snapshot (Raft section 7; see GroupCommit).
   */
  snapshot: (StoredSnapshot & { discardLog: boolean }) | null;
  /** Append durably, in order; an entry whose index is <= the last one truncates the log there first. */
  entries: LogEntry[];
  /** Persist with the entries, when not null. */
  hardState: HardState | null;
  /** Newly committed entries, in log order: apply them. */
  committed: LogEntry[];
  /** True when leadership or term changed since the previous drain. */
  roleChanged: boolean;
  /** Peer messages that may be sent at once. */
  messages: PeerEnvelope[];
  /** Peer messages to send only once `snapshot`, `entries` and `hardState` are durable. */
  messagesAfterPersist: PeerEnvelope[];
  /** Reads (by the id given to `requestRead`) that are now linearizable. */
  readsReady: ReadyRead[];
  /** Reads that cannot be served by this node (it is not, or no longer, the leader). */
  readsFailed: number[];
}

/** Where one orchestrator stands, for `client cluster`. */
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

export interface ConsensusLog {
  readonly nodeId: string;
  readonly isLeader: boolean;
  /** The current leader as far as this node knows; null during an election. */
  readonly leaderId: string | null;
  readonly term: number;
  readonly lastIndex: number;
  readonly commitIndex: number;
  /** Appends commands as new entries; returns the first one's index, or null when not leader. */
  propose(commands: readonly Command[]): number | null;
  /** Reports that every entry up to `index` (whose term is `term`), and what was staged with it, is durable. */
  persisted(index: number, term: number): void;
  /** Advances timers (elections, heartbeats). */
  tick(nowMs: number): void;
  /** Feeds a message from another orchestrator. */
  step(from: string, message: PeerMessage, nowMs: number): void;
  /**
   * The connection from peer `from` closed. If it is the leader, its process most likely died
   * (a kill closes its sockets at once): start an election soon rather than after a full timeout.
   */
  peerDisconnected(from: string, nowMs: number): void;
  /** Asks to serve a linearizable read; the answer comes in `readsReady` or `readsFailed`. */
  requestRead(id: number): void;
  /** The state machine was snapshotted at `snapshot.index`: compact the log, keep it for followers. */
  snapshotTaken(snapshot: StoredSnapshot): void;
  status(nowMs: number): ConsensusStatus;
  /** Takes the accumulated work. */
  drain(): ConsensusOutput;
}

/** An output with nothing in it. */
export function emptyConsensusOutput(): ConsensusOutput {
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
  };
}
