/**
 * Builds the pure node from the cluster configuration and the recovered log, with the things
 * only the shell may supply: the wall clock and a randomly seeded PRNG for election jitter.
 * @module
 */
import type { ClusterConfig, OrchestratorAddress } from "../../shared/config/mod.ts";
import type { Logger } from "../../shared/log.ts";
import { createPrng } from "../../shared/prng.ts";
import { buildNode, type OrchestratorNode } from "../core/mod.ts";
import type { RecoveredLog, SnapshotSource, StorageUse } from "../storage/mod.ts";

/** What the node is built from. */
export interface RecoverOptions {
  config: ClusterConfig;
  self: OrchestratorAddress;
  bootstrapAdmin: { name: string; passwordHash: string } | null;
  rejoin: boolean;
  logger: Logger;
  /** Where the recovered snapshot is read from afterwards (the store's file), not its bytes. */
  snapshotSource?: SnapshotSource;
  /** What the storage occupies, for `cluster`. */
  diskUse?: () => StorageUse;
}

/** The node for `recovered`, configured from `options.config`. */
export function recoverNode(recovered: RecoveredLog, options: RecoverOptions): OrchestratorNode {
  const { config, self, bootstrapAdmin } = options;
  const { node, raft } = buildNode({
    node: {
      nodeId: self.id,
      clusterId: config.clusterId,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      missedHeartbeats: config.missedHeartbeats,
      schedulerPolicy: config.scheduler,
      defaultMaxAttempts: config.defaultMaxAttempts,
      peers: config.orchestrators.map((o) => ({ id: o.id, address: `${o.host}:${o.port}` })),
      submitRatePerUser: config.submitRatePerUser,
      submitBurstPerUser: config.submitBurstPerUser,
      maxActiveTasksPerUser: config.maxActiveTasksPerUser,
      maxRetainedTasksPerUser: config.maxRetainedTasksPerUser,
      retention: config.retention,
      runningLimits: {
        maxRunningPerQueue: Object.fromEntries(
          Object.entries(config.queues).map(([name, queue]) => [name, queue.maxRunning]),
        ),
        maxRunningPerUser: config.maxRunningTasksPerUser,
      },
      priorityAgingMs: config.priorityAgingMs,
      eventStream: self.httpPort !== undefined,
      snapshotEveryEntries: config.snapshotEveryEntries,
      ...(options.diskUse === undefined ? {} : { diskUse: options.diskUse }),
      bootstrapUsers: [
        ...config.users,
        ...(bootstrapAdmin ? [{ ...bootstrapAdmin, role: "admin" as const }] : []),
      ],
    },
    raft: {
      nodeId: self.id,
      voters: config.orchestrators.map((o) => o.id),
      electionTimeoutMinMs: config.electionTimeoutMinMs,
      electionTimeoutMaxMs: config.electionTimeoutMaxMs,
      heartbeatIntervalMs: config.raftHeartbeatIntervalMs,
      catchUpEntries: config.snapshotCatchUpEntries,
      rejoin: options.rejoin,
      // Election jitter must differ between nodes and runs; it need not be secret.
      rng: createPrng(crypto.getRandomValues(new Uint32Array(1))[0]),
    },
    recovered,
    ...(options.snapshotSource === undefined ? {} : { snapshotSource: options.snapshotSource }),
    nowMs: Date.now(),
  });
  if (raft.isRejoining) {
    options.logger.info(
      "Rejoining after a lost disk: this orchestrator will not vote until it has caught up " +
        "with the leader",
    );
  }
  return node;
}
