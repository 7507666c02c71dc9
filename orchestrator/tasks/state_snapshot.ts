/**
 * Snapshots of the task state machine as plain JSON-able data. Indexes that
 * can be derived (idempotency keys, each owner's task list) are rebuilt on
 * load rather than stored, so a snapshot holds each fact once.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { isFinalState, type TaskEvent, type TaskState } from "../../shared/protocol/messages.ts";
import { packHistory } from "./task_history.ts";
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
  /** Absent in snapshots taken before accounts were configured once per cluster. */
  configuredAccounts?: Array<[string, string[]]>;
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
    configuredAccounts: [...sm.configuredAccounts.entries()],
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
  for (const stored of snapshot.tasks) {
    const task = upgradeTask(stored);
    sm.tasks.set(task.id, task);
    sm.taskOrder.push(task.id);
    sm.idempotency.set(task.owner, task.idempotencyKey, task.id);
    let owned = sm.ownerTasks.get(task.owner);
    if (owned === undefined) sm.ownerTasks.set(task.owner, owned = []);
    owned.push(task.id);
    if (!isFinalState(task.state)) {
      sm.activeByOwner.set(task.owner, sm.activeTasksOf(task.owner) + 1);
    }
    sm.ownerCounts(task.owner)[task.state] += 1;
  }
  sm.queue = TaskQueue.fromJSON(snapshot.queue);
  for (const worker of snapshot.workers) {
    sm.workers.set(worker.id, {
      ...worker,
      execAllow: worker.execAllow ?? null,
      // Snapshots taken before prefetch existed hold none.
      prefetch: worker.prefetch ?? 0,
      running: new Set(worker.running),
    });
  }
  sm.sessions = new Map(snapshot.sessions);
  sm.recountSessions();
  sm.users = new Map(snapshot.users.map((u) => [u.name, u]));
  sm.configuredAccounts = new Map(snapshot.configuredAccounts ?? []);
  assert(sm.tasks.size === snapshot.tasks.length, "snapshot holds a task id twice");
  return sm;
}

/**
 * A task as this build keeps it: snapshots of format 1 hold histories as arrays of event objects
 * (`history`), packed on load.
 */
function upgradeTask(stored: TaskRecord | LegacyTaskRecord): TaskRecord {
  if (!("history" in stored)) return stored;
  const { history, ...rest } = stored;
  if (!Array.isArray(history)) throw new RangeError("Snapshot task history is not a list");
  return { ...rest, packedHistory: packHistory(history, stored.submittedAtMs) };
}

/** A task as snapshots of format 1 held it. */
type LegacyTaskRecord = Omit<TaskRecord, "packedHistory"> & { history: TaskEvent[] };

/** Tasks per line of an encoded snapshot: lines stay around a megabyte. */
const TASKS_PER_LINE = 1000;
const NEWLINE = 0x0a;

/**
 * The snapshot as bytes: a first line with everything but the tasks (and `taskLines`, how many
 * lines follow), then the tasks as JSON arrays of up to TASKS_PER_LINE, one per line.
 *
 * One JSON document would be simpler, but a JavaScript string holds at most 2^29 characters
 * (about 512 MiB): at roughly 900 bytes per finished task, a single document stops working near
 * 600,000 retained tasks, on every node at about the same entry. Lines are encoded and parsed
 * one at a time. A snapshot of one line (no `taskLines`, tasks inline) is read as before.
 */
export function encodeSnapshot(sm: TaskStateMachine): Uint8Array {
  const { header, tasks } = captureForEncoding(sm);
  const parts = [header];
  for (let i = 0; i < tasks.length; i += TASKS_PER_LINE) parts.push(encodeTaskLine(tasks, i));
  return concatBytes(parts);
}

/**
 * Like encodeSnapshot, the state at the moment of the call, but encoded a line at a time with
 * `pause()` between lines, so that a large state does not block its process for seconds (a
 * leader that stops answering for longer than an election timeout loses its term). The state
 * may change during the pauses: what can still change is copied at the call, and a task in a
 * final state never changes again (no command applies to it), so it is encoded as it is.
 */
