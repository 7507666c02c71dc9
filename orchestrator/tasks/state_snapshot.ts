/**
 * Snapshots of the task state machine as plain JSON-able data. Indexes that
 * can be derived (idempotency keys, each owner's task list) are rebuilt on
 * load rather than stored, so a snapshot holds each fact once.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import type { TaskState } from "../../shared/protocol/messages.ts";
import type { SessionRecord, Stats, TaskRecord, UserRecord, WorkerRecord } from "./records.ts";
import { TaskQueue } from "./task_queue.ts";
import { TaskStateMachine } from "./task_state_machine.ts";
import { findInvariantViolations } from "./invariants.ts";

/** Bumped when the snapshot layout changes incompatibly. */
export const SNAPSHOT_FORMAT = 1;

export interface StateSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  appliedIndex: number;
  appliedTerm: number;
  nextTaskSeq: number;
  maxLamport: number;
  rrCursor: string | null;
  counts: Record<TaskState, number>;
  stats: Stats;
  loginsSinceSweep: number;
  tasks: TaskRecord[];
  queue: { retry: string[]; fresh: string[] };
  workers: Array<Omit<WorkerRecord, "running"> & { running: string[] }>;
  sessions: Array<[string, SessionRecord]>;
  users: UserRecord[];
}

/** Captures the state as data. The result shares no mutable objects with `sm` only after serialization. */
export function takeSnapshot(sm: TaskStateMachine): StateSnapshot {
  return {
    format: SNAPSHOT_FORMAT,
    appliedIndex: sm.appliedIndex,
    appliedTerm: sm.appliedTerm,
    nextTaskSeq: sm.nextTaskSeq,
    maxLamport: sm.maxLamport,
    rrCursor: sm.rrCursor,
    counts: { ...sm.counts },
    stats: { ...sm.stats },
    loginsSinceSweep: sm.loginsSinceSweep,
    tasks: [...sm.tasks.values()],
    queue: sm.queue.toJSON(),
    workers: [...sm.workers.values()].map((w) => ({ ...w, running: [...w.running] })),
    sessions: [...sm.sessions.entries()],
    users: [...sm.users.values()],
  };
}

/**
 * Rebuilds a state machine from a snapshot.
 * @throws {RangeError} for a snapshot of another format.
 */
export function restoreSnapshot(snapshot: StateSnapshot): TaskStateMachine {
  if (snapshot.format !== SNAPSHOT_FORMAT) {
    throw new RangeError(
      `Cannot restore snapshot: format ${snapshot.format} is not the supported ${SNAPSHOT_FORMAT}`,
    );
  }
  const sm = new TaskStateMachine();
  sm.appliedIndex = snapshot.appliedIndex;
  sm.appliedTerm = snapshot.appliedTerm;
  sm.nextTaskSeq = snapshot.nextTaskSeq;
  sm.maxLamport = snapshot.maxLamport;
  sm.rrCursor = snapshot.rrCursor;
  sm.counts = { ...snapshot.counts };
  sm.stats = { ...snapshot.stats };
  sm.loginsSinceSweep = snapshot.loginsSinceSweep;
  for (const task of snapshot.tasks) {
    sm.tasks.set(task.id, task);
    sm.taskOrder.push(task.id);
    sm.idempotency.set(`${task.owner}\0${task.idempotencyKey}`, task.id);
    let owned = sm.ownerTasks.get(task.owner);
    if (owned === undefined) sm.ownerTasks.set(task.owner, owned = []);
    owned.push(task.id);
  }
  sm.queue = TaskQueue.fromJSON(snapshot.queue);
  for (const worker of snapshot.workers) {
    sm.workers.set(worker.id, {
      ...worker,
      execAllow: worker.execAllow ?? null,
      running: new Set(worker.running),
    });
  }
  sm.sessions = new Map(snapshot.sessions);
  sm.users = new Map(snapshot.users.map((u) => [u.name, u]));
  assert(sm.tasks.size === snapshot.tasks.length, "snapshot holds a task id twice");
  return sm;
}

/**
 * Whether bytes are a snapshot this build can restore into a consistent state (used before
 * installing a snapshot received from a leader, so a corrupt one cannot take a node down).
 */
export function isRestorableSnapshot(data: Uint8Array): boolean {
  try {
    const value = JSON.parse(new TextDecoder().decode(data)) as StateSnapshot;
    if (value === null || typeof value !== "object" || value.format !== SNAPSHOT_FORMAT) {
      return false;
    }
    return findInvariantViolations(restoreSnapshot(value)).length === 0;
  } catch {
    return false; // not JSON, or not the shape restoreSnapshot expects: refuse it
  }
}
