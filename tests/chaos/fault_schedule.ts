/**
 * The chaos suite's fault schedule: a pure function of a seed. The same seed (and options) gives
 * the same faults at the same offsets, so a failing run can be repeated; which node a fault hits
 * is decided when it fires ("the leader" is whoever leads then), from a pick drawn here.
 * @module
 */
import { createPrng } from "../../shared/prng.ts";

/** What a fault does, and to which role. */
export type FaultKind =
  | "killLeader"
  | "killFollower"
  | "killWorker"
  | "pauseLeader"
  | "pauseFollower"
  | "pauseWorker"
  | "partitionLeader"
  | "partitionFollower"
  | "partitionWorker"
  | "isolateLeader"
  | "cutClientFromLeader";

/** Faults that need network rules (and so a network namespace). */
export const NETWORK_FAULTS: ReadonlySet<FaultKind> = new Set([
  "partitionLeader",
  "partitionFollower",
  "partitionWorker",
  "isolateLeader",
  "cutClientFromLeader",
]);

/**
 * Relative frequencies. The leader is hit more often than followers: it is where a fault costs
 * the most (an election, in-flight proposals, workers and clients moving).
 */
export const FAULT_WEIGHTS: Readonly<Record<FaultKind, number>> = {
  killLeader: 4,
  killFollower: 1,
  killWorker: 3,
  pauseLeader: 2,
  pauseFollower: 1,
  pauseWorker: 2,
  partitionLeader: 3,
  partitionFollower: 1,
  partitionWorker: 2,
  isolateLeader: 1,
  cutClientFromLeader: 1,
};

/** One planned fault. */
export interface PlannedFault {
  /** Offset from the start of the fault phase. */
  atMs: number;
  kind: FaultKind;
  /** How long the node stays down, paused or cut off before it is healed. */
  durationMs: number;
  /** Chooses among the candidates when the fault fires (modulo their number). */
  pick: number;
}

export interface ScheduleOptions {
  /** Length of the fault phase. */
  durationMs: number;
  /** Include network faults (they need a network namespace). */
  network: boolean;
  /** First fault no earlier than this (let the cluster settle). */
  quietStartMs?: number;
  /** Pause between one fault's start and the next. */
  gapMinMs?: number;
  gapMaxMs?: number;
}

/** Bounds on durations per fault family: kills need time to restart, pauses stay short. */
const DURATION_MS: Record<"kill" | "pause" | "network", [number, number]> = {
  kill: [300, 3000],
  pause: [1000, 4000],
  network: [1500, 6000],
};

/**
 * Plans the faults of a run. Every fault ends before `durationMs`, so healing at the end only
 * has to undo faults that are still in progress.
 */
export function planFaults(seed: number, options: ScheduleOptions): PlannedFault[] {
  const rng = createPrng(seed);
  const kinds = (Object.keys(FAULT_WEIGHTS) as FaultKind[]).filter((k) =>
    options.network || !NETWORK_FAULTS.has(k)
  );
  const totalWeight = kinds.reduce((sum, k) => sum + FAULT_WEIGHTS[k], 0);
  const chooseKind = (): FaultKind => {
    let ticket = rng.next() * totalWeight;
    for (const kind of kinds) {
      ticket -= FAULT_WEIGHTS[kind];
      if (ticket < 0) return kind;
    }
    return kinds[kinds.length - 1];
  };
  const faults: PlannedFault[] = [];
  let atMs = options.quietStartMs ?? 3000;
  for (;;) {
    const kind = chooseKind();
    const [min, max] = DURATION_MS[familyOf(kind)];
    const durationMs = rng.int(min, max);
    if (atMs + durationMs >= options.durationMs) break;
    faults.push({ atMs, kind, durationMs, pick: rng.int(0, 1_000_000) });
    atMs += rng.int(options.gapMinMs ?? 1500, options.gapMaxMs ?? 4500);
  }
  return faults;
}

/** The family of a fault: how it is applied and healed. */
export function familyOf(kind: FaultKind): "kill" | "pause" | "network" {
  if (kind.startsWith("kill")) return "kill";
  if (kind.startsWith("pause")) return "pause";
  return "network";
}

/** The role a fault targets. */
export function targetRoleOf(kind: FaultKind): "leader" | "follower" | "worker" {
  if (kind.endsWith("Leader")) return "leader";
  if (kind.endsWith("Follower")) return "follower";
  return "worker";
}
