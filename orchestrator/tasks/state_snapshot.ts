/**
 * Snapshots of the task state machine: as plain JSON-able data, and as bytes. Indexes that
 * can be derived (idempotency keys, each owner's task list) are rebuilt on
 * load rather than stored, so a snapshot holds each fact once.
 * @module
 */
import { assert } from "../../shared/assert.ts";
import { concatBytes } from "../../shared/protocol/frame.ts";
import { ByteReader, decodeUtf8, lengthPrefixed } from "./_byte_columns.ts";
import { decodeTaskBatch, encodeTaskBatch, TASKS_PER_BATCH } from "./_snapshot_tasks.ts";
import {
  DEFAULT_QUEUE,
  isFinalState,
  kindOf,
  type TaskEvent,
  type TaskState,
} from "../../shared/protocol/messages.ts";
import { packHistory } from "./task_history.ts";
import { NO_TASKS } from "./dependencies.ts";
import type {
  ScheduleRecord,
  SessionRecord,
  Stats,
  TaskRecord,
  UserRecord,
  WorkerRecord,
} from "./records.ts";
import { scheduleKey } from "./schedule_commands.ts";
import { FinishedOrder } from "./finished_order.ts";
import { type QueueData, TaskQueue } from "./task_queue.ts";
import { TaskStateMachine } from "./task_state_machine.ts";
import { findInvariantViolations } from "./invariants.ts";

/**
 * Bumped when the snapshot layout changes incompatibly. 2: binary task batches and packed
 * histories; snapshots of format 1 (JSON, histories as event lists) are still read.
 */
export const SNAPSHOT_FORMAT = 2;
const LEGACY_JSON_FORMAT = 1;

export interface StateSnapshot {
  format: typeof SNAPSHOT_FORMAT | typeof LEGACY_JSON_FORMAT;
  appliedIndex: number;
  appliedTerm: number;
  nextTaskSeq: number;
  maxLamport: number;
  rrCursor: string | null;
  counts: Record<TaskState, number>;
  stats: Stats;
  loginsSinceSweep: number;
  tasks: TaskRecord[];
  queue: QueueData;
  workers: Array<Omit<WorkerRecord, "running"> & { running: string[] }>;
  sessions: Array<[string, SessionRecord]>;
  users: UserRecord[];
  /** Absent in snapshots taken before accounts were configured once per cluster. */
  configuredAccounts?: Array<[string, string[]]>;
  /** Absent in snapshots taken before schedules existed. */
  schedules?: ScheduleRecord[];
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
    // Absent when there are none: a state without schedules snapshots as it did before them.
    ...(sm.schedules.size === 0 ? {} : { schedules: [...sm.schedules.values()] }),
  };
}

/**
 * Rebuilds a state machine from a snapshot.
 * @throws {RangeError} for a snapshot of another format.
 */
export function restoreSnapshot(snapshot: StateSnapshot): TaskStateMachine {
  if (snapshot.format !== SNAPSHOT_FORMAT && snapshot.format !== LEGACY_JSON_FORMAT) {
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
    sm.countsByKind.add(kindOf(task.spec), task.state);
  }
  sm.finishedOrder = FinishedOrder.fromTasks(snapshot.tasks);
  sm.queue = TaskQueue.fromJSON(snapshot.queue, (id) => sm.tasks.get(id)?.submittedAtMs ?? 0);
  sm.dependencies.rebuild(sm.tasks.values());
  for (const task of sm.tasks.values()) {
    // Never assigned yet (an assignment takes it out for good): its deadline still applies.
    if (
      task.state === "queued" && task.queueDeadlineMs > 0 && task.attempt === 1 && !task.started
    ) {
      sm.queueDeadlines.add(task.id, task.queueDeadlineMs);
    }
  }
  for (const worker of snapshot.workers) {
    sm.workers.set(worker.id, {
      ...worker,
      execAllow: worker.execAllow ?? null,
      // Snapshots taken before prefetch existed hold none.
      prefetch: worker.prefetch ?? 0,
      // ... nor handler kinds.
      kinds: worker.kinds ?? [],
      queues: worker.queues ?? [DEFAULT_QUEUE],
      running: new Set(worker.running),
    });
  }
  sm.sessions = new Map(snapshot.sessions);
  sm.recountSessions();
  sm.users = new Map(snapshot.users.map((u) => [u.name, u]));
  sm.configuredAccounts = new Map(snapshot.configuredAccounts ?? []);
  for (const schedule of snapshot.schedules ?? []) {
    sm.schedules.set(scheduleKey(schedule.owner, schedule.name), schedule);
  }
  assert(
    sm.schedules.size === (snapshot.schedules?.length ?? 0),
    "snapshot holds a schedule twice",
  );
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
  return {
    ...rest,
    // Format 1 predates retries and delays.
    retry: rest.retry ?? null,
    retried: rest.retried ?? 0,
    notBeforeMs: rest.notBeforeMs ?? 0,
    priority: rest.priority ?? 0,
    queue: rest.queue ?? DEFAULT_QUEUE,
    after: rest.after ?? NO_TASKS,
    waitingFor: rest.waitingFor ?? NO_TASKS,
    queueDeadlineMs: rest.queueDeadlineMs ?? 0,
    packedHistory: packHistory(history, stored.submittedAtMs),
  };
}

