/**
 * How a Raft log is set up ({@link RaftOptions}) and what it restarts from ({@link RaftRestore}):
 * the types the owner fills in, and the defaults it may leave out.
 * @module
 */
import type { Rng } from "../../shared/prng.ts";
import type { HardState, RaftEntry, SnapshotRef } from "./consensus_log.ts";

/** How a RaftLog replicating commands of type `C` is set up. */
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
   * (RaftLog.refusedSnapshots). Default: the bytes are opaque and the header is trusted.
   */
  snapshotPosition?: (data: Uint8Array) => SnapshotPosition | null;
  /**
   * Starts as a node that lost its disk and rejoins (see raft_rejoin.ts). The log restored must
   * be empty (canRejoin); a log restored with `hardState.rejoining` rejoins with or without this
   * option.
   */
  rejoin?: boolean;
}

/** {@link RaftOptions} with every default filled in. */
export type ResolvedRaftOptions<C> =
  & Required<Omit<RaftOptions<C>, "snapshotPosition">>
  & RaftOptions<C>;

/** The last entry a snapshot covers. */
export interface SnapshotPosition {
  index: number;
  term: number;
}

/** What a RaftLog starts from: what its storage recovered. */
export interface RaftRestore<C> {
  hardState: HardState;
  /** The newest snapshot, read from the store on demand (the log never holds its bytes). */
  snapshot: SnapshotRef | null;
  /** Durable entries after the snapshot. */
  entries: readonly RaftEntry<C>[];
  nowMs: number;
}

/** The values of the options a caller may leave out. */
export const RAFT_DEFAULTS = {
  rejoin: false,
  maxEntriesPerMessage: 512,
  maxInflightMessages: 32,
  snapshotChunkBytes: 256 * 1024,
  catchUpEntries: 5000,
};

/** Fills in the defaults of the options left out. */
export function resolveRaftOptions<C>(options: RaftOptions<C>): ResolvedRaftOptions<C> {
  return { ...RAFT_DEFAULTS, ...options };
}
