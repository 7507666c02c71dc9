/**
 * Builds an orchestrator's pure core from what its disk recovered: the task state machine from
 * the snapshot, the Raft log from the hard state, snapshot and entries, and the node on top.
 * The one place this is written, shared by the shell, the simulator, the fuzz harness and the
 * node tests, so that none of them builds a node the product does not.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import {
  type ConsensusLog,
  RaftLog,
  type RaftOptions,
  type RaftRestore,
  type SnapshotSource,
  type StoredSnapshot,
} from "../raft/mod.ts";
import { bytesSnapshotSource } from "../storage/mod.ts";
import {
  type Command,
  decodeSnapshot,
  noopCommand,
  restorableSnapshotPosition,
  restoreSnapshot,
  TaskStateMachine,
} from "../tasks/mod.ts";
import { type NodeOptions, OrchestratorNode } from "./orchestrator_node.ts";

/** What a node is built from. */
export interface NodeBuild {
  node: NodeOptions;
  /**
   * The Raft options; the builder adds the no-op command and the snapshot check (a snapshot
   * received from a leader is installed only when its bytes cover the entry its header names).
   */
  raft: Omit<RaftOptions<Command>, "noopCommand" | "snapshotPosition">;
  /**
   * What the disk recovered (an empty log: term 0, no vote, no snapshot, no entries). The
   * snapshot's bytes restore the state machine and are not kept.
   */
  recovered: Omit<RaftRestore<Command>, "nowMs" | "snapshot"> & {
    snapshot: StoredSnapshot | null;
  };
  /**
   * Where the Raft log reads the recovered snapshot from afterwards (the store's file). Default:
   * the recovered bytes, kept in memory (the simulator and tests).
   */
  snapshotSource?: SnapshotSource;
  nowMs: number;
  /** Wraps the Raft log the node sees (the simulator observes what is applied). */
  wrapLog?: (raft: RaftLog<Command>) => ConsensusLog<Command>;
}

/** The node and the Raft log inside it (whose `isRejoining` the shell reports). */
export interface BuiltNode {
  node: OrchestratorNode;
  raft: RaftLog<Command>;
}

/** Recovers a node; its effects from recovery wait in `node.takeEffects()`. */
export function buildNode(build: NodeBuild): BuiltNode {
  assert(build.raft.nodeId === build.node.nodeId, "the Raft log and the node name different ids");
  const { recovered, nowMs } = build;
  const stored = recovered.snapshot;
  const sm = stored === null
    ? new TaskStateMachine()
    : restoreSnapshot(decodeSnapshot(stored.data));
  const source = stored === null ? null : build.snapshotSource ?? bytesSnapshotSource(stored.data);
  assert(
    stored === null || source!.byteLength === stored.data.length,
    "the snapshot source and the recovered snapshot differ in length",
  );
  const raft = new RaftLog<Command>({
    ...build.raft,
    noopCommand,
    snapshotPosition: restorableSnapshotPosition,
  }, {
    hardState: recovered.hardState,
    snapshot: stored === null ? null : { index: stored.index, term: stored.term, source: source! },
    entries: recovered.entries,
    nowMs,
  });
  const log = build.wrapLog === undefined ? raft : build.wrapLog(raft);
  const node = new OrchestratorNode(build.node, { sm, log, nowMs });
  return { node, raft };
}

/** What an empty disk recovers: term 0, no vote, no snapshot, no entries. */
export function emptyRecovery(): NodeBuild["recovered"] {
  return { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] };
}