/** Task fields added after format 1. */
type LaterFields =
  | "retry"
  | "retried"
  | "notBeforeMs"
  | "priority"
  | "queue"
  | "after"
  | "waitingFor"
  | "queueDeadlineMs";

/** A task as snapshots of format 1 held it. */
type LegacyTaskRecord =
  & Omit<TaskRecord, "packedHistory" | LaterFields>
  & Partial<Pick<TaskRecord, LaterFields>>
  & { history: TaskEvent[] };

/** First bytes of a binary snapshot (format 2); a snapshot of format 1 is JSON and starts with `{`. */
const BINARY_MAGIC = new Uint8Array([0x89, 0x4d, 0x53, 0x32]); // "\x89MS2"
const OPEN_BRACE = 0x7b;
const NEWLINE = 0x0a;

/** What the header of a binary snapshot adds to the state: how many tasks and batches follow. */
interface BinaryHeader extends StateSnapshot {
  taskCount: number;
  batches: number;
}

/**
 * The snapshot as bytes (format 2): BINARY_MAGIC, then length-prefixed blocks: a JSON header with
 * everything but the tasks (and how many tasks and batches follow), then the tasks in batches of
 * TASKS_PER_BATCH (_snapshot_tasks.ts: a string table and varint columns, no field names).
 *
 * The tasks are nearly all of a large state. As JSON they cost about 770 bytes each and parsing
 * them was most of a restart; as batches they cost a fifth of that and load several times faster.
 * No part is one huge string (a JavaScript string holds at most 2^29 characters).
 */
export function encodeSnapshot(sm: TaskStateMachine): Uint8Array {
  return concatBytes([...snapshotParts(captureForEncoding(sm))]);
}

/**
 * The bytes of encodeSnapshot(sm), in order, as the state was at the call (not at the first
 * `next()`: what can still change is copied before this returns), with `await pause()`
 * before each batch of tasks so that a large state does not block its process for seconds (a
 * leader that stops answering for longer than an election timeout loses its term). The state
 * may change during the pauses: what can still change is copied at the call, and a task in a
 * final state never changes again (no command applies to it), so it is encoded as it is.
 * @example Writing a snapshot to a file without holding it in memory (the shell's pause lets
 * the event loop run; see orchestrator/shell/snapshot_taker.ts)
 * ```ts
 * for await (const part of encodeSnapshotParts(sm, yieldToEventLoop)) await file.write(part);
 * ```
 */
export function encodeSnapshotParts(
  sm: TaskStateMachine,
  pause: () => Promise<void>,
): AsyncGenerator<Uint8Array> {
  // Captured here, not in the generator's body, which runs only when the first part is asked for.
  return withPauses(snapshotParts(captureForEncoding(sm, true)), pause);
}

async function* withPauses(
  parts: Generator<Uint8Array>,
  pause: () => Promise<void>,
): AsyncGenerator<Uint8Array> {
  let first = true;
  for (const part of parts) {
    if (!first) await pause();
    first = false;
    yield part;
  }
}

