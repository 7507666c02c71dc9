/**
 * Retention: which finished tasks a leader proposes to remove, and when. Removal goes through the
 * log (`tasksRemoved` names its tasks), so every replica removes the same ones; this module only
 * chooses them. A finished task is removed once it is older than its owner's `keepFinishedForMs`,
 * or beyond its owner's newest `keepFinishedTasks`, or beyond the cluster's newest
 * `keepFinishedTasks` (oldest first, whoever owns them). Queued and running tasks are never
 * chosen (and the state machine would skip them anyway).
 * @module
 */
import type { Command, Stamp, TaskStateMachine } from "../tasks/mod.ts";

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
    const hasOwnCounts = Object.values(policy.users).some((u) => u.keepFinishedTasks !== undefined);
    // Oldest first across the users the cluster's limit covers. With no user limits that is the
    // overall finish order; otherwise their own queues are merged by finish time, so tasks of
    // users with their own limit are never walked past (they may be the oldest by far).
    const candidates = hasOwnCounts
      ? mergeByFinish(
        sm,
        [...sm.finishedOrder.owners()].filter((owner) =>
          policy.users[owner]?.keepFinishedTasks === undefined
        ),
      )
      : sm.finishedOrder.all.live(isLive);
    for (const id of candidates) {
      if (excess <= 0 || chosen.length >= limit) break;
      if (taken.has(id)) continue;
      chosen.push(id);
      excess -= 1;
    }
  }
  return chosen;
}

/** The live finished tasks of `owners`, oldest first (by finish time, then id), lazily. */
function* mergeByFinish(sm: TaskStateMachine, owners: readonly string[]): Generator<string> {
  const isLive = (id: string) => sm.tasks.has(id);
  type Head = { id: string; at: number; seq: number; rest: Iterator<string> };
  const heap: Head[] = [];
  const before = (a: Head, b: Head) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  const headOf = (rest: Iterator<string>): Head | null => {
    const next = rest.next();
    if (next.done === true) return null;
    const task = sm.tasks.get(next.value)!;
    return { id: next.value, at: task.finishedAtMs ?? 0, seq: task.seq, rest };
  };
  const push = (head: Head) => {
    heap.push(head);
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const pop = (): Head => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let least = i;
        if (l < heap.length && before(heap[l], heap[least])) least = l;
        if (r < heap.length && before(heap[r], heap[least])) least = r;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least], heap[i]];
        i = least;
      }
    }
    return top;
  };
  for (const owner of owners) {
    const queue = sm.finishedOrder.ofOwner(owner);
    const head = queue === undefined ? null : headOf(queue.live(isLive));
    if (head !== null) push(head);
  }
  while (heap.length > 0) {
    const head = pop();
    yield head.id;
    const next = headOf(head.rest);
    if (next !== null) push(next);
  }
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

/**
 * Proposes the removal of finished tasks the retention policy no longer keeps, a batch at a time,
 * when a sweep is due at `nowMs` (one removal in flight at a time).
 */
export function sweepRetention(
  sm: TaskStateMachine,
  rounds: RetentionRounds,
  policy: RetentionPolicy,
  nowMs: number,
  io: { propose(command: Command): number | null; stamp(): Stamp },
): void {
  if (!rounds.due(nowMs, policy.sweepIntervalMs)) return;
  const taskIds = planRemovals(sm, policy, nowMs, RETENTION_BATCH);
  const index = taskIds.length === 0
    ? null
    : io.propose({ type: "tasksRemoved", taskIds, reason: "retention", by: null, ...io.stamp() });
  rounds.swept(nowMs, taskIds.length, RETENTION_BATCH, index);
}
