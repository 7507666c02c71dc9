/**
 * A seed's scenario: cluster size, timings, fault rates and workload, drawn
 * from the seed's PRNG before anything else so the seed alone names the run.
 * @module
 */
import { createPrng, type Rng } from "../../shared/prng.ts";
import type { RetentionPolicy } from "../../orchestrator/core/retention.ts";
import type { HandlerTaskParams } from "./sim_handler_tasks.ts";
import type { ScheduleSimParams } from "./sim_schedules.ts";

/** Network behaviour; the chaos phase uses these rates, the healed network has none. */
export interface NetworkParams {
  latencyMinMs: number;
  latencyMaxMs: number;
  /** Extra delay some datagrams get, so they overtake others (reordering). */
  reorderDelayMaxMs: number;
  /** Chance that a datagram (Raft message, heartbeat) is lost. */
  dropRate: number;
  /** Chance that a datagram is delivered twice. */
  duplicateRate: number;
  /** Chance that a datagram is delayed by up to `reorderDelayMaxMs`. */
  reorderRate: number;
  /** How long a broken TCP connection takes to be noticed by each side. */
  breakDetectMsMax: number;
  /** How long a connection attempt to an unreachable address takes to fail. */
  connectTimeoutMs: number;
}

export interface DiskParams {
  fsyncMinMs: number;
  fsyncMaxMs: number;
}

/** Which log storage the orchestrators run, and the disk faults it meets (see sim_fs_store.ts). */
export interface StorageParams {
  /** `MemoryLogStorage` behind SimDisk, or the real `FileLogStorage` on the simulated file system. */
  kind: "memory" | "file";
  /** FileLogStorage's segment size (small ones make segments roll and get deleted). */
  segmentBytes: number;
  /**
   * Orchestrators whose synced data a crash may damage (bit flip, zeroed sector, misdirected
   * write) or whose torn writes may land out of order: at most a minority, so a majority stays
   * healthy while the damaged ones refuse to start.
   */
  damageableNodes: string[];
  /** Chance that a crash of a damageable node damages its synced data. */
  damageRate: number;
  /** Chance that an fsync fails with EIO (the node exits and restarts). */
  fsyncErrorRate: number;
  /** Chance that a write fails with ENOSPC (the node exits and restarts). */
  diskFullRate: number;
}

/** Fault injection during the chaos phase. */
export interface FaultParams {
  /** Mean gap between two faults. */
  meanGapMs: number;
  /** Relative weights of each fault kind. */
  weights: Record<FaultKind, number>;
  /** Chance that a crash catches a write in flight that then reaches the disk only in part. */
  tearRate: number;
  /** How long a crashed orchestrator or worker stays down (at most). */
  downMsMax: number;
  /** How long a partition or a pause lasts (at most). */
  outageMsMax: number;
  /** At most this many orchestrators are down at once (keeps a quorum possible most of the time). */
  maxOrchestratorsDown: number;
}

export const FAULT_KINDS = [
  "crashOrchestrator",
  "pauseOrchestrator",
  "crashWorker",
  "pauseWorker",
  "stopWorker",
  "partition",
  "asymmetricPartition",
  "isolateLeader",
  "breakConnection",
  /** Every orchestrator loses power at the same instant: unsynced writes are lost or torn. */
  "powerLoss",
] as const;
export type FaultKind = typeof FAULT_KINDS[number];