export async function encodeSnapshotInSteps(
  sm: TaskStateMachine,
  pause: () => Promise<void>,
): Promise<Uint8Array> {
  const { header, tasks } = captureForEncoding(sm, true);
  const parts = [header];
  for (let i = 0; i < tasks.length; i += TASKS_PER_LINE) {
    await pause();
    parts.push(encodeTaskLine(tasks, i));
  }
  return concatBytes(parts);
}

/** The header line, encoded now, and the tasks (copies of those that may still change). */
function captureForEncoding(
  sm: TaskStateMachine,
  copyLive = false,
): { header: Uint8Array; tasks: TaskRecord[] } {
  const { tasks, ...rest } = takeSnapshot(sm);
  const lines = Math.ceil(tasks.length / TASKS_PER_LINE);
  const header = new TextEncoder().encode(JSON.stringify({ ...rest, tasks: [], taskLines: lines }));
  if (!copyLive) return { header, tasks };
  return {
    header,
    tasks: tasks.map((task) => isFinalState(task.state) ? task : structuredClone(task)),
  };
}

function encodeTaskLine(tasks: readonly TaskRecord[], from: number): Uint8Array {
  // JSON never contains a raw newline byte (it is escaped inside strings): a safe separator.
  return new TextEncoder().encode("\n" + JSON.stringify(tasks.slice(from, from + TASKS_PER_LINE)));
}

/**
 * Parses bytes written by encodeSnapshot (or a one-line snapshot) back into snapshot data.
 * @throws {SyntaxError | RangeError} for bytes that are not such a snapshot.
 */
export function decodeSnapshot(data: Uint8Array): StateSnapshot {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  const nextLine = (): unknown => {
    if (start > data.length) throw new RangeError("Snapshot ends before its last line");
    let end = data.indexOf(NEWLINE, start);
    if (end < 0) end = data.length;
    const line = JSON.parse(decoder.decode(data.subarray(start, end)));
    start = end + 1;
    return line;
  };
  const header = nextLine() as StateSnapshot & { taskLines?: number };
  if (header === null || typeof header !== "object" || !Array.isArray(header.tasks)) {
    throw new RangeError("Snapshot header is not an object with a task list");
  }
  const { taskLines, ...snapshot } = header;
  if (taskLines !== undefined) {
    if (!Number.isSafeInteger(taskLines) || taskLines < 0) {
      throw new RangeError(`Snapshot header has a bad taskLines: ${taskLines}`);
    }
    for (let i = 0; i < taskLines; i++) {
      const tasks = nextLine();
      if (!Array.isArray(tasks)) throw new RangeError(`Snapshot line ${i + 2} is not a task list`);
      for (const task of tasks) snapshot.tasks.push(task as TaskRecord);
    }
  }
  if (start < data.length) throw new RangeError("Snapshot has bytes after its last line");
  return snapshot;
}

/**
 * Whether bytes are a snapshot this build can restore into a consistent state (used before
 * installing a snapshot received from a leader, so a corrupt one cannot take a node down).
 */
export function isRestorableSnapshot(data: Uint8Array): boolean {
  return restorableSnapshotPosition(data) !== null;
}

/**
 * The entry (index and term) that restorable snapshot bytes cover, or null for bytes that are not
 * such a snapshot (RaftOptions.snapshotPosition: Raft installs a snapshot from a leader only when
 * this matches the index and term its header names).
 */
export function restorableSnapshotPosition(
  data: Uint8Array,
): { index: number; term: number } | null {
  try {
    const value = decodeSnapshot(data);
    if (value.format !== SNAPSHOT_FORMAT) return null;
    const sm = restoreSnapshot(value);
    if (findInvariantViolations(sm).length > 0) return null;
    return { index: sm.appliedIndex, term: sm.appliedTerm };
  } catch {
    return null; // not JSON, or not the shape restoreSnapshot expects: refuse it
  }
}
