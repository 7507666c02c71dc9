/**
 * Builds an orchestrator's pure core from what its disk recovered with the
 * product's builder (orchestrator/core/node_builder.ts), as
 * OrchestratorServer#recover does, with the Raft log wrapped so the checkers
 * see what is applied and the cluster file's options. Like the real shell, it
 * passes `--rejoin` on as RaftOptions.rejoin.
 * @module
 */
import {
  buildNode as buildCore,
  type NodeOptions,
  type OrchestratorNode,
} from "../../orchestrator/core/mod.ts";
import type { RaftLog } from "../../orchestrator/raft/mod.ts";
import type { RecoveredLog, SnapshotSource } from "../../orchestrator/storage/mod.ts";
import type { Command } from "../../orchestrator/tasks/mod.ts";
import { assert } from "../../shared/assert.ts";
import { createPrng } from "../../shared/prng.ts";
import { ObservedLog } from "./observed_log.ts";
import { bootstrapAccounts } from "./sim_accounts.ts";
import type { World } from "./world.ts";

/** A node, its observed log, and the Raft log inside (whose `isRejoining` the shell reports). */
export interface BuiltNode {
  node: OrchestratorNode;
  log: ObservedLog;
  raft: RaftLog<Command>;
}

/** What an orchestrator boots from. */
export interface BootFrom {
  nodeId: string;
  /** What its disk recovered. */
  recovered: RecoveredLog;
  /** Started with `--rejoin` (an emptied data directory, or a rejoin under way). */
  rejoin: boolean;
  /** Where the recovered snapshot is read from afterwards (the store's), as the shell does. */
  snapshotSource?: SnapshotSource;
}

/** Recovers an orchestrator from its disk; its election jitter comes from the world's PRNG. */
export function buildNode(world: World, from: BootFrom): BuiltNode {
  const { nodeId, recovered, rejoin } = from;
  const p = world.params;
  const observed: { log?: ObservedLog } = {};
  const options: NodeOptions = {
    nodeId,
    clusterId: "sim",
    heartbeatIntervalMs: p.node.heartbeatIntervalMs,
    missedHeartbeats: p.node.missedHeartbeats,
    schedulerPolicy: p.node.schedulerPolicy,
    defaultMaxAttempts: p.node.defaultMaxAttempts,
    peers: world.orchestrators.map((o) => ({ id: o.id, address: o.address })),
    // The cluster file's accounts, which a leader creates in the replicated state.
    bootstrapUsers: bootstrapAccounts(world),
    snapshotEveryEntries: p.snapshotEveryEntries,
    ...(p.retention === null ? {} : { retention: p.retention }),
  };
  const { node, raft } = buildCore({
    node: options,
    raft: {
      nodeId,
      voters: world.orchestrators.map((o) => o.id),
      electionTimeoutMinMs: p.raft.electionTimeoutMinMs,
      electionTimeoutMaxMs: p.raft.electionTimeoutMaxMs,
      heartbeatIntervalMs: p.raft.heartbeatIntervalMs,
      maxEntriesPerMessage: p.raft.maxEntriesPerMessage,
      maxInflightMessages: p.raft.maxInflightMessages,
      snapshotChunkBytes: p.raft.snapshotChunkBytes,
      catchUpEntries: p.raft.catchUpEntries,
      rejoin,
      rng: createPrng(world.rng.int(0, 0xffffffff)),
    },
    recovered,
    ...(from.snapshotSource === undefined ? {} : { snapshotSource: from.snapshotSource }),
    nowMs: world.clockMs(nodeId),
    wrapLog: (inner) => (observed.log = new ObservedLog(inner)),
  });
  assert(observed.log !== undefined, "the node was built without its observed log");
  return { node, log: observed.log, raft };
}