export interface SimParams {
  seed: number;
  orchestrators: number;
  /** Slots of each worker (its length is the number of workers). */
  workerSlots: number[];
  clients: number;
  /** Users the clients log in as (clients may share a user). */
  users: number;
  submissionsPerClient: number;
  taskDurationMsMin: number;
  taskDurationMsMax: number;
  /** Pause between a client's operations (at most). */
  thinkMsMax: number;
  /** A client's time budget per request (MutiraoClient's `timeoutMs`). */
  clientTimeoutMs: number;
  node: {
    heartbeatIntervalMs: number;
    missedHeartbeats: number;
    schedulerPolicy: "round-robin" | "least-loaded";
    defaultMaxAttempts: number;
  };
  raft: {
    electionTimeoutMinMs: number;
    electionTimeoutMaxMs: number;
    heartbeatIntervalMs: number;
    maxEntriesPerMessage: number;
    maxInflightMessages: number;
    snapshotChunkBytes: number;
    catchUpEntries: number;
  };
  snapshotEveryEntries: number;
  network: NetworkParams;
  disk: DiskParams;
  storage: StorageParams;
  faults: FaultParams;
  /** Simulated duration of the chaos phase. */
  chaosMs: number;
  /** Simulated time the healed system gets to converge. */
  convergenceBudgetMs: number;
  /** Validate every message with the real codec (as the receiving shell would). */
  validateWire: boolean;
  /** A cluster secret: heartbeats are signed and checked (forged, stale, replayed ones dropped). */
  hasClusterSecret: boolean;
  /**
   * Orchestrators step inputs that arrive at the same simulated moment together (`stepAll`), as
   * the real shell steps one event-loop turn's inputs; otherwise one at a time.
   */
  batchInputs: boolean;
  /** Each worker's prefetch (assignments held beyond its slots); 0 for most. */
  workerPrefetch: number[];
  /**
   * About a third of the tasks take no time (ending in the turn they start in: their result also
   * reports their start); the rest keep their drawn duration.
   */
  zeroLengthTasks: boolean;
  /**
   * A retention policy short enough to remove finished tasks during the run (the default keeps
   * them for a week); null for the default. Clients stop resubmitting a key once half its window
   * has passed since they first sent it (the window the idempotency promise covers).
   */
  retention: RetentionPolicy | null;
  /**
   * Handler tasks (kind "sim", served by every worker) with retry policies, failing attempts and
   * time limits, among the submissions; null: sleep tasks only (as seeds drew before them).
   */
  handlerTasks: HandlerTaskParams | null;
  /**
   * Second-level cron schedules added early in the run by a user of their own, firing across
   * failovers (sim_schedules.ts); null: none (as seeds drew before them).
   */
  schedules: ScheduleSimParams | null;
}

/** Draws a scenario from `rng` (the seed's PRNG, before it drives the run). */
export function drawParams(seed: number, rng: Rng): SimParams {
  const params = drawBase(seed, rng);
  if (rng.chance(0.25)) stormConsensus(params, rng);
  drawStorage(params, rng);
  drawLaterChoices(params);
  return params;
}

/**
 * Choices added after seeds were published come from their own PRNG, so every older seed still
 * draws the very scenario it drew before (the regression seeds replay what they found).
 */
function drawLaterChoices(p: SimParams): void {
  const rng = createPrng(p.seed * 31 + 7);
  p.batchInputs = rng.chance(0.5);
  p.workerPrefetch = p.workerSlots.map(() => rng.pick([0, 0, 1, 2]));
  p.zeroLengthTasks = rng.chance(0.3);
  p.retention = rng.chance(0.4)
    ? {
      // Half the time long enough for clients to resubmit keys (a resubmission retries for up to
      // clientTimeoutMs and must arrive inside half the window), half the time too short for it.
      keepFinishedForMs: rng.int(2000, 6000) + (rng.chance(0.5) ? 2 * p.clientTimeoutMs : 0),
      keepFinishedTasks: 0,
      users: {},
      sweepIntervalMs: rng.pick([20, 100, 500]),
    }
    : null;
  p.handlerTasks = rng.chance(0.5)
    ? {
      share: rng.pick([0.3, 0.6, 1]),
      retriesMax: rng.int(0, 3),
      failTimesMax: rng.int(0, 4),
      timeoutShare: rng.pick([0, 0.1]),
      backoffMs: rng.pick([0, 20, 100]),
    }
    : null;
  // Last: every choice above draws what it drew before schedules existed.
  p.schedules = rng.chance(0.35)
    ? {
      crons: rng.pick([
        ["*/1 * * * * *"],
        ["*/3 * * * * *"],
        ["*/1 * * * * *", "*/3 * * * * *"],
        ["*/2 * * * * *", "*/1 * * * * *", "*/5 * * * * *"],
      ]),
      startAtMs: rng.int(100, 1500),
      taskDurationMs: rng.pick([0, 20, 200]),
      pauseAfterMs: rng.chance(0.5) ? rng.int(300, 2500) : null,
    }
    : null;
}