/** Like encodeSnapshot, in steps (encodeSnapshotParts), the parts joined. */
export async function encodeSnapshotInSteps(
  sm: TaskStateMachine,
  pause: () => Promise<void>,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of encodeSnapshotParts(sm, pause)) parts.push(part);
  return concatBytes(parts);
}

/** The magic and header as one part, then one part per batch of tasks. */
function* snapshotParts(
  capture: { header: StateSnapshot; tasks: TaskRecord[] },
): Generator<Uint8Array> {
  const { header, tasks } = capture;
  const batches = Math.ceil(tasks.length / TASKS_PER_BATCH);
  const json = JSON.stringify({ ...header, taskCount: tasks.length, batches });
  yield concatBytes([BINARY_MAGIC, lengthPrefixed(new TextEncoder().encode(json))]);
  for (let from = 0; from < tasks.length; from += TASKS_PER_BATCH) {
    const count = Math.min(TASKS_PER_BATCH, tasks.length - from);
    yield lengthPrefixed(encodeTaskBatch(tasks, from, count));
  }
}

/** Everything but the tasks, taken now (copies), and the tasks (copies of those that may still change). */
function captureForEncoding(
  sm: TaskStateMachine,
  copyLive = false,
): { header: StateSnapshot; tasks: TaskRecord[] } {
  const { tasks, ...rest } = takeSnapshot(sm);
  // Serialized now: the header's parts are live objects of the state.
  const header = JSON.parse(JSON.stringify({ ...rest, tasks: [] })) as StateSnapshot;
  if (!copyLive) return { header, tasks };
  return {
    header,
    // A shallow copy is a whole one: a task's nested values (spec, result, retry policy, lists of
    // ids) are replaced when they change, never changed in place.
    tasks: tasks.map((task) => isFinalState(task.state) ? task : { ...task }),
  };
}

/**
 * Parses bytes written by encodeSnapshot (format 2), or by builds before it (format 1: JSON
 * lines, or one JSON document), back into snapshot data.
 * @throws {SyntaxError | RangeError} for bytes that are not such a snapshot.
 */
export function decodeSnapshot(data: Uint8Array): StateSnapshot {
  if (data[0] === OPEN_BRACE) return decodeJsonSnapshot(data);
  if (!BINARY_MAGIC.every((byte, i) => data[i] === byte)) {
    throw new RangeError("Snapshot starts with neither the binary snapshot mark nor {");
  }
  const blocks = new ByteReader(data, BINARY_MAGIC.length);
  const json = decodeUtf8(blocks.block("header"), "header");
  const header = JSON.parse(json) as BinaryHeader;
  if (header === null || typeof header !== "object" || !Array.isArray(header.tasks)) {
    throw new RangeError("Snapshot header is not an object with a task list");
  }
  const { taskCount, batches, ...snapshot } = header;
  if (!Number.isSafeInteger(batches) || batches < 0 || batches > data.length) {
    throw new RangeError(`Snapshot header has a bad batch count: ${batches}`);
  }
  for (let i = 0; i < batches; i++) decodeTaskBatch(blocks.block("task batch"), snapshot.tasks);
  if (blocks.remaining !== 0) throw new RangeError("Snapshot has bytes after its last batch");
  if (snapshot.tasks.length !== taskCount) {
    throw new RangeError(`Snapshot holds ${snapshot.tasks.length} tasks, its header ${taskCount}`);
  }
  return snapshot;
}

/** Format 1: a first JSON line with everything but the tasks, then lines of JSON task arrays. */
function decodeJsonSnapshot(data: Uint8Array): StateSnapshot {
  let start = 0;
  const nextLine = (): unknown => {
    if (start > data.length) throw new RangeError("Snapshot ends before its last line");
    let end = data.indexOf(NEWLINE, start);
    if (end < 0) end = data.length;
    const line = JSON.parse(decodeUtf8(data.subarray(start, end), "line"));
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
    const sm = restoreSnapshot(value);
    if (findInvariantViolations(sm).length > 0) return null;
    return { index: sm.appliedIndex, term: sm.appliedTerm };
  } catch {
    return null; // not JSON, or not the shape restoreSnapshot expects: refuse it
  }
}
