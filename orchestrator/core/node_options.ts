/**
 * How an orchestrator node is configured: its identity, timing, scheduling, the accounts it
 * creates as leader, and the per-user limits it enforces.
 * @module
 */
import type { SchedulerPolicy } from "../scheduler/mod.ts";
import type { RetentionPolicy } from "./retention.ts";
import type { RunningLimits } from "./scheduling_round.ts";

export interface NodeOptions {
  nodeId: string;
  clusterId: string;
  heartbeatIntervalMs: number;
  /** A worker is declared dead after this many intervals without a heartbeat. */
  missedHeartbeats: number;
  schedulerPolicy: SchedulerPolicy;
  defaultMaxAttempts: number;
  /** Bounds one scheduling round (assignments proposed per step). */
  maxAssignmentsPerRound?: number;
  /** Every orchestrator's id and "host:port", for leader hints in "not leader" replies. */
  peers?: ReadonlyArray<{ id: string; address: string }>;
  /**
   * Accounts a leader creates when missing (the cluster file's users, the bootstrap admin):
   * proposed once per term, after the leader has caught up, so replicas agree on them.
   */
  bootstrapUsers?: ReadonlyArray<{ name: string; role: "admin" | "user"; passwordHash: string }>;
  /** Per-user submission limit (tasks per second, and burst); 0 = unlimited. */
  submitRatePerUser?: number;
  submitBurstPerUser?: number;
  /** Per-user quotas: tasks queued or running, and tasks kept in any state; 0 = unlimited. */
  maxActiveTasksPerUser?: number;
  maxRetainedTasksPerUser?: number;
  /**
   * A local snapshot is due after this many applied entries (or one per retained task, if more;
   * see isSnapshotDue); default {@link DEFAULT_SNAPSHOT_EVERY_ENTRIES}.
   */
  snapshotEveryEntries?: number;
  /** Derive and keep the event stream's events (`GET /api/v1/events`): nodes serving HTTP. */
  eventStream?: boolean;
  /** Tasks running at once per queue and per user (the cluster file's); absent: no limits. */
  runningLimits?: RunningLimits;
  /** A task waiting this long goes ahead of every priority of its queue (0: strict priorities). */
  priorityAgingMs?: number;
  /** Which finished tasks the leader removes, and when; default {@link DEFAULT_RETENTION}. */
  retention?: RetentionPolicy;
  /**
   * What the node's storage occupies, reported by `cluster`: a getter on the storage, read like
   * data (the core does no I/O; the storage counts the bytes it wrote and deleted). Absent: not
   * reported.
   */
  diskUse?: () => { snapshotBytes: number; logBytes: number };
}

/** The cluster configuration's default for `snapshotEveryEntries`. */
export const DEFAULT_SNAPSHOT_EVERY_ENTRIES = 10_000;