/** Half the seeds run the real file storage on the simulated disk, with its faults at low rates. */
function drawStorage(p: SimParams, rng: Rng): void {
  const isFile = rng.chance(0.5);
  const ids = Array.from({ length: p.orchestrators }, (_, i) => `o${i + 1}`);
  const damageable = isFile ? rng.int(0, Math.floor((p.orchestrators - 1) / 2)) : 0;
  const damageableNodes: string[] = [];
  while (damageableNodes.length < damageable) {
    const id = rng.pick(ids);
    if (!damageableNodes.includes(id)) damageableNodes.push(id);
  }
  p.storage = {
    kind: isFile ? "file" : "memory",
    segmentBytes: rng.pick([1024, 4096, 65_536, 64 * 1024 * 1024]),
    damageableNodes,
    damageRate: damageable === 0 ? 0 : rng.pick([0.2, 0.5]),
    fsyncErrorRate: isFile ? rng.pick([0, 0, 0.002]) : 0,
    diskFullRate: isFile ? rng.pick([0, 0, 0.002]) : 0,
  };
  p.faults.weights.powerLoss = rng.chance(0.3) ? 1 : 0;
}

/**
 * A quarter of the seeds: frequent, short orchestrator faults under steady writes, so terms
 * change often while entries are in flight — where subtle Raft bugs (Raft paper figure 8, votes
 * for stale logs, lost acknowledgements) hide.
 */
function stormConsensus(p: SimParams, rng: Rng): void {
  p.orchestrators = rng.pick([3, 5, 5]);
  p.clients = rng.int(2, 4);
  p.submissionsPerClient = rng.int(8, 20);
  p.thinkMsMax = rng.int(5, 60);
  p.network.latencyMaxMs = rng.int(10, 30);
  p.faults = {
    ...p.faults,
    meanGapMs: rng.int(150, 500),
    weights: {
      crashOrchestrator: 4,
      pauseOrchestrator: 2,
      crashWorker: rng.int(0, 1),
      pauseWorker: 0,
      stopWorker: 0,
      partition: 3,
      asymmetricPartition: 2,
      isolateLeader: 4,
      breakConnection: rng.int(0, 1),
      powerLoss: 0,
    },
    downMsMax: rng.int(200, 1000),
    outageMsMax: rng.int(200, 1000),
    maxOrchestratorsDown: Math.floor(p.orchestrators / 2),
  };
}

