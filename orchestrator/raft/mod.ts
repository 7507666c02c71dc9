/**
 * Raft consensus as a pure state machine (orchestrator/raft/raft_log.ts).
 * @module
 */
export { canRejoin, RaftLog } from "./raft_log.ts";
export type { RaftOptions, RaftRestore, SnapshotPosition } from "./raft_log.ts";
export { RaftEntries } from "./raft_entries.ts";
