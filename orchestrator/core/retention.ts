/**
 * Retention: which finished tasks a leader proposes to remove, and when. Removal goes through the
 * log (`tasksRemoved` names its tasks), so every replica removes the same ones; this module only
 * chooses them. A finished task is removed once it is older than its owner's `keepFinishedForMs`,
 * or beyond its owner's newest `keepFinishedTasks`, or beyond the cluster's newest
 * `keepFinishedTasks` (oldest first, whoever owns them). Queued and running tasks are never
 * chosen (and the state machine would skip them anyway).
 * @module
 */
import type { TaskStateMachine } from "../tasks/mod.ts";

/** How long finished tasks are kept; 0 means no limit of that kind. */
export interface RetentionLimits {
  /** Finished tasks older than this (since they finished) are removed. */
  keepFinishedForMs: number;
  /** At most this many finished tasks are kept (the newest). */
  keepFinishedTasks: number;
}

export interface RetentionPolicy extends RetentionLimits {
  /** Per-user limits: a user's own age and count limits replace the cluster's for their tasks. */
  users: Readonly<Record<string, Partial<RetentionLimits>>>;
  /** A sweep with nothing to remove is repeated at most this often. */
  sweepIntervalMs: number;
}

const DAY_MS = 24 * 3600 * 1000;

/** The defaults: a week, and a million finished tasks (BullMQ, Celery and Nomad keep less). */
export const DEFAULT_RETENTION: RetentionPolicy = Object.freeze({
  keepFinishedForMs: 7 * DAY_MS,
  keepFinishedTasks: 1_000_000,
  users: Object.freeze({}),
  sweepIntervalMs: 1000,
});

/** Tasks one retention proposal removes: small entries, many of them under a large backlog. */
export const RETENTION_BATCH = 1000;

/**
 * Up to `limit` finished tasks the policy removes at `nowMs`, oldest first per owner, then the
 * cluster-wide excess. Costs O(owners + chosen): each owner's finished tasks are walked from the
 * oldest and the walk stops at the first one kept.
 */
export function planRemovals(
  sm: TaskStateMachine,
  policy: RetentionPolicy,
  nowMs: number,
  limit = RETENTION_BATCH,
): string[] {
  const chosen: string[] = [];
  const taken = new Set<string>();
  const isLive = (id: string) => sm.tasks.has(id);
  for (const owner of sm.finishedOrder.owners()) {
    if (chosen.length >= limit) break;
    const own = policy.users[owner];
    const keepFor = own?.keepFinishedForMs ?? policy.keepFinishedForMs;
    // A user's own count limit is applied here; everyone else's count is the cluster's, below.
    const keepTasks = own?.keepFinishedTasks ?? 0;
    let excess = keepTasks > 0 ? finishedOf(sm, owner) - keepTasks : 0;
    for (const id of sm.finishedOrder.ofOwner(owner)?.live(isLive) ?? []) {
      if (chosen.length >= limit) break;
      const finishedAtMs = sm.tasks.get(id)!.finishedAtMs ?? nowMs;
      const tooOld = keepFor > 0 && nowMs - finishedAtMs >= keepFor;
      if (!tooOld && excess <= 0) break;
      chosen.push(id);
      taken.add(id);
      excess -= 1;
    }
  }
  // The cluster's count limit, over the tasks of users without their own (handled above).
  if (policy.keepFinishedTasks > 0) {
    let counted = sm.finishedCount;
    for (const [user, own] of Object.entries(policy.users)) {
      if (own.keepFinishedTasks !== undefined) counted -= finishedOf(sm, user);
    }
    for (const id of taken) {
      if (policy.users[sm.tasks.get(id)!.owner]?.keepFinishedTasks === undefined) counted -= 1;
    }
    let excess = counted - policy.keepFinishedTasks;
    for (const id of sm.finishedOrder.all.live(isLive)) {
      if (excess <= 0 || chosen.length >= limit) break;
      if (taken.has(id)) continue;
      const own = policy.users[sm.tasks.get(id)!.owner];
      if (own?.keepFinishedTasks !== undefined) continue;
      chosen.push(id);
      excess -= 1;
    }
  }
  return chosen;
}

function finishedOf(sm: TaskStateMachine, owner: string): number {
  const counts = sm.countsByOwner.get(owner);
  return counts === undefined ? 0 : counts.succeeded + counts.failed + counts.cancelled;
}

/**
 * When a leader sweeps: one removal in flight at a time; right after one applied if it was full
 * (a backlog drains at a batch per commit round), otherwise every `sweepIntervalMs`.
 */
export class RetentionRounds {
  #inFlightIndex: number | null = null;
  #lastSweepMs = -Infinity;
  #backlog = false;

  /** Whether a sweep is due at `nowMs`. */
  due(nowMs: number, intervalMs: number): boolean {
    if (this.#inFlightIndex !== null) return false;
    return this.#backlog || nowMs - this.#lastSweepMs >= intervalMs;
  }

  /** A sweep ran at `nowMs`, choosing `chosen` tasks in a batch of at most `limit`. */
  swept(nowMs: number, chosen: number, limit: number, index: number | null): void {
    this.#lastSweepMs = nowMs;
    this.#backlog = chosen >= limit;
    this.#inFlightIndex = chosen > 0 ? index : null;
  }

  /** An entry at `index` applied: the removal in flight, if that was it, is done. */
  applied(index: number): void {
    if (this.#inFlightIndex !== null && index >= this.#inFlightIndex) this.#inFlightIndex = null;
  }

  /** Leadership changed: a proposal in flight may or may not commit; the next leader sweeps anew. */
  clear(): void {
    this.#inFlightIndex = null;
    this.#backlog = false;
  }
}