function drawBase(seed: number, rng: Rng): SimParams {
  const orchestrators = rng.pick([1, 3, 3, 3, 3, 5, 5]);
  const workers = rng.int(1, 4);
  const raftHeartbeat = rng.int(20, 60);
  const electionMin = raftHeartbeat * rng.int(4, 8);
  const heartbeat = rng.int(50, 200);
  const calm = rng.chance(0.15);
  return {
    seed,
    orchestrators,
    workerSlots: Array.from({ length: workers }, () => rng.int(1, 3)),
    clients: rng.int(1, 4),
    users: rng.int(1, 2),
    submissionsPerClient: rng.int(3, 12),
    taskDurationMsMin: rng.int(10, 200),
    taskDurationMsMax: rng.int(300, 2000),
    thinkMsMax: rng.int(10, 400),
    clientTimeoutMs: rng.int(2000, 6000),
    node: {
      heartbeatIntervalMs: heartbeat,
      missedHeartbeats: rng.int(2, 4),
      schedulerPolicy: rng.pick(["round-robin", "least-loaded"] as const),
      defaultMaxAttempts: rng.int(2, 6),
    },
    raft: {
      electionTimeoutMinMs: electionMin,
      electionTimeoutMaxMs: electionMin + rng.int(Math.floor(electionMin / 2), electionMin * 2),
      heartbeatIntervalMs: raftHeartbeat,
      maxEntriesPerMessage: rng.pick([1, 2, 4, 16, 64, 512]),
      maxInflightMessages: rng.pick([1, 2, 4, 32]),
      snapshotChunkBytes: rng.pick([256, 1024, 4096, 256 * 1024]),
      catchUpEntries: rng.pick([0, 0, 5, 20, 5000]),
    },
    snapshotEveryEntries: rng.pick([10, 20, 40, 100, 10_000]),
    network: {
      latencyMinMs: rng.int(0, 2),
      latencyMaxMs: rng.int(3, 20),
      reorderDelayMaxMs: rng.int(10, 150),
      dropRate: calm ? 0 : rng.pick([0, 0.01, 0.03, 0.1, 0.2]),
      duplicateRate: calm ? 0 : rng.pick([0, 0.01, 0.05]),
      reorderRate: calm ? 0 : rng.pick([0, 0.02, 0.1]),
      breakDetectMsMax: rng.int(1, 100),
      connectTimeoutMs: rng.int(200, 2000),
    },
    disk: {
      fsyncMinMs: rng.int(0, 2),
      fsyncMaxMs: rng.int(2, 15),
    },
    faults: {
      meanGapMs: calm ? 1e12 : rng.int(300, 2500),
      weights: {
        crashOrchestrator: rng.int(0, 4),
        pauseOrchestrator: rng.int(0, 2),
        crashWorker: rng.int(0, 3),
        pauseWorker: rng.int(0, 2),
        stopWorker: rng.int(0, 1),
        partition: rng.int(0, 3),
        asymmetricPartition: rng.int(0, 2),
        isolateLeader: rng.int(0, 3),
        breakConnection: rng.int(0, 3),
        powerLoss: 0,
      },
      tearRate: rng.pick([0, 0.3, 0.7]),
      downMsMax: rng.int(300, 3000),
      outageMsMax: rng.int(300, 3000),
      maxOrchestratorsDown: Math.max(1, Math.floor(orchestrators / 2)),
    },
    chaosMs: rng.int(3000, 9000),
    storage: {
      kind: "memory",
      segmentBytes: 64 * 1024 * 1024,
      damageableNodes: [],
      damageRate: 0,
      fsyncErrorRate: 0,
      diskFullRate: 0,
    },
    convergenceBudgetMs: 60_000,
    validateWire: true,
    hasClusterSecret: rng.chance(0.5),
    batchInputs: false,
    workerPrefetch: [],
    zeroLengthTasks: false,
    retention: null,
    handlerTasks: null,
    schedules: null,
  };
}

/** A short human description of a scenario, for summaries. */
export function describeParams(p: SimParams): string {
  return `${p.orchestrators} orchestrator(s), ${p.workerSlots.length} worker(s) ` +
    `[slots ${p.workerSlots.join(",")}], ${p.clients} client(s), ` +
    `drop ${p.network.dropRate}, dup ${p.network.duplicateRate}, ` +
    `fault every ~${Math.min(p.faults.meanGapMs, 99_999)} ms, chaos ${p.chaosMs} ms, ` +
    `snapshot every ${p.snapshotEveryEntries}, ${p.storage.kind} storage` +
    (p.batchInputs ? ", batched steps" : "") +
    (p.zeroLengthTasks ? ", zero-length tasks" : "") +
    (p.retention !== null ? `, finished tasks kept ${p.retention.keepFinishedForMs} ms` : "") +
    (p.workerPrefetch.some((n) => n > 0) ? ` [prefetch ${p.workerPrefetch.join(",")}]` : "") +
    (p.storage.damageableNodes.length > 0
      ? ` (synced data of ${p.storage.damageableNodes.join(",")} may be damaged)`
      : "");
}
