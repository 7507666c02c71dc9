/**
 * Raft consensus as a pure state machine (orchestrator/raft/raft_log.ts) behind the replicated
 * log's seam (orchestrator/raft/consensus_log.ts). It knows nothing of what it replicates: its
 * commands are opaque values of the owner's type. RaftLog is a facade over one shared state
 * (raft_state.ts) and focused modules: raft_elections.ts (terms, votes, pre-vote, check-quorum),
 * raft_replication.ts (leader side), raft_follower.ts (follower side), raft_snapshots.ts,
 * raft_reads.ts (ReadIndex) and raft_rejoin.ts (rejoining after a lost disk); only what is
 * exported here is public.
 * @module
 */
export { canRejoin, RaftLog } from "./raft_log.ts";
export type { RaftOptions, RaftRestore, SnapshotPosition } from "./raft_log.ts";
export { RaftEntries } from "./raft_entries.ts";
export { emptyConsensusOutput } from "./consensus_log.ts";
export type {
  ConsensusLog,
  ConsensusOutput,
  ConsensusStatus,
  HardState,
  PeerEnvelope,
  RaftEntry,
  RaftMessage,
  RaftMessageOf,
  ReadyRead,
  SnapshotRef,
  SnapshotSource,
  StoredSnapshot,
} from "./consensus_log.ts";
